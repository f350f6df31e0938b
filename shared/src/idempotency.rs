//! Idempotent retries of creating requests (the `Idempotency-Key` header, as in the IETF
//! httpapi draft and Stripe's API). The first request's outcome is kept for 24 h under its
//! scope: the caller (a user, or the client address when anonymous), the method, the path
//! and the key. A repeat with the same body gets that outcome again and creates nothing;
//! with another body it is refused; while the first is still being handled, it is told so.
//!
//! The claim is a row inserted before the request is handled, so concurrent repeats race on
//! its primary key and exactly one proceeds. A claim whose holder died with its process is
//! taken over once its lease has run out.

use std::net::IpAddr;
use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::db::{DbError, DbPool};
use crate::models::now_naive;
use crate::repo::idempotency_keys::{self as repo, IdempotencyRow};

/// How long an outcome is answered again.
pub const KEEP_FOR: Duration = Duration::from_secs(24 * 3600);
/// How long a claim holds without an outcome before a repeat may take it over. Longer than
/// any request runs (a `Prefer: wait` holds at most 30 s).
pub const LEASE: Duration = Duration::from_secs(60);

/// A client's key: 1–255 printable ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("an Idempotency-Key is 1 to 255 printable ASCII characters")]
pub struct InvalidKey;

impl IdempotencyKey {
    pub fn parse(raw: &str) -> Result<Self, InvalidKey> {
        let printable = raw.bytes().all(|b| (0x20..=0x7e).contains(&b));
        if raw.is_empty() || raw.len() > 255 || !printable {
            return Err(InvalidKey);
        }
        Ok(Self(raw.to_owned()))
    }
}

/// Whose key it is: keys of different callers never meet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyOwner {
    User(Uuid),
    Address(IpAddr),
}

/// Where a key's outcome is kept: a digest of its owner, method, path and key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope([u8; 32]);

impl Scope {
    pub fn new(owner: KeyOwner, method: &str, path: &str, key: &IdempotencyKey) -> Self {
        let owner = match owner {
            KeyOwner::User(id) => format!("user:{id}"),
            KeyOwner::Address(ip) => format!("address:{ip}"),
        };
        // The path without its trailing slash: both spellings are one resource.
        let path = path.trim_end_matches('/');
        let mut digest = Sha256::new();
        for part in [owner.as_str(), method, path, key.0.as_str()] {
            digest.update((part.len() as u64).to_be_bytes());
            digest.update(part.as_bytes());
        }
        Self(digest.finalize().into())
    }

    /// The id of the job a request in this scope with this body enqueues, the same for every
    /// repeat: a repeat of a request whose answer was lost after its job was stored (the
    /// database went away before the answer) finds that job instead of storing a second.
    /// Another body under the same key once its outcome has expired is another request, so
    /// the body is part of it. Keyed with the server's secret: the id of an ownerless job is
    /// what lets one read it, so it must not follow from the key.
    pub fn job_id(&self, body: &Fingerprint, secret: &[u8]) -> Uuid {
        let mut mac = Fingerprint::mac(secret);
        mac.update(b"job id:");
        mac.update(&self.0);
        mac.update(&body.0);
        let digest: [u8; 32] = mac.finalize().into_bytes().into();
        let mut random = [0u8; 16];
        random.copy_from_slice(&digest[..16]);
        uuid::Builder::from_random_bytes(random).into_uuid()
    }
}

/// A keyed digest (HMAC-SHA-256 under the server's secret) of a request's body: a repeat
/// must send the same bytes. Keyed because a registration's body holds a password: a plain
/// hash of it would be a fast, unsalted hash of the password at rest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint([u8; 32]);

type BodyMac = Hmac<Sha256>;

impl Fingerprint {
    pub fn of(secret: &[u8], body: &[u8]) -> Self {
        let mut mac = Self::mac(secret);
        mac.update(body);
        Self(mac.finalize().into_bytes().into())
    }

    /// A multipart body's digest without its boundary, which a client picks anew for each
    /// request it builds: a retry that rebuilds its form still sends the same request.
    pub fn of_multipart(secret: &[u8], body: &[u8], boundary: &str) -> Self {
        let boundary = boundary.as_bytes();
        let mut mac = Self::mac(secret);
        let mut rest = body;
        while let Some(at) = find(rest, boundary) {
            mac.update(&rest[..at]);
            rest = &rest[at + boundary.len()..];
        }
        mac.update(rest);
        Self(mac.finalize().into_bytes().into())
    }

    fn mac(secret: &[u8]) -> BodyMac {
        // HMAC takes a key of any length; the error case cannot happen.
        <BodyMac as Mac>::new_from_slice(secret).unwrap_or_else(|_| unreachable!())
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A response as it is kept and answered again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub status: u16,
    pub content_type: Option<String>,
    pub location: Option<String>,
    pub body: Vec<u8>,
}

impl Outcome {
    /// Whether a repeat should get this answer. A server error, an unavailable dependency
    /// or a throttle says nothing about the request: a repeat runs it again.
    pub fn is_kept(&self) -> bool {
        self.status < 500 && self.status != 429
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Begin {
    /// This request holds the key: handle it, then `finish`.
    Proceed,
    /// The first request's outcome, to answer again.
    Replay(Outcome),
    /// The first request is still being handled.
    InUse,
    /// The key was used with another body.
    Reused,
}

/// A claim `begin` may have stored before MySQL failed it (the insert committed, its answer
/// lost): left alone, it would hold the key until its lease ran out, and every repeat would
/// be told the key is in use. Told apart from a repeat's claim by its lease's end.
#[derive(Debug, Clone)]
pub struct UnsettledClaim {
    scope: Scope,
    locked_until: chrono::NaiveDateTime,
}

impl UnsettledClaim {
    /// When the claim's lease ends: what tells it apart from a repeat's claim.
    pub fn lease_ends(&self) -> chrono::NaiveDateTime {
        self.locked_until
    }
}

/// `begin` failed: the database's error, and the claim it may have left.
#[derive(Debug)]
pub struct BeginFailed {
    pub error: DbError,
    pub claim: UnsettledClaim,
}

/// Claims `scope` for a request whose body is `fingerprint`, or says why it may not proceed.
pub async fn begin(
    pool: &DbPool,
    scope: &Scope,
    fingerprint: &Fingerprint,
) -> Result<Begin, BeginFailed> {
    let claim = claim_row(scope, fingerprint);
    let locked_until = claim.locked_until;
    claim_or_say_why(pool, scope, claim).await.map_err(|error| BeginFailed {
        error,
        claim: UnsettledClaim { scope: scope.clone(), locked_until },
    })
}

/// Gives back the claim a failed `begin` may have stored, if it is there and still
/// unanswered; another request's claim stays.
pub async fn give_back(pool: &DbPool, claim: &UnsettledClaim) -> Result<(), DbError> {
    let mut conn = pool.get().await?;
    repo::release_claim(&mut conn, &claim.scope.0, claim.locked_until).await?;
    Ok(())
}

fn claim_row(scope: &Scope, fingerprint: &Fingerprint) -> IdempotencyRow {
    let now = now_naive();
    IdempotencyRow {
        scope: scope.0.to_vec(),
        request_hash: fingerprint.0.to_vec(),
        status: None,
        content_type: None,
        location: None,
        body: None,
        locked_until: now + chrono::Duration::from_std(LEASE).unwrap_or_default(),
        expires_at: now + chrono::Duration::from_std(KEEP_FOR).unwrap_or_default(),
    }
}

async fn claim_or_say_why(
    pool: &DbPool,
    scope: &Scope,
    claim: IdempotencyRow,
) -> Result<Begin, DbError> {
    let mut conn = pool.get().await?;
    // A row may vanish (purged, released) or be taken over between two statements: look
    // again, a few times at most.
    for _ in 0..3 {
        if repo::insert(&mut conn, &claim).await? {
            return Ok(Begin::Proceed);
        }
        let Some(existing) = repo::find(&mut conn, &scope.0).await? else {
            continue;
        };
        let now = now_naive();
        let expired = existing.expires_at < now;
        if !expired && existing.request_hash != claim.request_hash {
            return Ok(Begin::Reused);
        }
        match (&existing.status, existing.body) {
            (Some(status), Some(body)) if !expired => {
                return Ok(Begin::Replay(Outcome {
                    status: *status,
                    content_type: existing.content_type,
                    location: existing.location,
                    body,
                }));
            }
            (None, _) if !expired && existing.locked_until >= now => return Ok(Begin::InUse),
            _ => {
                if repo::take_over(&mut conn, &claim).await? {
                    return Ok(Begin::Proceed);
                }
            }
        }
    }
    Ok(Begin::InUse)
}

/// Keeps `outcome` for repeats, or gives the key back when it is not worth keeping.
pub async fn finish(pool: &DbPool, scope: &Scope, outcome: &Outcome) -> Result<(), DbError> {
    let mut conn = pool.get().await?;
    if outcome.is_kept() {
        repo::complete(
            &mut conn,
            &scope.0,
            outcome.status,
            outcome.content_type.as_deref(),
            outcome.location.as_deref(),
            &outcome.body,
        )
        .await?;
    } else {
        repo::release(&mut conn, &scope.0).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_one_to_255_printable_ascii_characters() {
        assert!(IdempotencyKey::parse("a").is_ok());
        assert!(IdempotencyKey::parse("order 42/retry-1").is_ok());
        assert!(IdempotencyKey::parse(&"k".repeat(255)).is_ok());
        assert_eq!(IdempotencyKey::parse(""), Err(InvalidKey));
        assert_eq!(IdempotencyKey::parse(&"k".repeat(256)), Err(InvalidKey));
        assert_eq!(IdempotencyKey::parse("tab\there"), Err(InvalidKey));
        assert_eq!(IdempotencyKey::parse("clé"), Err(InvalidKey));
    }

    #[test]
    fn a_scope_is_the_owner_method_path_and_key() {
        let key = IdempotencyKey::parse("k1").unwrap();
        let user = KeyOwner::User(Uuid::new_v4());
        let base = Scope::new(user, "POST", "/api/v1/tasks/", &key);
        assert_eq!(base, Scope::new(user, "POST", "/api/v1/tasks", &key));
        assert_ne!(base, Scope::new(KeyOwner::User(Uuid::new_v4()), "POST", "/api/v1/tasks", &key));
        assert_ne!(base, Scope::new(user, "POST", "/api/v1/categories", &key));
        let other = IdempotencyKey::parse("k2").unwrap();
        assert_ne!(base, Scope::new(user, "POST", "/api/v1/tasks", &other));
    }

    #[test]
    fn multipart_bodies_compare_without_their_boundary() {
        let form = |b: &str| {
            format!(
                "--{b}\r\nContent-Disposition: form-data; name=\"image\"\r\n\r\nxyz\r\n--{b}--\r\n"
            )
        };
        let secret = b"server secret";
        let first = Fingerprint::of_multipart(secret, form("aaaa1111").as_bytes(), "aaaa1111");
        let rebuilt = Fingerprint::of_multipart(secret, form("bbbb2222").as_bytes(), "bbbb2222");
        assert_eq!(first, rebuilt);
        let other = form("cccc").replace("xyz", "xyw");
        assert_ne!(first, Fingerprint::of_multipart(secret, other.as_bytes(), "cccc"));
        let elsewhere =
            Fingerprint::of_multipart(b"another", form("aaaa1111").as_bytes(), "aaaa1111");
        assert_ne!(first, elsewhere, "the digest depends on the server's secret");
    }

    #[test]
    fn server_errors_and_throttles_are_not_kept() {
        let outcome =
            |status| Outcome { status, content_type: None, location: None, body: Vec::new() };
        assert!(outcome(201).is_kept());
        assert!(outcome(409).is_kept());
        assert!(!outcome(429).is_kept());
        assert!(!outcome(503).is_kept());
    }
}
