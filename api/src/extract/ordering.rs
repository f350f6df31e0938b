//! `ordering` as a query parameter whose OpenAPI schema carries the exact pattern of the
//! fields a list accepts, so clients (and schema-driven fuzzers) know what is valid.

use dispatch_shared::domain::{Ordering, SortField};
use poem_openapi::registry::MetaSchema;
use poem_openapi::types::{ParseError, ParseFromParameter, ParseResult};

pub struct OrderingParam<F: SortField>(pub Ordering<F>);

crate::scalar_type!([F: SortField] OrderingParam<F>, format!("string({})", Ordering::<F>::pattern()), || {
    let mut schema = MetaSchema::new("string");
    schema.pattern = Some(Ordering::<F>::pattern());
    schema.example = F::FIELDS
        .first()
        .map(|(name, _)| serde_json::Value::String(format!("-{name}")));
    schema
});

impl<F: SortField> ParseFromParameter for OrderingParam<F> {
    fn parse_from_parameter(value: &str) -> ParseResult<Self> {
        Ordering::parse(value).map(OrderingParam).map_err(ParseError::custom)
    }
}

/// The client's ordering, or the list's default.
pub fn ordering_or_default<F: SortField>(param: Option<OrderingParam<F>>) -> Ordering<F> {
    param.map(|p| p.0).unwrap_or_default()
}
