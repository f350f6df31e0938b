//! A first or last name in a request body: at most 150 characters, no control characters,
//! as its schema says; `PersonName::parse` has the last word.

use poem_openapi::registry::MetaSchema;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameText(pub String);

crate::text_scalar!(NameText, "string_name", || {
    let mut schema = MetaSchema::new("string");
    schema.max_length = Some(150);
    schema.pattern = Some(r"^[^\x00-\x1f\x7f-\x9f]*$".to_owned());
    schema
});
