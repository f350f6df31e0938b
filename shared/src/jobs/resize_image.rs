//! `resize_image`: writes the thumbnail and full size of one stored upload, then shows it.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ResizeImagePayload {
    pub product_id: Uuid,
    /// `<product>/<upload>`: the upload's files are named after it.
    pub key: String,
    /// `jpg`, `png` or `webp`.
    pub ext: String,
}
