//! What a JSON body's schema asks of its top-level fields: required fields, each field's
//! type, and the constraints the schema promises clients (length, pattern, format, range,
//! choices). Read from the type's schema once and kept: building a schema registry
//! allocates every property's schema, and doing it for each request was a twentieth of
//! the API's CPU on a task create.

use std::any::TypeId;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock, PoisonError, RwLock};

use poem_openapi::registry::{MetaSchema, MetaSchemaRef, Registry};
use poem_openapi::types::Type;
use regex::Regex;
use serde_json::Value;

use dispatch_shared::domain::{at_most, ValidationErrors};

/// The checks a body of one type passes before it is parsed.
pub struct BodyRules {
    /// `None` when the type has no object schema to check against.
    object: Option<ObjectRules>,
}

struct ObjectRules {
    required: Vec<&'static str>,
    fields: Vec<FieldRules>,
}

struct FieldRules {
    name: &'static str,
    /// The property's schema and, when it wraps others in `allOf` (a documented
    /// reference), those: a value must pass each.
    schemas: Vec<Constraints>,
}

struct Constraints {
    schema: MetaSchema,
    /// The schema's `pattern`, compiled (unanchored, as in JSON Schema); `None` if it has
    /// none or it does not compile.
    pattern: Option<Regex>,
}

impl BodyRules {
    /// `T`'s rules, read from its schema the first time a body of `T` arrives.
    pub fn of<T: Type + 'static>() -> Arc<BodyRules> {
        static KEPT: OnceLock<RwLock<HashMap<TypeId, Arc<BodyRules>>>> = OnceLock::new();
        let kept = KEPT.get_or_init(Default::default);
        let key = TypeId::of::<T>();
        if let Some(rules) = kept.read().unwrap_or_else(PoisonError::into_inner).get(&key) {
            return rules.clone();
        }
        let rules = Arc::new(Self::read::<T>());
        kept.write().unwrap_or_else(PoisonError::into_inner).entry(key).or_insert(rules).clone()
    }

    fn read<T: Type>() -> BodyRules {
        let mut registry = Registry::new();
        T::register(&mut registry);
        let schema_ref = T::schema_ref();
        let Some(schema) = lookup(&registry, &schema_ref) else {
            return BodyRules { object: None };
        };
        let fields = schema
            .properties
            .iter()
            .map(|(name, property)| FieldRules {
                name,
                schemas: resolved(&registry, property)
                    .into_iter()
                    .map(|schema| Constraints {
                        pattern: schema.pattern.as_deref().and_then(|p| Regex::new(p).ok()),
                        schema: schema.clone(),
                    })
                    .collect(),
            })
            .collect();
        BodyRules { object: Some(ObjectRules { required: schema.required.clone(), fields }) }
    }

    /// What is wrong with `value`'s top-level fields, field by field.
    pub fn check(&self, value: &Value) -> ValidationErrors {
        let mut errors = ValidationErrors::new();
        let Some(rules) = &self.object else {
            return errors;
        };
        let Some(object) = value.as_object() else {
            errors.add("non_field_errors", "Expected a JSON object.");
            return errors;
        };
        for required in &rules.required {
            if object.get(*required).is_none_or(Value::is_null) {
                errors.add(required, "This field is required.");
            }
        }
        for field in &rules.fields {
            let Some(field_value) = object.get(field.name) else {
                continue;
            };
            if field_value.is_null() {
                continue;
            }
            let problem = field.schemas.iter().find_map(|constraints| {
                let expected = constraints.schema.ty;
                if !type_matches(expected, field_value) {
                    Some(format!("Expected {}.", describe(expected)))
                } else {
                    constraints.violation(field_value)
                }
            });
            if let Some(message) = problem {
                errors.add(field.name, message);
            }
        }
        errors
    }
}

fn lookup<'r>(registry: &'r Registry, schema: &'r MetaSchemaRef) -> Option<&'r MetaSchema> {
    match schema {
        MetaSchemaRef::Inline(inline) => Some(inline),
        MetaSchemaRef::Reference(name) => registry.schemas.get(name),
    }
}

fn resolved<'r>(registry: &'r Registry, property: &'r MetaSchemaRef) -> Vec<&'r MetaSchema> {
    let Some(schema) = lookup(registry, property) else {
        return Vec::new();
    };
    let mut all = vec![schema];
    all.extend(schema.all_of.iter().filter_map(|r| lookup(registry, r)));
    all
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

impl Constraints {
    /// The first constraint of the schema that `value` breaks, in words. The schema is the
    /// contract clients read, so what it promises is checked here, per field.
    fn violation(&self, value: &Value) -> Option<String> {
        let schema = &self.schema;
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
            if let (Some(pattern), Some(regex)) = (schema.pattern.as_deref(), &self.pattern) {
                if !regex.is_match(text) {
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
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::schemas::NewTask;

    fn messages(value: Value) -> Value {
        serde_json::to_value(BodyRules::of::<NewTask>().check(&value)).unwrap_or_default()
    }

    #[test]
    fn a_type_s_rules_are_read_once_and_kept() {
        assert!(Arc::ptr_eq(&BodyRules::of::<NewTask>(), &BodyRules::of::<NewTask>()));
    }

    #[test]
    fn each_field_is_held_to_its_schema() {
        assert_eq!(messages(json!({"title": "Write it"})), json!({}));
        assert_eq!(messages(json!([])), json!({"non_field_errors": ["Expected a JSON object."]}));
        assert_eq!(messages(json!({"title": null})), json!({"title": ["This field is required."]}));
        assert_eq!(messages(json!({"title": 7})), json!({"title": ["Expected a string."]}));
        assert_eq!(
            messages(json!({"title": "  "})),
            json!({"title": ["This field may not be blank."]})
        );
        assert_eq!(
            messages(json!({"title": "x", "description": "d".repeat(10_001)})),
            json!({"description": ["Ensure this field has no more than 10000 characters."]})
        );
        assert_eq!(
            messages(json!({"title": "x", "status_task": "LATER"})),
            json!({"status_task": ["\"LATER\" is not a valid choice."]})
        );
    }
}
