//! Uploaded images: which formats are taken (by their bytes, never their names), the limits,
//! and where the files of one upload live under `DISPATCH_MEDIA_ROOT`.

use std::path::{Path, PathBuf};

/// Larger uploads are refused with 413 while they are read.
pub const MAX_UPLOAD_BYTES: u64 = 10 * 1024 * 1024;
/// Larger images are refused from their header, before anything decodes them.
pub const MAX_PIXELS: u64 = 40_000_000;
/// Long sides of the two sizes the resize job writes.
pub const THUMB_SIDE: u32 = 100;
pub const FULL_SIDE: u32 = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadFormat {
    Jpeg,
    Png,
    WebP,
}

impl UploadFormat {
    /// The format the leading bytes declare, if it is one we take.
    pub fn sniff(head: &[u8]) -> Option<Self> {
        match image::guess_format(head).ok()? {
            image::ImageFormat::Jpeg => Some(Self::Jpeg),
            image::ImageFormat::Png => Some(Self::Png),
            image::ImageFormat::WebP => Some(Self::WebP),
            _ => None,
        }
    }

    pub fn from_ext(ext: &str) -> Option<Self> {
        match ext {
            "jpg" => Some(Self::Jpeg),
            "png" => Some(Self::Png),
            "webp" => Some(Self::WebP),
            _ => None,
        }
    }

    pub fn ext(self) -> &'static str {
        match self {
            Self::Jpeg => "jpg",
            Self::Png => "png",
            Self::WebP => "webp",
        }
    }

    pub fn image_format(self) -> image::ImageFormat {
        match self {
            Self::Jpeg => image::ImageFormat::Jpeg,
            Self::Png => image::ImageFormat::Png,
            Self::WebP => image::ImageFormat::WebP,
        }
    }
}

/// Why an upload's header was refused.
#[derive(Debug, thiserror::Error)]
pub enum HeaderError {
    #[error("the image is {width}×{height} pixels; at most {MAX_PIXELS} pixels are accepted")]
    TooManyPixels { width: u32, height: u32 },
    #[error("the image cannot be read: {0}")]
    Undecodable(String),
}

/// Reads only the header: the dimensions, checked against `MAX_PIXELS`. Blocking I/O.
pub fn checked_dimensions(path: &Path, format: UploadFormat) -> Result<(u32, u32), HeaderError> {
    let file = std::fs::File::open(path).map_err(|e| HeaderError::Undecodable(e.to_string()))?;
    let reader =
        image::ImageReader::with_format(std::io::BufReader::new(file), format.image_format());
    let (width, height) =
        reader.into_dimensions().map_err(|e| HeaderError::Undecodable(e.to_string()))?;
    if width == 0 || height == 0 {
        return Err(HeaderError::Undecodable("the image has no pixels".into()));
    }
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(HeaderError::TooManyPixels { width, height });
    }
    Ok((width, height))
}

/// The files of one upload, `products/<product>/<upload>[-thumb|-full].<ext>`.
#[derive(Debug, Clone)]
pub struct UploadFiles {
    pub original: PathBuf,
    pub thumb: PathBuf,
    pub full: PathBuf,
}

impl UploadFiles {
    pub fn new(media_root: &Path, key: &str, ext: &str) -> Self {
        let at = |suffix: &str| media_root.join(crate::models::image_path(key, suffix, ext));
        Self { original: at(""), thumb: at("-thumb"), full: at("-full") }
    }
}

/// Every upload of one product lives here.
pub fn product_dir(media_root: &Path, product_id: uuid::Uuid) -> PathBuf {
    media_root.join("products").join(product_id.to_string())
}

/// Where uploads are written before they are complete (same file system: renames are atomic).
pub fn incoming_dir(media_root: &Path) -> PathBuf {
    media_root.join(".incoming")
}
