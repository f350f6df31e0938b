//! The bearer-token extractor every authenticated endpoint uses. The token comes from
//! `Authorization: Bearer …` or the `access_token` cookie set at login.

use std::ops::Deref;
use std::sync::Arc;

use dispatch_core::Caller;
use dispatch_shared::auth::Claims;
use poem::{Request, RequestBody};
use poem_openapi::registry::{MetaSecurityScheme, Registry};
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions};

use crate::error::ApiError;
use crate::state::AppState;

pub const ACCESS_COOKIE: &str = "access_token";
const SCHEME: &str = "bearerAuth";

/// The authenticated, active user making the request, as the use cases take it.
#[derive(Debug, Clone, Copy)]
pub struct AuthUser(pub Caller);

impl Deref for AuthUser {
    type Target = Caller;

    fn deref(&self) -> &Caller {
        &self.0
    }
}

/// Like `AuthUser`, but anonymous requests pass through as `None` (invalid tokens do not).
pub struct OptionalAuth(pub Option<AuthUser>);

/// Where a request's token came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenSource {
    Header,
    Query,
    Cookie,
}

/// A request's token, as sent.
#[derive(Debug, Clone)]
pub struct RawToken {
    pub value: String,
    pub source: TokenSource,
}

/// The raw token of a request: the Authorization header (with or without `Bearer `), the
/// `token` query parameter when `websocket`, or the cookie. A WebSocket handshake is not
/// subject to CORS, so there the cookie counts only when the page is from this origin.
pub fn raw_token(request: &Request, websocket: bool) -> Option<RawToken> {
    if let Some(value) =
        request.headers().get(poem::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok())
    {
        let value = value.trim();
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .unwrap_or(value)
            .trim();
        if !token.is_empty() {
            return Some(RawToken { value: token.to_owned(), source: TokenSource::Header });
        }
    }
    if websocket {
        if let Some(token) = request
            .uri()
            .query()
            .and_then(|q| {
                url::form_urlencoded::parse(q.as_bytes())
                    .find(|(k, _)| k == "token")
                    .map(|(_, v)| v.into_owned())
            })
            .filter(|t| !t.is_empty())
        {
            return Some(RawToken { value: token, source: TokenSource::Query });
        }
    }
    if websocket && !same_origin(request) {
        return None;
    }
    request
        .cookie()
        .get(ACCESS_COOKIE)
        .map(|c| c.value_str().to_owned())
        .filter(|t| !t.is_empty())
        .map(|value| RawToken { value, source: TokenSource::Cookie })
}

/// True without an `Origin` header (not a browser page) or when it names this host.
fn same_origin(request: &Request) -> bool {
    let Some(origin) = request.headers().get(poem::http::header::ORIGIN) else {
        return true;
    };
    let host = request.headers().get(poem::http::header::HOST).and_then(|h| h.to_str().ok());
    let origin_host = origin
        .to_str()
        .ok()
        .and_then(|o| o.parse::<poem::http::Uri>().ok())
        .and_then(|u| u.authority().map(|a| a.as_str().to_owned()));
    matches!((origin_host, host), (Some(o), Some(h)) if o.eq_ignore_ascii_case(h))
}

/// A browser sends the cookie with any request to this origin, including a form posted from
/// another site. Such a form can send neither a JSON content type nor a custom header, so a
/// cookie-authenticated write must carry one of them (SameSite=Lax is the first defence).
fn check_cross_site_write(request: &Request) -> Result<(), ApiError> {
    if request.method().is_safe() || request.headers().contains_key("x-requested-with") {
        return Ok(());
    }
    let json = request.content_type().and_then(|t| t.parse::<mime::Mime>().ok()).is_some_and(|m| {
        m.type_() == mime::APPLICATION
            && (m.subtype() == mime::JSON || m.suffix() == Some(mime::JSON))
    });
    if json {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "A write authenticated by the session cookie needs a JSON body or an \
             `X-Requested-With` header (cross-site request protection); or send \
             `Authorization: Bearer <access>`."
                .into(),
        ))
    }
}

pub async fn authenticate_token(state: &AppState, token: &str) -> Result<AuthUser, ApiError> {
    authenticate_claims(state, token).await.map(|(user, _)| user)
}

/// The user and the token's claims (for connections that must end when the token does).
pub async fn authenticate_claims(
    state: &AppState,
    token: &str,
) -> Result<(AuthUser, Claims), ApiError> {
    let (caller, claims) = state.sessions.authenticate(token).await?;
    Ok((AuthUser(caller), claims))
}

fn state_of(request: &Request) -> Result<&Arc<AppState>, ApiError> {
    request
        .data::<Arc<AppState>>()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("application state missing")))
}

/// The request's user: `None` without a token, an error with a bad one.
async fn authenticate_request(request: &Request) -> Result<Option<AuthUser>, ApiError> {
    let state = state_of(request)?;
    match raw_token(request, false) {
        None => Ok(None),
        Some(token) => {
            if token.source == TokenSource::Cookie {
                check_cross_site_write(request)?;
            }
            authenticate_token(state, &token.value).await.map(Some)
        }
    }
}

fn register_scheme(registry: &mut Registry) {
    registry.create_security_scheme(
        SCHEME,
        MetaSecurityScheme {
            ty: "http",
            description: Some(
                "The `access` token from login (also accepted from the `access_token` cookie).",
            ),
            name: None,
            key_in: None,
            scheme: Some("bearer"),
            bearer_format: Some("JWT"),
            flows: None,
            openid_connect_url: None,
        },
    );
}

/// The request's user, who must be there.
async fn required(request: &Request) -> Result<AuthUser, ApiError> {
    authenticate_request(request).await?.ok_or_else(|| {
        ApiError::Unauthorized("Authentication credentials were not provided.".into())
    })
}

/// An extractor documented as the bearer scheme: `fallback` says whether the operation also
/// serves anonymous callers.
macro_rules! bearer_extractor {
    ($ty:ty, fallback = $fallback:expr, |$request:ident| $extract:expr) => {
        impl<'a> ApiExtractor<'a> for $ty {
            const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::SecurityScheme];
            type ParamType = ();
            type ParamRawType = ();

            fn register(registry: &mut Registry) {
                register_scheme(registry);
            }

            fn security_schemes() -> Vec<&'static str> {
                vec![SCHEME]
            }

            fn has_security_fallback() -> bool {
                $fallback
            }

            async fn from_request(
                $request: &'a Request,
                _body: &mut RequestBody,
                _param_opts: ExtractParamOptions<Self::ParamType>,
            ) -> poem::Result<Self> {
                Ok($extract)
            }
        }
    };
}

bearer_extractor!(AuthUser, fallback = false, |request| required(request).await?);

bearer_extractor!(OptionalAuth, fallback = true, |request| OptionalAuth(
    authenticate_request(request).await?
));

/// An authenticated admin. Anyone else is refused (401 or 403) before the body is read, so
/// a non-admin learns nothing from validation errors.
pub struct AdminUser(pub AuthUser);

bearer_extractor!(AdminUser, fallback = false, |request| {
    let user = required(request).await?;
    user.require_admin().map_err(ApiError::from)?;
    AdminUser(user)
});
