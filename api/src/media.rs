//! `GET /media/…`: stored images, with their content type, `ETag`/`Last-Modified` (and 304
//! answers to conditional requests) from poem's static files endpoint, which refuses `..`.
//! Every upload gets file names of its own, so a file never changes: caches may keep it
//! for a year. Unfinished uploads (dot-names) are never served.

use std::path::Path;

use poem::endpoint::StaticFilesEndpoint;
use poem::http::{header, HeaderValue, StatusCode};
use poem::{Endpoint, EndpointExt, IntoResponse, Request, Response};

use crate::error::ApiError;

pub fn endpoint(root: &Path) -> impl Endpoint<Output = Response> {
    StaticFilesEndpoint::new(root).around(guard_and_cache)
}

fn is_hidden(path: &str) -> bool {
    let decoded = percent_encoding::percent_decode_str(path).decode_utf8_lossy();
    decoded.split(['/', '\\']).any(|segment| segment.starts_with('.'))
}

async fn guard_and_cache<E: Endpoint>(next: E, request: Request) -> poem::Result<Response> {
    if is_hidden(request.uri().path()) {
        return Ok(ApiError::NotFound.problem().into_response());
    }
    let mut response = next.call(request).await?.into_response();
    if response.status().is_success() || response.status() == StatusCode::NOT_MODIFIED {
        let headers = response.headers_mut();
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=31536000, immutable"),
        );
        headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::is_hidden;

    #[test]
    fn dot_segments_are_hidden_however_they_are_written() {
        for path in ["/.incoming/x", "/products/%2eupload-1", "/a/%2E%2E/b", "/a\\.x"] {
            assert!(is_hidden(path), "{path}");
        }
        assert!(!is_hidden("/products/p/u-thumb.jpg"));
    }
}
