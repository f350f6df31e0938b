//! A first or last name in a request body: at most 150 characters, no control characters,
//! as its schema says; `PersonName::parse` has the last word.

use poem_openapi::registry::MetaSchema;
use poem_openapi::types::{ParseError, ParseFromJSON, ParseResult, ToJSON};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameText(pub String);

crate::scalar_type!(NameText, "string_name", || {
    let mut schema = MetaSchema::new("string");
    schema.max_length = Some(150);
    schema.pattern = Some(r"^[^\x00-\x1f\x7f-\x9f]*$".to_owned());
    schema
});

impl std::ops::Deref for NameText {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl From<&str> for NameText {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl ParseFromJSON for NameText {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        match value {
            Some(Value::String(raw)) => Ok(NameText(raw)),
            other => Err(ParseError::expected_type(other.unwrap_or_default())),
        }
    }
}

impl ToJSON for NameText {
    fn to_json(&self) -> Option<Value> {
        Some(Value::String(self.0.clone()))
    }
}
