//! `Allow` on 405 answers (RFC 9110 §15.5.6): the methods the documented operations list
//! for the path, read from the operations' own metadata.

use std::sync::OnceLock;

use poem::http::{header, HeaderValue, Method, StatusCode};
use poem::{Endpoint, IntoResponse, Request, Response};
use poem_openapi::OpenApi;

use crate::routes::Apis;

/// Each documented path as segments (`None` for a parameter) with its methods.
type Routes = Vec<(Vec<Option<String>>, String)>;

fn routes() -> &'static Routes {
    static ROUTES: OnceLock<Routes> = OnceLock::new();
    ROUTES.get_or_init(|| {
        let mut routes: Vec<(Vec<Option<String>>, Vec<String>)> = Vec::new();
        for path in Apis::meta().into_iter().flat_map(|api| api.paths) {
            let segments: Vec<Option<String>> = segments(&path.path)
                .map(|s| (!s.starts_with(':') && !s.starts_with('{')).then(|| s.to_owned()))
                .collect();
            let mut methods: Vec<String> =
                path.operations.iter().map(|o| o.method.as_str().to_owned()).collect();
            if path.operations.iter().any(|o| o.method == Method::GET) {
                methods.push("HEAD".into());
            }
            // One path may be spread over several APIs: join their methods.
            match routes.iter_mut().find(|(existing, _)| *existing == segments) {
                Some((_, listed)) => listed.extend(methods),
                None => routes.push((segments, methods)),
            }
        }
        routes.into_iter().map(|(segments, methods)| (segments, methods.join(", "))).collect()
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
            && pattern.iter().zip(&wanted).all(|(p, w)| p.as_deref().is_none_or(|p| p == *w));
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
