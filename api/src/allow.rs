//! `Allow` on 405 answers (RFC 9110 §15.5.6): the methods the spec lists for the path.

use std::sync::OnceLock;

use poem::http::{header, HeaderValue, StatusCode};
use poem::{Endpoint, IntoResponse, Request, Response};

/// Each documented path as segments (`None` for a `{parameter}`) with its methods.
type Routes = Vec<(Vec<Option<String>>, String)>;

fn routes() -> &'static Routes {
    static ROUTES: OnceLock<Routes> = OnceLock::new();
    ROUTES.get_or_init(|| {
        let spec: serde_json::Value =
            serde_json::from_str(&crate::app::spec_json()).unwrap_or_default();
        let Some(paths) = spec["paths"].as_object() else {
            return Vec::new();
        };
        paths
            .iter()
            .map(|(path, operations)| {
                let segments = segments(path)
                    .map(|s| (!s.starts_with('{')).then(|| s.to_owned()))
                    .collect();
                let mut methods: Vec<String> = operations
                    .as_object()
                    .map(|o| o.keys().map(|m| m.to_ascii_uppercase()).collect())
                    .unwrap_or_default();
                if methods.iter().any(|m| m == "GET") {
                    methods.push("HEAD".into());
                }
                (segments, methods.join(", "))
            })
            .collect()
    })
}

fn segments(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter(|s| !s.is_empty())
}

/// The `Allow` value for a request path, if the path is documented.
pub fn allowed_for(path: &str) -> Option<&'static str> {
    let wanted: Vec<&str> = segments(path).collect();
    routes().iter().find_map(|(pattern, methods)| {
        let matches = pattern.len() == wanted.len()
            && pattern
                .iter()
                .zip(&wanted)
                .all(|(p, w)| p.as_deref().is_none_or(|p| p == *w));
        matches.then_some(methods.as_str())
    })
}

pub async fn add_allow<E: Endpoint>(next: E, request: Request) -> poem::Result<Response> {
    let path = request.uri().path().to_owned();
    let mut response = next.call(request).await?.into_response();
    if response.status() == StatusCode::METHOD_NOT_ALLOWED {
        if let Some(value) = allowed_for(&path).and_then(|m| HeaderValue::from_str(m).ok()) {
            response.headers_mut().insert(header::ALLOW, value);
        }
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_the_documented_methods_of_a_path() {
        let tasks = allowed_for("/api/v1/tasks/").unwrap();
        assert!(tasks.contains("GET") && tasks.contains("POST") && tasks.contains("HEAD"));
        let task = allowed_for("/api/v1/tasks/0b6e3b1e-0000-4000-8000-000000000000/").unwrap();
        for method in ["GET", "PUT", "PATCH", "DELETE"] {
            assert!(task.contains(method), "{task}");
        }
        assert!(!task.contains("POST"));
        assert_eq!(allowed_for("/nowhere"), None);
    }
}
