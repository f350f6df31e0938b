//! Resizing an upload into its thumbnail and full size: one decode for both sizes (a JPEG
//! decoded by libjpeg-turbo at the smallest DCT scale that keeps the larger size), a
//! SIMD Lanczos3 resize, and both encodes in parallel, in the original's format. Pure
//! functions of the original's bytes, so a re-run writes the same files.

use std::io::Cursor;
use std::path::Path;

use dispatch_shared::media::{UploadFiles, UploadFormat, FULL_SIDE, MAX_PIXELS, THUMB_SIDE};
use fast_image_resize::{FilterType, ResizeAlg, ResizeOptions, Resizer};
use image::{DynamicImage, ImageEncoder, RgbImage};

#[derive(Debug, thiserror::Error)]
pub enum ResizeError {
    /// The original is not a decodable image of its format: no retry can help.
    #[error("{0}")]
    Unreadable(String),
    /// Reading or writing files failed: worth another attempt.
    #[error("file error: {0}")]
    Io(#[from] std::io::Error),
}

/// The dimensions written, for the job's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Written {
    pub original: (u32, u32),
    pub thumb: (u32, u32),
    pub full: (u32, u32),
}

/// `(width, height)` scaled so the long side is `side`, never enlarged, aspect ratio kept.
pub fn fitted(width: u32, height: u32, side: u32) -> (u32, u32) {
    let long = width.max(height);
    if long <= side {
        return (width, height);
    }
    let scale = f64::from(side) / f64::from(long);
    let w = (f64::from(width) * scale).round().max(1.0) as u32;
    let h = (f64::from(height) * scale).round().max(1.0) as u32;
    (w, h)
}

fn unreadable(e: impl std::fmt::Display) -> ResizeError {
    ResizeError::Unreadable(format!("The image could not be decoded: {e}."))
}

/// Decodes `bytes`, at a reduced scale where the format allows and `min_long_side` is kept.
/// Returns the image and the original's dimensions.
pub fn decode(
    bytes: &[u8],
    format: UploadFormat,
    min_long_side: u32,
) -> Result<(DynamicImage, (u32, u32)), ResizeError> {
    if format == UploadFormat::Jpeg {
        return decode_jpeg(bytes, min_long_side);
    }
    let mut reader = image::ImageReader::with_format(Cursor::new(bytes), format.image_format());
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(MAX_PIXELS * 8);
    reader.limits(limits);
    let decoded = reader.decode().map_err(unreadable)?;
    let dims = (decoded.width(), decoded.height());
    check_pixels(dims)?;
    Ok((decoded, dims))
}

fn check_pixels((w, h): (u32, u32)) -> Result<(), ResizeError> {
    if u64::from(w) * u64::from(h) > MAX_PIXELS || w == 0 || h == 0 {
        return Err(ResizeError::Unreadable(format!(
            "The image is {w}×{h} pixels; at most {MAX_PIXELS} pixels are accepted."
        )));
    }
    Ok(())
}

fn decode_jpeg(
    bytes: &[u8],
    min_long_side: u32,
) -> Result<(DynamicImage, (u32, u32)), ResizeError> {
    let mut decompressor = turbojpeg::Decompressor::new().map_err(unreadable)?;
    let header = decompressor.read_header(bytes).map_err(unreadable)?;
    let original = (header.width as u32, header.height as u32);
    check_pixels(original)?;
    if matches!(header.colorspace, turbojpeg::Colorspace::CMYK | turbojpeg::Colorspace::YCCK) {
        // TurboJPEG does not convert CMYK to RGB; the image crate does (at full size).
        let reader = image::ImageReader::with_format(Cursor::new(bytes), image::ImageFormat::Jpeg);
        return Ok((reader.decode().map_err(unreadable)?, original));
    }
    // The smallest DCT scaling that keeps the long side at least `min_long_side`: the IDCT
    // then produces (nearly) the target size directly, skipping most of the pixel work.
    let long = header.width.max(header.height);
    let factor = turbojpeg::Decompressor::supported_scaling_factors()
        .into_iter()
        .filter(|f| f.num() <= f.denom() && f.scale(long) >= min_long_side as usize)
        .min_by(|a, b| (a.num() * b.denom()).cmp(&(b.num() * a.denom())))
        .unwrap_or(turbojpeg::ScalingFactor::ONE);
    decompressor.set_scaling_factor(factor).map_err(unreadable)?;
    let scaled = header.scaled(factor);
    let mut image = turbojpeg::Image {
        pixels: vec![0u8; 3 * scaled.width * scaled.height],
        width: scaled.width,
        pitch: 3 * scaled.width,
        height: scaled.height,
        format: turbojpeg::PixelFormat::RGB,
    };
    decompressor.decompress(bytes, image.as_deref_mut()).map_err(unreadable)?;
    let rgb = RgbImage::from_raw(scaled.width as u32, scaled.height as u32, image.pixels)
        .ok_or_else(|| ResizeError::Unreadable("The JPEG's pixel data is incomplete.".into()))?;
    Ok((DynamicImage::ImageRgb8(rgb), original))
}

/// `source` resized to `(w, h)` with Lanczos3 (alpha-aware).
pub fn resized(source: &DynamicImage, (w, h): (u32, u32)) -> Result<DynamicImage, ResizeError> {
    if (source.width(), source.height()) == (w, h) {
        return Ok(source.clone());
    }
    let mut target = DynamicImage::new(w, h, source.color());
    let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3));
    Resizer::new()
        .resize(source, &mut target, &options)
        .map_err(|e| ResizeError::Unreadable(format!("The image could not be resized: {e}.")))?;
    Ok(target)
}

pub fn encode(image: &DynamicImage, format: UploadFormat) -> Result<Vec<u8>, ResizeError> {
    let mut out = Vec::new();
    let (w, h, color) = (image.width(), image.height(), image.color());
    let result = match format {
        UploadFormat::Jpeg => {
            // JPEG has no alpha; and 16-bit grey is written as 8-bit.
            let image = match image {
                DynamicImage::ImageRgb8(_) | DynamicImage::ImageLuma8(_) => image.clone(),
                other if other.color().has_color() => DynamicImage::ImageRgb8(other.to_rgb8()),
                other => DynamicImage::ImageLuma8(other.to_luma8()),
            };
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85).write_image(
                image.as_bytes(),
                w,
                h,
                image.color().into(),
            )
        }
        UploadFormat::Png => image::codecs::png::PngEncoder::new(&mut out).write_image(
            image.as_bytes(),
            w,
            h,
            color.into(),
        ),
        UploadFormat::WebP => {
            let image = if color.has_alpha() {
                DynamicImage::ImageRgba8(image.to_rgba8())
            } else {
                DynamicImage::ImageRgb8(image.to_rgb8())
            };
            image::codecs::webp::WebPEncoder::new_lossless(&mut out).write_image(
                image.as_bytes(),
                w,
                h,
                image.color().into(),
            )
        }
    };
    result.map_err(|e| ResizeError::Unreadable(format!("The image could not be encoded: {e}.")))?;
    Ok(out)
}

/// The thumbnail and full size of `bytes`, encoded. CPU only, no I/O.
pub fn both_sizes(
    bytes: &[u8],
    format: UploadFormat,
) -> Result<(Vec<u8>, Vec<u8>, Written), ResizeError> {
    let (decoded, original) = decode(bytes, format, FULL_SIDE)?;
    let full_dims = fitted(original.0, original.1, FULL_SIDE);
    let thumb_dims = fitted(original.0, original.1, THUMB_SIDE);
    let full = resized(&decoded, full_dims)?;
    // The thumbnail comes from the full size: a fifth of the work, the same filter.
    let thumb = resized(&full, thumb_dims)?;
    let (full_bytes, thumb_bytes) = std::thread::scope(|scope| {
        let thumb_job = scope.spawn(|| encode(&thumb, format));
        let full_bytes = encode(&full, format);
        let thumb_bytes = thumb_job
            .join()
            .unwrap_or_else(|_| Err(ResizeError::Unreadable("The encoder failed.".into())));
        (full_bytes, thumb_bytes)
    });
    Ok((thumb_bytes?, full_bytes?, Written { original, thumb: thumb_dims, full: full_dims }))
}

/// Writes `bytes` to `path` so readers see the old file or the new one, never a part.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().ok_or_else(|| std::io::Error::other("media path has no parent"))?;
    let mut temp = tempfile::Builder::new().prefix(".resize-").tempfile_in(dir)?;
    std::io::Write::write_all(&mut temp, bytes)?;
    temp.as_file().sync_data()?;
    temp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Reads the original and writes its two sizes beside it. Blocking.
pub fn write_sizes(files: &UploadFiles, format: UploadFormat) -> Result<Written, ResizeError> {
    let bytes = std::fs::read(&files.original)?;
    let (thumb, full, written) = both_sizes(&bytes, format)?;
    write_atomically(&files.thumb, &thumb)?;
    write_atomically(&files.full, &full)?;
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fitting_keeps_the_aspect_ratio_and_never_enlarges() {
        assert_eq!(fitted(4000, 3000, 500), (500, 375));
        assert_eq!(fitted(3000, 4000, 100), (75, 100));
        assert_eq!(fitted(80, 60, 100), (80, 60));
        assert_eq!(fitted(10_000, 1, 100), (100, 1));
    }

    fn sample(format: UploadFormat, w: u32, h: u32) -> Vec<u8> {
        let image = DynamicImage::ImageRgb8(RgbImage::from_fn(w, h, |x, y| {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, ((x + y) % 256) as u8])
        }));
        encode(&image, format).unwrap()
    }

    #[test]
    fn both_sizes_are_deterministic_in_every_format() {
        for format in [UploadFormat::Jpeg, UploadFormat::Png, UploadFormat::WebP] {
            let bytes = sample(format, 1200, 800);
            let (thumb, full, written) = both_sizes(&bytes, format).unwrap();
            assert_eq!(written.full, (500, 333));
            assert_eq!(written.thumb, (100, 67));
            let again = both_sizes(&bytes, format).unwrap();
            assert_eq!((thumb.clone(), full.clone()), (again.0, again.1), "{format:?}");
            assert_eq!(UploadFormat::sniff(&thumb), Some(format));
            let full_image = image::load_from_memory(&full).unwrap();
            assert_eq!((full_image.width(), full_image.height()), (500, 333));
        }
    }

    #[test]
    fn a_grey_jpeg_is_resized_too() {
        let grey = DynamicImage::ImageLuma8(image::GrayImage::from_fn(900, 300, |x, _| {
            image::Luma([(x % 256) as u8])
        }));
        let bytes = encode(&grey, UploadFormat::Jpeg).unwrap();
        let (thumb, _, written) = both_sizes(&bytes, UploadFormat::Jpeg).unwrap();
        assert_eq!(written.thumb, (100, 33));
        let thumb = image::load_from_memory(&thumb).unwrap();
        assert_eq!((thumb.width(), thumb.height()), (100, 33));
    }

    #[test]
    fn garbage_after_a_valid_signature_is_unreadable() {
        let mut bytes = sample(UploadFormat::Png, 50, 50);
        bytes.truncate(40);
        assert!(matches!(both_sizes(&bytes, UploadFormat::Png), Err(ResizeError::Unreadable(_))));
    }
}
