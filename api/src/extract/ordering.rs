//! `ordering` as a query parameter whose OpenAPI schema carries the exact pattern of the
//! fields a list accepts, so clients (and schema-driven fuzzers) know what is valid.

use std::borrow::Cow;

use dispatch_shared::domain::{Ordering, SortField};
use poem_openapi::registry::{MetaSchema, MetaSchemaRef};
use poem_openapi::types::{ParseError, ParseFromParameter, ParseResult, Type};

pub struct OrderingParam<F: SortField>(pub Ordering<F>);

impl<F: SortField> Type for OrderingParam<F> {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        format!("string({})", Ordering::<F>::pattern()).into()
    }

    fn schema_ref() -> MetaSchemaRef {
        let mut schema = MetaSchema::new("string");
        schema.pattern = Some(Ordering::<F>::pattern());
        schema.example = F::FIELDS
            .first()
            .map(|(name, _)| serde_json::Value::String(format!("-{name}")));
        MetaSchemaRef::Inline(Box::new(schema))
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        Some(self)
    }

    fn raw_element_iter<'a>(
        &'a self,
    ) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        Box::new(self.as_raw_value().into_iter())
    }
}

impl<F: SortField> ParseFromParameter for OrderingParam<F> {
    fn parse_from_parameter(value: &str) -> ParseResult<Self> {
        Ordering::parse(value)
            .map(OrderingParam)
            .map_err(ParseError::custom)
    }
}

/// The client's ordering, or the list's default.
pub fn ordering_or_default<F: SortField>(param: Option<OrderingParam<F>>) -> Ordering<F> {
    param.map(|p| p.0).unwrap_or_default()
}
