//! The web console: a few static pages, embedded in the binary, that use the public API only.
//! `/` sends a signed-in browser to its dashboard and everyone else to the login page.

use std::sync::Arc;

use poem::endpoint::{make_sync, EmbeddedFileEndpoint, EmbeddedFilesEndpoint};
use poem::http::{header, HeaderValue};
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
    route.nest(
        "/assets",
        EmbeddedFilesEndpoint::<Assets>::new().around(secured),
    )
}

fn page(file: &str) -> impl Endpoint {
    get(EmbeddedFileEndpoint::<Pages>::new(file)).around(secured)
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
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
    ] {
        headers.insert(name, value);
    }
    Ok(response)
}
