//! An upload is judged by its bytes before anything decodes it: the format from its first
//! bytes, then only the header for its dimensions. Both must survive any input (arbitrary
//! bytes, and real JPEG, PNG and WebP files truncated or mutated) without a panic, within a
//! bounded time, and never admit more pixels than allowed.

use std::io::{Cursor, Write};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use dispatch_shared::media::{checked_dimensions, UploadFormat, MAX_PIXELS};
use image::{DynamicImage, ImageFormat, RgbaImage};
use proptest::prelude::*;

/// A guard against a reader that spins, not a speed figure: a header read takes microseconds.
const HANG: Duration = Duration::from_secs(2);

fn real_files() -> &'static [(UploadFormat, Vec<u8>)] {
    static FILES: OnceLock<Vec<(UploadFormat, Vec<u8>)>> = OnceLock::new();
    FILES.get_or_init(|| {
        let picture =
            RgbaImage::from_fn(64, 48, |x, y| image::Rgba([x as u8 * 4, y as u8 * 5, 90, 255]));
        [
            (UploadFormat::Jpeg, ImageFormat::Jpeg),
            (UploadFormat::Png, ImageFormat::Png),
            (UploadFormat::WebP, ImageFormat::WebP),
        ]
        .into_iter()
        .map(|(format, encoding)| {
            let image = if encoding == ImageFormat::Jpeg {
                DynamicImage::ImageRgb8(DynamicImage::ImageRgba8(picture.clone()).to_rgb8())
            } else {
                DynamicImage::ImageRgba8(picture.clone())
            };
            let mut bytes = Cursor::new(Vec::new());
            image.write_to(&mut bytes, encoding).expect("encodes");
            (format, bytes.into_inner())
        })
        .collect()
    })
}

/// What the header check makes of `bytes` read as `format`, with how long it took.
fn check(bytes: &[u8], format: UploadFormat) -> (Option<(u32, u32)>, Duration) {
    let mut file = tempfile::NamedTempFile::new().expect("a scratch file");
    file.write_all(bytes).expect("written");
    let started = Instant::now();
    let dimensions = checked_dimensions(file.path(), format).ok();
    (dimensions, started.elapsed())
}

fn admitted(dimensions: Option<(u32, u32)>) -> bool {
    dimensions.is_none_or(|(w, h)| w > 0 && h > 0 && u64::from(w) * u64::from(h) <= MAX_PIXELS)
}

#[derive(Debug, Clone)]
enum Mutation {
    Truncate(prop::sample::Index),
    Flip(Vec<(prop::sample::Index, u8)>),
    Insert(prop::sample::Index, Vec<u8>),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<prop::sample::Index>().prop_map(Mutation::Truncate),
        proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8)
            .prop_map(Mutation::Flip),
        (any::<prop::sample::Index>(), proptest::collection::vec(any::<u8>(), 1..64))
            .prop_map(|(at, bytes)| Mutation::Insert(at, bytes)),
    ]
}

fn mutate(original: &[u8], mutation: &Mutation) -> Vec<u8> {
    let mut bytes = original.to_vec();
    match mutation {
        Mutation::Truncate(at) => bytes.truncate(at.index(original.len())),
        Mutation::Flip(flips) => {
            for (at, value) in flips {
                let i = at.index(bytes.len());
                bytes[i] ^= value | 1;
            }
        }
        Mutation::Insert(at, inserted) => {
            let i = at.index(bytes.len());
            bytes.splice(i..i, inserted.iter().copied());
        }
    }
    bytes
}

proptest! {
    #[test]
    fn sniffing_takes_only_the_three_formats_by_their_magic(head in proptest::collection::vec(any::<u8>(), 0..64)) {
        match UploadFormat::sniff(&head) {
            Some(UploadFormat::Jpeg) => prop_assert!(head.starts_with(&[0xFF, 0xD8, 0xFF])),
            Some(UploadFormat::Png) => prop_assert!(head.starts_with(b"\x89PNG\r\n\x1a\n")),
            Some(UploadFormat::WebP) => {
                prop_assert!(head.starts_with(b"RIFF") && head.get(8..12) == Some(&b"WEBP"[..]))
            }
            None => {}
        }
    }

    #[test]
    fn arbitrary_bytes_never_pass_for_an_image(
        bytes in proptest::collection::vec(any::<u8>(), 0..4096),
        format in prop_oneof![Just(UploadFormat::Jpeg), Just(UploadFormat::Png), Just(UploadFormat::WebP)],
    ) {
        let (dimensions, took) = check(&bytes, format);
        prop_assert!(admitted(dimensions));
        prop_assert!(took < HANG, "{took:?}");
    }

    #[test]
    fn damaged_real_files_are_refused_or_read_within_the_limits(
        which in 0usize..3,
        damage in mutation(),
    ) {
        let (format, original) = &real_files()[which];
        let damaged = mutate(original, &damage);
        let (dimensions, took) = check(&damaged, *format);
        prop_assert!(admitted(dimensions));
        prop_assert!(took < HANG, "{took:?}");
    }
}

#[test]
fn the_undamaged_files_are_read() {
    for (format, bytes) in real_files() {
        assert_eq!(check(bytes, *format).0, Some((64, 48)), "{format:?}");
    }
}
