//! The product catalogue: categories and products. Anyone signed in reads; admins write,
//! and every write empties the cached product pages before it answers.

pub mod categories;
pub mod product_images;
pub mod products;

use dispatch_shared::domain::CategoryName;

use crate::caller::NotAdmin;
use crate::jobs::JobError;
use crate::Failure;

#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    #[error(transparent)]
    NotAdmin(#[from] NotAdmin),
    /// No such product or category.
    #[error("not found")]
    NotFound,
    /// A product names a category that does not exist.
    #[error("no category with this id")]
    UnknownCategory,
    #[error("a category named {0:?} already exists")]
    CategoryExists(CategoryName),
    #[error("the category still has products")]
    CategoryInUse,
    /// An upload that is not a readable image, or too large a one once decoded.
    #[error("{0}")]
    ImageRefused(String),
    /// The resize job failed, or could not be followed.
    #[error("image: {0}")]
    Resize(#[from] JobError),
    #[error(transparent)]
    Failure(#[from] Failure),
}
crate::failures_convert_into!(CatalogueError);
