//! `JsonBody<T>`: a JSON request body documented with `T`'s schema but parsed so that every
//! failure is a problem: 415 for a body that is not JSON, 413 over 1 MiB, 400 for malformed
//! JSON, and 400 with per-field `errors` for a missing field or a field of the wrong type.

use poem::{Request, RequestBody};
use poem_openapi::registry::{MetaMediaType, MetaRequest, MetaSchema, MetaSchemaRef, Registry};
use poem_openapi::types::{ParseFromJSON, Type};
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions};
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use regex::Regex;
use serde_json::Value;

use crate::error::ApiError;
use dispatch_shared::domain::{at_most, ValidationErrors};

pub const MAX_JSON_BODY: usize = 1024 * 1024;

pub struct JsonBody<T>(pub T);

fn is_json(content_type: &str) -> bool {
    matches!(content_type.parse::<mime::Mime>(), Ok(m) if m.type_() == "application"
        && (m.subtype() == "json" || m.suffix().is_some_and(|s| s == "json")))
}

fn lookup<'r>(registry: &'r Registry, schema: &'r MetaSchemaRef) -> Option<&'r MetaSchema> {
    match schema {
        MetaSchemaRef::Inline(inline) => Some(inline),
        MetaSchemaRef::Reference(name) => registry.schemas.get(name),
    }
}

fn type_matches(expected: &str, value: &Value) -> bool {
    match expected {
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        _ => true,
    }
}

fn describe(expected: &str) -> &str {
    match expected {
        "string" => "a string",
        "integer" => "an integer",
        "number" => "a number",
        "boolean" => "a boolean",
        "array" => "a list",
        "object" => "an object",
        other => other,
    }
}

/// Checks the top-level fields of `value` against `T`'s schema.
fn field_errors<T: Type>(value: &Value) -> ValidationErrors {
    let mut errors = ValidationErrors::new();
    let mut registry = Registry::new();
    T::register(&mut registry);
    let schema_ref = T::schema_ref();
    let Some(schema) = lookup(&registry, &schema_ref) else {
        return errors;
    };
    let Some(object) = value.as_object() else {
        errors.add("non_field_errors", "Expected a JSON object.");
        return errors;
    };
    for required in &schema.required {
        if object.get(*required).is_none_or(Value::is_null) {
            errors.add(required, "This field is required.");
        }
    }
    for (name, property) in &schema.properties {
        let Some(field_value) = object.get(*name) else {
            continue;
        };
        if field_value.is_null() {
            continue;
        }
        let problem = resolved(&registry, property).into_iter().find_map(|field_schema| {
            let expected = field_schema.ty;
            if !type_matches(expected, field_value) {
                Some(format!("Expected {}.", describe(expected)))
            } else {
                constraint_violation(field_schema, field_value)
            }
        });
        if let Some(message) = problem {
            errors.add(name, message);
        }
    }
    errors
}

/// A property's schema and, when it wraps others in `allOf` (a documented reference), those.
fn resolved<'r>(registry: &'r Registry, property: &'r MetaSchemaRef) -> Vec<&'r MetaSchema> {
    let Some(schema) = lookup(registry, property) else {
        return Vec::new();
    };
    let mut all = vec![schema];
    all.extend(schema.all_of.iter().filter_map(|r| lookup(registry, r)));
    all
}

/// Whether `text` matches the schema's `pattern` (unanchored, as in JSON Schema). Patterns
/// are few and fixed, so each is compiled once.
fn matches_pattern(pattern: &str, text: &str) -> bool {
    static COMPILED: OnceLock<Mutex<HashMap<String, Option<Regex>>>> = OnceLock::new();
    let mut compiled = COMPILED
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let regex = compiled.entry(pattern.to_owned()).or_insert_with(|| Regex::new(pattern).ok());
    regex.as_ref().is_none_or(|r| r.is_match(text))
}

/// The first constraint of the field's schema that `value` breaks, in words. The schema is
/// the contract clients read, so what it promises is checked here, per field.
fn constraint_violation(schema: &MetaSchema, value: &Value) -> Option<String> {
    if !schema.enum_items.is_empty() && !schema.enum_items.contains(value) {
        return Some(format!("{value} is not a valid choice."));
    }
    if let Some(text) = value.as_str() {
        if let Some(Err(too_long)) = schema.max_length.map(|max| at_most(text, max)) {
            return Some(too_long);
        }
        let chars = text.chars().count();
        if let Some(min) = schema.min_length.filter(|min| chars < *min) {
            return Some(format!("Ensure this field has at least {min} characters."));
        }
        if let Some(pattern) = schema.pattern.as_deref() {
            if !matches_pattern(pattern, text) {
                return Some(if chars == 0 || text.trim().is_empty() {
                    "This field may not be blank.".to_owned()
                } else {
                    format!("Must match the pattern {pattern}.")
                });
            }
        }
        let well_formed = match schema.format {
            Some("uuid") => uuid::Uuid::parse_str(text).is_ok(),
            Some("date") => crate::schemas::Date::parse(text).is_ok(),
            Some("email") => dispatch_shared::domain::Email::parse(text).is_ok(),
            Some("date-time") => chrono::DateTime::parse_from_rfc3339(text).is_ok(),
            _ => true,
        };
        if !well_formed {
            return Some(match schema.format {
                Some("uuid") => "Must be a valid UUID.".to_owned(),
                Some("date") => "Date has wrong format. Use YYYY-MM-DD.".to_owned(),
                Some("email") => "Enter a valid email address.".to_owned(),
                _ => "Datetime has wrong format. Use RFC 3339.".to_owned(),
            });
        }
    }
    if let Some(number) = value.as_f64() {
        if let Some(max) = schema.maximum.filter(|max| number > *max) {
            return Some(format!("Ensure this value is less than or equal to {max}."));
        }
        if let Some(min) = schema.minimum.filter(|min| number < *min) {
            return Some(format!("Ensure this value is greater than or equal to {min}."));
        }
    }
    None
}

impl<T: ParseFromJSON> JsonBody<T> {
    async fn parse(request: &Request, body: &mut RequestBody) -> Result<Self, ApiError> {
        match request.content_type() {
            Some(ct) if is_json(ct) => {}
            Some(ct) => {
                return Err(ApiError::UnsupportedMediaType(format!(
                    "Expected application/json, got {ct}."
                )))
            }
            None => {
                return Err(ApiError::UnsupportedMediaType(
                    "Expected a body with Content-Type: application/json.".into(),
                ))
            }
        }
        let bytes =
            body.take()
                .map_err(|_| ApiError::BadRequest("The request body was already read.".into()))?
                .into_bytes_limit(MAX_JSON_BODY)
                .await
                .map_err(|e| match e {
                    poem::error::ReadBodyError::PayloadTooLarge => ApiError::PayloadTooLarge(
                        format!("JSON bodies are limited to {} bytes.", MAX_JSON_BODY),
                    ),
                    other => ApiError::BadRequest(other.to_string()),
                })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(ApiError::MalformedJson("The request body is empty.".into()));
        }
        let value: Value = serde_json::from_slice(&bytes)
            .map_err(|e| ApiError::MalformedJson(format!("JSON parse error: {e}.")))?;
        let errors = field_errors::<T>(&value);
        if !errors.is_empty() {
            return Err(ApiError::Validation(errors));
        }
        T::parse_from_json(Some(value))
            .map(JsonBody)
            .map_err(|e| ApiError::field("non_field_errors", e.into_message()))
    }
}

impl<'a, T: ParseFromJSON> ApiExtractor<'a> for JsonBody<T> {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::RequestObject];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        T::register(registry);
    }

    fn request_meta() -> Option<MetaRequest> {
        Some(MetaRequest {
            description: None,
            content: vec![MetaMediaType {
                content_type: "application/json",
                schema: T::schema_ref(),
            }],
            required: true,
        })
    }

    async fn from_request(
        request: &'a Request,
        body: &mut RequestBody,
        _param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        Self::parse(request, body).await.map_err(Into::into)
    }
}
