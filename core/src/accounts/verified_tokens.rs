//! Access tokens this instance has verified. A client sends the same access token with each
//! request until it expires, and checking its signature, decoding its two base64 parts and
//! parsing their JSON again for every request was a twentieth of the API's CPU under task
//! creates. A token's claims never change (they are what its signature covers), so the
//! claims of a token that verified once are kept under the whole token, and only its expiry
//! is checked again at each use. Tokens that fail are not kept: a forged one costs a full
//! check each time, as before.

use std::time::Duration;

use chrono::Utc;
use dispatch_shared::auth::{Claims, TokenError, TokenKind, TokenService};
use moka::sync::Cache;

/// How many access tokens an instance keeps. A user signed in on a few devices holds a few;
/// a token past its lifetime leaves on its own.
const KEPT_TOKENS: u64 = 10_000;

#[derive(Clone)]
pub struct VerifiedTokens {
    tokens: TokenService,
    verified: Cache<Box<str>, Claims>,
}

impl VerifiedTokens {
    pub fn new(tokens: TokenService) -> Self {
        let verified = Cache::builder()
            .max_capacity(KEPT_TOKENS)
            // No entry outlives the token's own lifetime (its `exp` is issued-at plus this).
            .time_to_live(tokens.access_ttl().max(Duration::from_secs(1)))
            .build();
        Self { tokens, verified }
    }

    /// The claims of an access token: kept from an earlier check, or checked now. Expiry is
    /// judged as jsonwebtoken judges it, without leeway: expired once `exp` is in the past.
    pub fn access_claims(&self, token: &str) -> Result<Claims, TokenError> {
        if let Some(claims) = self.verified.get(token) {
            if claims.exp < Utc::now().timestamp() {
                self.verified.invalidate(token);
                return Err(TokenError::Expired);
            }
            return Ok(claims);
        }
        let claims = self.tokens.decode_kind(token, TokenKind::Access)?;
        self.verified.insert(token.into(), claims.clone());
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dispatch_shared::config::Settings;
    use uuid::Uuid;

    fn service(access: Duration) -> TokenService {
        let settings = Settings::from_source(&|_: &str| None).expect("default settings");
        TokenService::new(&settings.jwt_secret, access, Duration::from_secs(60))
    }

    #[test]
    fn a_kept_token_gives_the_claims_it_was_issued_with() {
        let tokens = service(Duration::from_secs(60));
        let verified = VerifiedTokens::new(tokens.clone());
        let user = Uuid::new_v4();
        let issued = tokens.issue_access(user, 7).expect("issued");
        let first = verified.access_claims(&issued.token).expect("verified");
        let again = verified.access_claims(&issued.token).expect("kept");
        assert_eq!((first.sub, first.ver, first.jti), (user, 7, issued.claims.jti));
        assert_eq!((again.sub, again.ver, again.jti), (user, 7, issued.claims.jti));
        assert_eq!(verified.verified.get(issued.token.as_str()).map(|c| c.jti), Some(first.jti));
    }

    #[test]
    fn what_fails_is_refused_each_time_and_never_kept() {
        let tokens = service(Duration::from_secs(60));
        let verified = VerifiedTokens::new(tokens.clone());
        let forged = service(Duration::from_secs(60));
        // Another instance's secret: the default settings draw a random one each time.
        let foreign = forged.issue_access(Uuid::new_v4(), 0).expect("issued").token;
        let refresh = tokens.issue_refresh(Uuid::new_v4(), 0, Uuid::new_v4()).expect("issued");
        let mut tampered = tokens.issue_access(Uuid::new_v4(), 0).expect("issued").token;
        tampered.push('x');
        for _ in 0..2 {
            assert_eq!(verified.access_claims(&foreign).unwrap_err(), TokenError::Invalid);
            assert_eq!(verified.access_claims(&refresh.token).unwrap_err(), TokenError::WrongKind);
            assert_eq!(verified.access_claims(&tampered).unwrap_err(), TokenError::Invalid);
        }
        verified.verified.run_pending_tasks();
        assert_eq!(verified.verified.entry_count(), 0);
    }

    #[test]
    fn a_kept_token_expires_when_its_claims_say() {
        let tokens = service(Duration::from_secs(60));
        let verified = VerifiedTokens::new(tokens.clone());
        let issued = tokens.issue_access(Uuid::new_v4(), 0).expect("issued");
        verified.access_claims(&issued.token).expect("verified");
        // The kept claims say the token expired a second ago (as if its minute had passed).
        let mut lapsed = issued.claims.clone();
        lapsed.exp = Utc::now().timestamp() - 1;
        verified.verified.insert(issued.token.as_str().into(), lapsed);
        assert_eq!(verified.access_claims(&issued.token).unwrap_err(), TokenError::Expired);
        assert_eq!(verified.verified.get(issued.token.as_str()).map(|c| c.jti), None);
    }
}
