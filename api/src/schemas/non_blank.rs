//! Text that must hold a non-blank character, at most `MAX` characters (task titles, names
//! in the catalogue). The schema publishes both rules and the body check (`extract::json`)
//! enforces them with its once-compiled pattern; the use case trims and has the last word.
//! poem-openapi's own `pattern` validator would compile its regex at every request.

use poem_openapi::registry::MetaSchema;

/// Any character but the blanks that a title may not consist of.
const NON_BLANK: &str = r"[^ \t\n\r\x0b\x0c]";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NonBlank<const MAX: usize>(pub String);

crate::text_scalar!([const MAX: usize] NonBlank<MAX>, format!("string_non_blank_{MAX}"), || {
    let mut schema = MetaSchema::new("string");
    schema.max_length = Some(MAX);
    schema.pattern = Some(NON_BLANK.to_owned());
    schema
});
