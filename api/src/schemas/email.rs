//! An email address in a request body, documented as `format: email` (at most 254
//! characters) so clients know what is accepted; `Email::parse` has the last word.

use poem_openapi::registry::MetaSchema;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailText(pub String);

crate::text_scalar!(EmailText, "string_email", || {
    let mut schema = MetaSchema::new_with_format("string", "email");
    schema.max_length = Some(254);
    schema
});
