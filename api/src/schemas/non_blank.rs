//! Text that must hold a non-blank character, at most `MAX` characters (task titles, names
//! in the catalogue). The schema publishes both rules and the body check (`extract::json`)
//! enforces them with its once-compiled pattern; the use case trims and has the last word.
//! poem-openapi's own `pattern` validator would compile its regex at every request.

use poem_openapi::registry::MetaSchema;
use poem_openapi::types::{ParseError, ParseFromJSON, ParseResult, ToJSON};
use serde_json::Value;

/// Any character but the blanks that a title may not consist of.
const NON_BLANK: &str = r"[^ \t\n\r\x0b\x0c]";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NonBlank<const MAX: usize>(pub String);

impl<const MAX: usize> std::ops::Deref for NonBlank<MAX> {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl<const MAX: usize> From<&str> for NonBlank<MAX> {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

crate::scalar_type!([const MAX: usize] NonBlank<MAX>, format!("string_non_blank_{MAX}"), || {
    let mut schema = MetaSchema::new("string");
    schema.max_length = Some(MAX);
    schema.pattern = Some(NON_BLANK.to_owned());
    schema
});

impl<const MAX: usize> ParseFromJSON for NonBlank<MAX> {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        match value {
            Some(Value::String(raw)) => Ok(Self(raw)),
            other => Err(ParseError::expected_type(other.unwrap_or_default())),
        }
    }
}

impl<const MAX: usize> ToJSON for NonBlank<MAX> {
    fn to_json(&self) -> Option<Value> {
        Some(Value::String(self.0.clone()))
    }
}
