//! `JsonBody<T>`: a JSON request body documented with `T`'s schema but parsed so that every
//! failure is a problem: 415 for a body that is not JSON, 413 over 1 MiB, 400 for malformed
//! JSON, and 400 with per-field `errors` for a missing field or a field of the wrong type.

use poem::{Request, RequestBody};
use poem_openapi::registry::{MetaMediaType, MetaRequest, Registry};
use poem_openapi::types::ParseFromJSON;
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions};
use serde_json::Value;

use super::body_rules::BodyRules;
use crate::error::ApiError;

pub const MAX_JSON_BODY: usize = 1024 * 1024;

pub struct JsonBody<T>(pub T);

fn is_json(content_type: &str) -> bool {
    matches!(content_type.parse::<mime::Mime>(), Ok(m) if m.type_() == "application"
        && (m.subtype() == "json" || m.suffix().is_some_and(|s| s == "json")))
}

impl<T: ParseFromJSON + 'static> JsonBody<T> {
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
        let errors = BodyRules::of::<T>().check(&value);
        if !errors.is_empty() {
            return Err(ApiError::Validation(errors));
        }
        T::parse_from_json(Some(value))
            .map(JsonBody)
            .map_err(|e| ApiError::field("non_field_errors", e.into_message()))
    }
}

impl<'a, T: ParseFromJSON + 'static> ApiExtractor<'a> for JsonBody<T> {
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
