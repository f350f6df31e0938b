//! The OpenAPI document as served and committed: poem-openapi's output, with the one shape
//! that common client generators cannot read rewritten into one they can.
//!
//! A documented optional reference comes out as `allOf: [{$ref}, {description, nullable}]`.
//! The second member has no type, so openapi-python-client drops the whole schema ("Invalid
//! property in union") and openapi-typescript types the field `X & unknown`. The description
//! and `nullable` already stand on the property itself, so the member adds nothing: it is
//! removed, leaving `allOf: [{$ref}]`, which both read as "X" (or "X or null").

use std::sync::OnceLock;

use poem::http::header;
use poem::{handler, IntoResponse, Response};
use serde_json::Value;

/// `spec` with every annotation-only `allOf` member removed.
pub fn portable(spec: &str) -> String {
    let Ok(mut document) = serde_json::from_str::<Value>(spec) else {
        return spec.to_owned();
    };
    drop_annotation_members(&mut document);
    serde_json::to_string_pretty(&document).unwrap_or_else(|_| spec.to_owned())
}

fn drop_annotation_members(value: &mut Value) {
    match value {
        Value::Object(object) => {
            if let Some(Value::Array(members)) = object.get_mut("allOf") {
                let references = members.iter().any(|m| m.get("$ref").is_some());
                if references {
                    members.retain(|m| !is_annotation_only(m));
                }
            }
            object.values_mut().for_each(drop_annotation_members);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_annotation_members),
        _ => {}
    }
}

/// A schema that constrains nothing: only a description, a title or `nullable`.
fn is_annotation_only(member: &Value) -> bool {
    member.as_object().is_some_and(|m| {
        m.keys().all(|k| matches!(k.as_str(), "description" | "title" | "nullable"))
    })
}

/// `GET /api-docs/openapi.json`: the document, built once per process.
#[handler]
pub fn served() -> Response {
    static DOCUMENT: OnceLock<String> = OnceLock::new();
    let document = DOCUMENT.get_or_init(crate::app::spec_json);
    document
        .clone()
        .with_header(header::CONTENT_TYPE, "application/json; charset=utf-8")
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_annotated_reference_keeps_its_reference_and_its_annotations() {
        let spec = r##"{"properties": {"status": {"description": "d", "nullable": true,
            "allOf": [{"$ref": "#/components/schemas/S"}, {"description": "d", "nullable": true}]}}}"##;
        let fixed: Value = serde_json::from_str(&portable(spec)).unwrap();
        let status = &fixed["properties"]["status"];
        assert_eq!(status["allOf"], serde_json::json!([{"$ref": "#/components/schemas/S"}]));
        assert_eq!(
            (&status["description"], &status["nullable"]),
            (&Value::from("d"), &Value::from(true))
        );
    }

    #[test]
    fn numbers_survive_exactly() {
        // The largest page number a JSON client can send exactly.
        let spec = r#"{"maximum": 9007199254740991.0}"#;
        assert!(portable(spec).contains("9007199254740991.0"));
    }

    #[test]
    fn a_composition_that_constrains_is_left_alone() {
        let spec = r##"{"allOf": [{"$ref": "#/components/schemas/S"}, {"type": "object", "required": ["x"]}]}"##;
        let fixed: Value = serde_json::from_str(&portable(spec)).unwrap();
        assert_eq!(fixed["allOf"].as_array().map(Vec::len), Some(2));
    }
}
