//! `ImageUpload`: the `image` field of a multipart body, streamed to a temporary file under
//! the media root and refused as soon as it passes 10 MiB (413), so nothing buffers a whole
//! upload in memory. Its format comes from its first bytes, never its name (415 unless JPEG,
//! PNG or WebP).

use std::sync::Arc;

use dispatch_core::catalogue::product_images::ImageFile;
use dispatch_shared::media::{incoming_dir, UploadFormat, MAX_UPLOAD_BYTES};
use poem::web::Multipart;
use poem::{FromRequest, Request, RequestBody};
use poem_openapi::registry::{MetaMediaType, MetaRequest, MetaSchema, MetaSchemaRef, Registry};
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::error::ApiError;
use crate::state::AppState;

pub const FIELD: &str = "image";
/// Room for the multipart framing around the file.
const FRAMING_ALLOWANCE: u64 = 64 * 1024;
const SNIFF_BYTES: usize = 64;

pub struct ImageUpload {
    /// Removed when dropped unless it has been moved into place.
    pub file: tempfile::TempPath,
    pub format: UploadFormat,
    pub size: u64,
}

fn too_large() -> ApiError {
    ApiError::PayloadTooLarge(format!(
        "Images are limited to {} MiB.",
        MAX_UPLOAD_BYTES / (1024 * 1024)
    ))
}

fn storage_error(e: impl std::fmt::Display) -> ApiError {
    ApiError::internal(anyhow::anyhow!("storing an upload: {e}"))
}

impl ImageUpload {
    /// The file as the catalogue takes it.
    pub fn into_file(self) -> ImageFile {
        ImageFile { file: self.file, format: self.format }
    }

    async fn parse(request: &Request, body: &mut RequestBody) -> Result<Self, ApiError> {
        let is_multipart = request
            .content_type()
            .and_then(|ct| ct.parse::<mime::Mime>().ok())
            .is_some_and(|m| m.type_() == "multipart" && m.subtype() == "form-data");
        if !is_multipart {
            return Err(ApiError::UnsupportedMediaType(
                "Expected a multipart/form-data body with the file in the `image` field.".into(),
            ));
        }
        let declared = request
            .headers()
            .get(poem::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|len| len > MAX_UPLOAD_BYTES + FRAMING_ALLOWANCE) {
            return Err(too_large());
        }
        let state = request
            .data::<Arc<AppState>>()
            .ok_or_else(|| ApiError::internal(anyhow::anyhow!("application state missing")))?;
        let dir = incoming_dir(&state.settings.media_root);

        let mut multipart = <Multipart as FromRequest>::from_request(request, body)
            .await
            .map_err(|e| ApiError::BadRequest(format!("Not a valid multipart body: {e}")))?;
        while let Some(field) = multipart
            .next_field()
            .await
            .map_err(|e| ApiError::BadRequest(format!("Not a valid multipart body: {e}")))?
        {
            if field.name() != Some(FIELD) {
                continue;
            }
            tokio::fs::create_dir_all(&dir).await.map_err(storage_error)?;
            let temp = {
                let dir = dir.clone();
                tokio::task::spawn_blocking(move || {
                    tempfile::Builder::new().prefix(".upload-").tempfile_in(dir)
                })
                .await
                .map_err(storage_error)?
                .map_err(storage_error)?
            };
            let (std_file, path) = temp.into_parts();
            let mut file = tokio::fs::File::from_std(std_file);
            let mut reader = field.into_async_read();
            let mut buffer = vec![0u8; 64 * 1024];
            let mut head = Vec::with_capacity(SNIFF_BYTES);
            let mut size = 0u64;
            loop {
                let read = reader
                    .read(&mut buffer)
                    .await
                    .map_err(|e| ApiError::BadRequest(format!("The upload broke off: {e}")))?;
                if read == 0 {
                    break;
                }
                size += read as u64;
                if size > MAX_UPLOAD_BYTES {
                    return Err(too_large());
                }
                if head.len() < SNIFF_BYTES {
                    let take = (SNIFF_BYTES - head.len()).min(read);
                    head.extend_from_slice(&buffer[..take]);
                }
                file.write_all(&buffer[..read]).await.map_err(storage_error)?;
            }
            file.flush().await.map_err(storage_error)?;
            if size == 0 {
                return Err(ApiError::field(FIELD, "The submitted file is empty."));
            }
            let format = UploadFormat::sniff(&head).ok_or_else(|| {
                ApiError::UnsupportedMediaType(
                    "The file is not a JPEG, PNG or WebP image (judged by its content).".into(),
                )
            })?;
            return Ok(Self { file: path, format, size });
        }
        Err(ApiError::field(FIELD, "No file was submitted."))
    }
}

impl<'a> ApiExtractor<'a> for ImageUpload {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::RequestObject];
    type ParamType = ();
    type ParamRawType = ();

    fn register(_registry: &mut Registry) {}

    fn request_meta() -> Option<MetaRequest> {
        let mut file = MetaSchema::new_with_format("string", "binary");
        file.description = Some("A JPEG, PNG or WebP image of at most 10 MiB and 40 megapixels.");
        let mut form = MetaSchema::new("object");
        form.required = vec![FIELD];
        form.properties = vec![(FIELD, MetaSchemaRef::Inline(Box::new(file)))];
        Some(MetaRequest {
            description: None,
            content: vec![MetaMediaType {
                content_type: "multipart/form-data",
                schema: MetaSchemaRef::Inline(Box::new(form)),
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
