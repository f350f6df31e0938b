//! A product image upload: checked from its header, moved into place under a name of its
//! own (so a replacement never mixes with the files shown), then resized by a job.

use dispatch_shared::jobs::resize_image::ResizeImagePayload;
use dispatch_shared::jobs::JobKind;
use dispatch_shared::media::{checked_dimensions, HeaderError, UploadFiles};
use dispatch_shared::repo::products;
use uuid::Uuid;

use crate::error::ApiError;
use crate::extract::image_upload::{ImageUpload, FIELD};
use crate::services::jobs;
use crate::state::AppState;

fn storage_error(e: impl std::fmt::Display) -> ApiError {
    ApiError::internal(anyhow::anyhow!("storing an upload: {e}"))
}

/// Stores the upload and enqueues its `resize_image` job, owned by `admin`.
pub async fn accept(
    state: &AppState,
    admin: Uuid,
    product_id: Uuid,
    upload: ImageUpload,
) -> Result<Uuid, ApiError> {
    {
        let mut conn = state.db.get().await?;
        products::find(&mut conn, product_id)
            .await?
            .ok_or(ApiError::NotFound)?;
    }
    let key = format!("{product_id}/{}", Uuid::new_v4().simple());
    let ext = upload.format.ext();
    let files = UploadFiles::new(&state.settings.media_root, &key, ext);
    let format = upload.format;
    let destination = files.original.clone();
    // Header check and the move into place: blocking file work, off the async threads.
    tokio::task::spawn_blocking(move || -> Result<(), ApiError> {
        checked_dimensions(&upload.file, format).map_err(|e| match e {
            HeaderError::TooManyPixels { .. } => ApiError::field(FIELD, format!("{e}.")),
            HeaderError::Undecodable(_) => ApiError::field(FIELD, format!("{e}.")),
        })?;
        if let Some(parent) = destination.parent() {
            std::fs::create_dir_all(parent).map_err(storage_error)?;
        }
        upload
            .file
            .persist(&destination)
            .map_err(|e| storage_error(e.error))?;
        Ok(())
    })
    .await
    .map_err(storage_error)??;

    let started = {
        let mut conn = state.db.get().await?;
        products::start_image(&mut conn, product_id, &key, ext).await?
    };
    if !started {
        let _ = tokio::fs::remove_file(&files.original).await;
        return Err(ApiError::NotFound);
    }
    state.products.invalidate().await;
    let payload = serde_json::to_string(&ResizeImagePayload {
        product_id,
        key,
        ext: ext.to_owned(),
    })
    .map_err(ApiError::internal)?;
    jobs::enqueue(state, JobKind::ResizeImage, Some(admin), Some(payload)).await
}
