//! A username and a new password in a request body, with the rules their schemas publish;
//! `Username::parse` and `Password::parse` have the last word. As scalars, their patterns
//! are checked by the body check's once-compiled regexes (`extract::json`): poem-openapi's
//! own `pattern` validator compiled its regex at every registration.

use poem_openapi::registry::MetaSchema;

fn bounded(min: usize, max: usize, pattern: &str) -> MetaSchema {
    let mut schema = MetaSchema::new("string");
    schema.min_length = Some(min);
    schema.max_length = Some(max);
    schema.pattern = Some(pattern.to_owned());
    schema
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsernameText(pub String);

crate::text_scalar!(UsernameText, "string_username", || bounded(3, 150, "^[A-Za-z0-9_]+$"));

/// A password being set: 8–128 characters, not all digits.
#[derive(Clone, PartialEq, Eq)]
pub struct NewPasswordText(pub String);

/// A password is never written to a log, even by `{:?}`.
impl std::fmt::Debug for NewPasswordText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPasswordText(..)")
    }
}

crate::text_scalar!(NewPasswordText, "string_new_password", || bounded(8, 128, "[^0-9]"));
