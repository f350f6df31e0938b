//! `resize_image`: writes the thumbnail and full size of an upload, then shows the upload in
//! one UPDATE. An upload that a newer one replaced meanwhile is not shown and its files go;
//! the set it replaces goes once the new one is shown.

use dispatch_shared::jobs::error_codes;
use dispatch_shared::jobs::resize_image::ResizeImagePayload;
use dispatch_shared::media::{UploadFiles, UploadFormat};
use dispatch_shared::models::{ImageUrls, JobRow};
use dispatch_shared::repo::products::{self, FinishOutcome};
use serde_json::json;

use crate::context::JobContext;
use crate::failure::JobFailure;
use crate::imaging::{self, ResizeError};

pub async fn run(ctx: &JobContext, job: &JobRow) -> Result<serde_json::Value, JobFailure> {
    let payload: ResizeImagePayload = super::payload(job)?;
    let format = UploadFormat::from_ext(&payload.ext).ok_or_else(|| {
        JobFailure::permanent(
            error_codes::INVALID_PAYLOAD,
            format!("unknown image extension {:?}", payload.ext),
        )
    })?;
    let root = ctx.settings.media_root.clone();
    let files = UploadFiles::new(&root, &payload.key, &payload.ext);

    let written = {
        let files = files.clone();
        tokio::task::spawn_blocking(move || imaging::write_sizes(&files, format))
            .await
            .map_err(JobFailure::transient)?
    };
    let written = match written {
        Ok(written) => written,
        Err(ResizeError::Unreadable(message)) => {
            let mut conn = ctx.db.get().await?;
            products::fail_image(&mut conn, payload.product_id, &payload.key).await?;
            drop(conn);
            ctx.products.invalidate().await;
            return Err(JobFailure::permanent(error_codes::IMAGE_UNREADABLE, message));
        }
        Err(ResizeError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut conn = ctx.db.get().await?;
            let wanted = products::find(&mut conn, payload.product_id)
                .await?
                .is_some_and(|(p, _)| p.image_pending.as_deref() == Some(payload.key.as_str()));
            if !wanted {
                // A newer upload or the product's deletion removed it.
                return Ok(superseded(payload.product_id));
            }
            products::fail_image(&mut conn, payload.product_id, &payload.key).await?;
            drop(conn);
            ctx.products.invalidate().await;
            return Err(JobFailure::permanent(
                error_codes::IMAGE_MISSING,
                format!(
                    "The uploaded original is missing at {}: the API and the workers must share DISPATCH_MEDIA_ROOT.",
                    files.original.display()
                ),
            ));
        }
        Err(e @ ResizeError::Io(_)) => return Err(JobFailure::transient(e)),
    };

    let switched = {
        let mut conn = ctx.db.get().await?;
        products::finish_image(&mut conn, payload.product_id, &payload.key).await?
    };
    match switched {
        FinishOutcome::Shown { replaced } => {
            ctx.products.invalidate().await;
            if let Some((key, ext)) = replaced.filter(|(key, _)| key != &payload.key) {
                remove_files(&UploadFiles::new(&root, &key, &ext)).await;
            }
        }
        FinishOutcome::AlreadyShown => {}
        FinishOutcome::Superseded => {
            remove_files(&files).await;
            return Ok(superseded(payload.product_id));
        }
    }
    Ok(json!({
        "product_id": payload.product_id,
        "shown": true,
        "image": ImageUrls::new(&payload.key, &payload.ext),
        "sizes": written,
    }))
}

fn superseded(product_id: uuid::Uuid) -> serde_json::Value {
    json!({"product_id": product_id, "shown": false,
           "reason": "the upload was replaced or its product deleted"})
}

async fn remove_files(files: &UploadFiles) {
    for path in [&files.original, &files.thumb, &files.full] {
        if let Err(e) = tokio::fs::remove_file(path).await {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(path = %path.display(), error = %e, "old image file not removed");
            }
        }
    }
}
