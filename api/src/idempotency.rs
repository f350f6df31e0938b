//! `Idempotency-Key` on creating POSTs: the HTTP side of `dispatch_shared::idempotency`.
//!
//! A request with the header is claimed before it is handled; its response is kept and
//! answered again (with `Idempotent-Replayed: true`) to repeats with the same body. The
//! handler and the recording of its outcome run in a task of their own, so a client that
//! hangs up after sending does not cancel them: its retry then finds the outcome instead
//! of a claim that never finished.

use std::sync::Arc;

use dispatch_shared::db::DbError;
use dispatch_shared::idempotency::{
    self, Begin, Fingerprint, IdempotencyKey, KeyOwner, Outcome, Scope,
};
use dispatch_shared::media::MAX_UPLOAD_BYTES;
use poem::http::{header, HeaderValue, Method, StatusCode};
use poem::{Body, Endpoint, IntoResponse, Request, Response};

use crate::error::ApiError;
use crate::extract::auth::raw_token;
use crate::extract::client_address::client_address;
use crate::state::AppState;

pub const HEADER: &str = "idempotency-key";
const REPLAYED: &str = "idempotent-replayed";
/// The largest body a creating request may have: an image upload and its multipart framing.
const MAX_BODY: usize = MAX_UPLOAD_BYTES as usize + 64 * 1024;

/// The id the job of a keyed request takes (`Scope::job_id`), for a route whose repeats must
/// name one job (a registration: a second job would be refused as taken).
#[derive(Clone, Copy)]
pub struct JobOfRequest(pub uuid::Uuid);

impl JobOfRequest {
    /// The id for the job `request` enqueues, if it came with a key.
    pub fn of(request: &Request) -> Option<uuid::Uuid> {
        request.extensions().get::<Self>().map(|job| job.0)
    }
}

/// Creating requests: every POST of the API but the session ones (login, logout, tokens,
/// password), which create nothing a repeat could duplicate.
fn creates_something(request: &Request) -> bool {
    let path = request.uri().path();
    request.method() == Method::POST
        && path.starts_with("/api/v1/")
        && (!path.starts_with("/api/v1/auth/")
            || path.trim_end_matches('/') == "/api/v1/auth/register")
}

pub async fn idempotent<E>(
    state: Arc<AppState>,
    next: Arc<E>,
    request: Request,
) -> poem::Result<Response>
where
    E: Endpoint + 'static,
{
    let Some(raw) = request.headers().get(HEADER).cloned() else {
        return next.call(request).await.map(IntoResponse::into_response);
    };
    if !creates_something(&request) {
        return next.call(request).await.map(IntoResponse::into_response);
    }
    match run(state, next, request, &raw).await {
        Ok(response) => Ok(response),
        Err(e) => Ok(poem::error::ResponseError::as_response(&e)),
    }
}

async fn run<E>(
    state: Arc<AppState>,
    next: Arc<E>,
    mut request: Request,
    raw: &HeaderValue,
) -> Result<Response, ApiError>
where
    E: Endpoint + 'static,
{
    let key =
        raw.to_str().ok().and_then(|k| IdempotencyKey::parse(k).ok()).ok_or_else(|| {
            ApiError::field("Idempotency-Key", idempotency::InvalidKey.to_string())
        })?;
    let scope =
        Scope::new(owner(&state, &request), request.method().as_str(), request.uri().path(), &key);
    let body = request.take_body().into_bytes_limit(MAX_BODY).await.map_err(|e| match e {
        poem::error::ReadBodyError::PayloadTooLarge => {
            ApiError::PayloadTooLarge("The request body is too large.".into())
        }
        other => ApiError::BadRequest(other.to_string()),
    })?;
    let secret = state.settings.jwt_secret.bytes();
    let fingerprint = match multipart_boundary(&request) {
        Some(boundary) => Fingerprint::of_multipart(secret, &body, &boundary),
        None => Fingerprint::of(secret, &body),
    };
    let begun = match idempotency::begin(&state.db, &scope, &fingerprint).await {
        Ok(begun) => begun,
        Err(failed) => {
            let claim = failed.claim;
            let db = state.db.clone();
            tokio::spawn(until_mysql_takes_it(
                "an unanswered claim was never given back",
                move || {
                    let (db, claim) = (db.clone(), claim.clone());
                    async move { idempotency::give_back(&db, &claim).await }
                },
            ));
            return Err(failed.error.into());
        }
    };
    match begun {
        Begin::Replay(outcome) => return Ok(replay(outcome)),
        Begin::InUse => return Err(ApiError::IdempotencyKeyInUse),
        Begin::Reused => return Err(ApiError::IdempotencyKeyReused),
        Begin::Proceed => {}
    }
    request.set_body(Body::from_bytes(body));
    request.extensions_mut().insert(JobOfRequest(scope.job_id(&fingerprint, secret)));
    let handled = tokio::spawn(async move {
        let response = next.call(request).await.map(IntoResponse::into_response);
        // An error still becomes a problem response further out; answer it as that.
        let response = response.unwrap_or_else(|e| e.into_response());
        let (parts, body) = response.into_parts();
        let body = body.into_vec().await.unwrap_or_default();
        let outcome = Outcome {
            status: parts.status.as_u16(),
            content_type: text_header(&parts.headers, header::CONTENT_TYPE),
            location: text_header(&parts.headers, header::LOCATION),
            body: body.clone(),
        };
        if let Err(e) = idempotency::finish(&state.db, &scope, &outcome).await {
            tracing::warn!(error = %e, "the outcome of an idempotent request is not kept yet");
            let (db, kept) = (state.db.clone(), outcome.clone());
            tokio::spawn(until_mysql_takes_it(
                "the outcome of an idempotent request was never kept",
                move || {
                    let (db, scope, outcome) = (db.clone(), scope.clone(), kept.clone());
                    async move { idempotency::finish(&db, &scope, &outcome).await }
                },
            ));
        }
        Response::from_parts(parts, Body::from_vec(body))
    });
    handled.await.map_err(|e| ApiError::internal(anyhow::anyhow!("idempotent request task: {e}")))
}

/// Runs `attempt` until MySQL takes it (it failed just now: the database is down, often the
/// very cause of the failure), for as long as a claim's lease. Until an outcome is kept,
/// repeats are told the key is in use; after the lease a repeat runs the request again.
async fn until_mysql_takes_it<F, Fut>(gave_up: &'static str, mut attempt: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), DbError>>,
{
    let deadline = tokio::time::Instant::now() + idempotency::LEASE;
    while tokio::time::Instant::now() < deadline {
        tokio::time::sleep(RETRY_EVERY).await;
        if attempt().await.is_ok() {
            return;
        }
    }
    tracing::error!("{gave_up}");
}

const RETRY_EVERY: std::time::Duration = std::time::Duration::from_millis(500);

/// The caller a key belongs to: the user of a valid access token, else the client address.
fn owner(state: &AppState, request: &Request) -> KeyOwner {
    raw_token(request, false)
        .and_then(|token| state.sessions.token_subject(&token.value))
        .map_or_else(
            || KeyOwner::Address(client_address(request, &state.settings.trusted_proxies)),
            KeyOwner::User,
        )
}

fn multipart_boundary(request: &Request) -> Option<String> {
    let mime: mime::Mime = request.content_type()?.parse().ok()?;
    (mime.type_() == mime::MULTIPART)
        .then(|| mime.get_param(mime::BOUNDARY).map(|b| b.as_str().to_owned()))
        .flatten()
}

fn text_header(headers: &poem::http::HeaderMap, name: header::HeaderName) -> Option<String> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

fn replay(outcome: Outcome) -> Response {
    let mut response = Response::builder()
        .status(StatusCode::from_u16(outcome.status).unwrap_or(StatusCode::OK))
        .header(REPLAYED, "true");
    if let Some(content_type) = &outcome.content_type {
        response = response.header(header::CONTENT_TYPE, content_type.as_str());
    }
    if let Some(location) = &outcome.location {
        response = response.header(header::LOCATION, location.as_str());
    }
    response.body(outcome.body)
}
