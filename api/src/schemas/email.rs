//! An email address in a request body, documented as `format: email` (at most 254
//! characters) so clients know what is accepted; `Email::parse` has the last word.

use poem_openapi::registry::MetaSchema;
use poem_openapi::types::{ParseError, ParseFromJSON, ParseResult, ToJSON};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailText(pub String);

crate::scalar_type!(EmailText, "string_email", || {
    let mut schema = MetaSchema::new_with_format("string", "email");
    schema.max_length = Some(254);
    schema
});

impl ParseFromJSON for EmailText {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        match value {
            Some(Value::String(raw)) => Ok(EmailText(raw)),
            other => Err(ParseError::expected_type(other.unwrap_or_default())),
        }
    }
}

impl ToJSON for EmailText {
    fn to_json(&self) -> Option<Value> {
        Some(Value::String(self.0.clone()))
    }
}
