//! A product image upload: checked from its header, moved into place under a name of its
//! own (so a replacement never mixes with the files shown), then resized by a job.

use std::path::PathBuf;
use std::time::Duration;

use dispatch_shared::db::DbPool;
use dispatch_shared::jobs::resize_image::ResizeImagePayload;
use dispatch_shared::jobs::JobKind;
use dispatch_shared::media::{checked_dimensions, UploadFiles, UploadFormat};
use dispatch_shared::product_cache::ProductCache;
use dispatch_shared::repo::products;
use uuid::Uuid;

use super::products::{ProductView, Products};
use super::CatalogueError;
use crate::jobs::{Followed, Jobs};
use crate::{Caller, Failure};

/// An uploaded file whose first bytes said which image format it is.
pub struct ImageFile {
    /// Removed when dropped unless it has been moved into place.
    pub file: tempfile::TempPath,
    pub format: UploadFormat,
}

fn storage_error(e: impl std::fmt::Display) -> Failure {
    Failure::internal(anyhow::anyhow!("storing an upload: {e}"))
}

#[derive(Clone)]
pub struct ProductImages {
    db: DbPool,
    cache: ProductCache,
    jobs: Jobs,
    products: Products,
    media_root: PathBuf,
}

impl ProductImages {
    pub fn new(
        db: DbPool,
        cache: ProductCache,
        jobs: Jobs,
        products: Products,
        media_root: PathBuf,
    ) -> Self {
        Self { db, cache, jobs, products, media_root }
    }

    /// Stores the upload and enqueues its `resize_image` job, owned by the caller. With
    /// `wait`, follows the job for that long and answers the resized product if it is done.
    pub async fn upload(
        &self,
        caller: &Caller,
        product_id: Uuid,
        upload: ImageFile,
        wait: Option<Duration>,
    ) -> Result<Followed<ProductView>, CatalogueError> {
        caller.require_admin()?;
        let job = self.accept(caller, product_id, upload).await?;
        let Some(wait) = wait else {
            return Ok(Followed::Accepted { job });
        };
        if self.jobs.await_success(job, wait).await?.is_none() {
            return Ok(Followed::Accepted { job });
        }
        Ok(Followed::Finished(self.products.find(product_id).await?))
    }

    async fn accept(
        &self,
        caller: &Caller,
        product_id: Uuid,
        upload: ImageFile,
    ) -> Result<Uuid, CatalogueError> {
        {
            let mut conn = self.db.get().await?;
            products::find(&mut conn, product_id).await?.ok_or(CatalogueError::NotFound)?;
        }
        let key = format!("{product_id}/{}", Uuid::new_v4().simple());
        let ext = upload.format.ext();
        let files = UploadFiles::new(&self.media_root, &key, ext);
        let format = upload.format;
        let destination = files.original.clone();
        // Header check and the move into place: blocking file work, off the async threads.
        tokio::task::spawn_blocking(move || -> Result<(), CatalogueError> {
            checked_dimensions(&upload.file, format)
                .map_err(|e| CatalogueError::ImageRefused(format!("{e}.")))?;
            if let Some(parent) = destination.parent() {
                std::fs::create_dir_all(parent).map_err(storage_error)?;
            }
            upload.file.persist(&destination).map_err(|e| storage_error(e.error))?;
            Ok(())
        })
        .await
        .map_err(storage_error)??;

        let started = {
            let mut conn = self.db.get().await?;
            products::start_image(&mut conn, product_id, &key, ext).await?
        };
        if !started {
            let _ = tokio::fs::remove_file(&files.original).await;
            return Err(CatalogueError::NotFound);
        }
        self.cache.invalidate().await;
        let payload =
            serde_json::to_string(&ResizeImagePayload { product_id, key, ext: ext.to_owned() })
                .map_err(Failure::internal)?;
        Ok(self.jobs.enqueue(JobKind::ResizeImage, Some(caller.id), Some(payload)).await?)
    }
}
