//! The web console: a few static pages, embedded in the binary, that use the public API only.
//! `/` sends a signed-in browser to its dashboard and everyone else to the login page.
//!
//! Each page is a template that fills in the one layout (`pages/_layout.html`); the pages are
//! rendered once, when the routes are built, and served with an ETag of their content.

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use poem::endpoint::{make_sync, EmbeddedFilesEndpoint};
use poem::http::{header, HeaderValue, StatusCode};
use poem::web::{Data, Redirect};
use poem::{get, handler, Endpoint, EndpointExt, IntoResponse, Request, Response, Route};

use crate::extract::auth::{authenticate_token, raw_token};
use crate::state::AppState;

#[derive(rust_embed::RustEmbed)]
#[folder = "console/pages/"]
struct Pages;

#[derive(rust_embed::RustEmbed)]
#[folder = "console/assets/"]
struct Assets;

/// Scripts and styles come from our own origin only (no inline code), the pages cannot be
/// framed, and forms and fetches stay on this origin (`'self'` covers same-host WebSockets).
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'; manifest-src 'self'";

const PAGES: [(&str, &str); 5] = [
    ("login", "login.html"),
    ("register", "register.html"),
    ("account", "account.html"),
    ("admin", "admin.html"),
    ("admin/jobs", "admin-jobs.html"),
];

/// Adds the console's pages and assets to the application's routes.
pub fn mount(route: Route) -> Route {
    let mut route = route.at("/", get(home).around(secured));
    for (path, file) in PAGES {
        route = route.at(format!("/{path}/"), page(file)).at(
            format!("/{path}"),
            make_sync(move |_| Redirect::permanent(format!("/{path}/"))).around(secured),
        );
    }
    route.nest("/assets", EmbeddedFilesEndpoint::<Assets>::new().around(secured))
}

fn page(file: &str) -> impl Endpoint {
    let page = match render(file) {
        Ok(html) => Ok(RenderedPage::new(html)),
        Err(e) => {
            tracing::error!(page = file, error = %e, "console page does not render");
            Err(())
        }
    };
    get(make_sync(move |request| match &page {
        Ok(page) => page.response(&request),
        Err(()) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }))
    .around(secured)
}

fn render(file: &str) -> Result<String, minijinja::Error> {
    let mut templates = minijinja::Environment::new();
    templates.set_loader(|name| {
        Ok(Pages::get(name).map(|file| String::from_utf8_lossy(&file.data).into_owned()))
    });
    templates.get_template(file)?.render(())
}

struct RenderedPage {
    html: String,
    etag: String,
}

impl RenderedPage {
    fn new(html: String) -> Self {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        html.hash(&mut hasher);
        let etag = format!("\"{:016x}\"", hasher.finish());
        Self { html, etag }
    }

    fn response(&self, request: &Request) -> Response {
        let unchanged = request
            .headers()
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|tags| tags.split(',').any(|tag| tag.trim() == self.etag));
        let response = Response::builder().header(header::ETAG, self.etag.as_str());
        if unchanged {
            return response.status(StatusCode::NOT_MODIFIED).finish();
        }
        response.content_type("text/html; charset=utf-8").body(self.html.clone())
    }
}

#[handler]
async fn home(state: Data<&Arc<AppState>>, request: &Request) -> Redirect {
    let user = match raw_token(request, false) {
        Some(token) => authenticate_token(state.0, &token.value).await.ok(),
        None => None,
    };
    match user {
        Some(user) if user.is_admin => Redirect::see_other("/admin/"),
        Some(_) => Redirect::see_other("/account/"),
        None => Redirect::see_other("/login/"),
    }
}

/// Security headers for every console response (its redirects too); the files are
/// revalidated (ETag) on each use because their names carry no version.
async fn secured<E: Endpoint>(next: E, request: Request) -> poem::Result<Response> {
    let mut response = next.call(request).await?.into_response();
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY)),
        (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        (header::REFERRER_POLICY, HeaderValue::from_static("same-origin")),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
    ] {
        headers.insert(name, value);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_page_renders_into_the_layout() {
        for (_, file) in PAGES {
            let html = render(file).unwrap_or_else(|e| panic!("{file}: {e}"));
            assert!(html.starts_with("<!doctype html>"), "{file}");
            assert!(html.contains("<link rel=\"stylesheet\" href=\"/assets/console.css\">"));
            assert!(!html.contains("{%"), "{file} left a template tag");
            assert_eq!(html.matches("<main").count(), 1, "{file}");
        }
    }
}
