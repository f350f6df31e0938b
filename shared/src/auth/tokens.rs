use std::time::Duration;

use chrono::Utc;
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::config::JwtSecret;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenKind {
    Access,
    Refresh,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: Uuid,
    pub exp: i64,
    pub iat: i64,
    pub jti: Uuid,
    pub typ: TokenKind,
    /// The user's token version when issued; bumping it invalidates every token.
    pub ver: u32,
    /// The refresh-token family (one per login), on refresh tokens only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fam: Option<Uuid>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid")]
    Invalid,
    #[error("the token is of the wrong kind")]
    WrongKind,
}

#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub token: String,
    pub claims: Claims,
}

#[derive(Clone)]
pub struct TokenService {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    access_ttl: Duration,
    refresh_ttl: Duration,
}

impl TokenService {
    pub fn new(secret: &JwtSecret, access_ttl: Duration, refresh_ttl: Duration) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub"]);
        Self {
            encoding: EncodingKey::from_secret(secret.bytes()),
            decoding: DecodingKey::from_secret(secret.bytes()),
            validation,
            access_ttl,
            refresh_ttl,
        }
    }

    pub fn refresh_ttl(&self) -> Duration {
        self.refresh_ttl
    }

    pub fn access_ttl(&self) -> Duration {
        self.access_ttl
    }

    fn issue(&self, claims: Claims) -> Result<IssuedToken, TokenError> {
        let token = encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|_| TokenError::Invalid)?;
        Ok(IssuedToken { token, claims })
    }

    fn claims(&self, user_id: Uuid, version: u32, kind: TokenKind, fam: Option<Uuid>) -> Claims {
        let now = Utc::now().timestamp();
        let ttl = match kind {
            TokenKind::Access => self.access_ttl,
            TokenKind::Refresh => self.refresh_ttl,
        };
        Claims {
            sub: user_id,
            iat: now,
            exp: now + ttl.as_secs() as i64,
            jti: Uuid::new_v4(),
            typ: kind,
            ver: version,
            fam,
        }
    }

    pub fn issue_access(&self, user_id: Uuid, version: u32) -> Result<IssuedToken, TokenError> {
        self.issue(self.claims(user_id, version, TokenKind::Access, None))
    }

    pub fn issue_refresh(
        &self,
        user_id: Uuid,
        version: u32,
        family: Uuid,
    ) -> Result<IssuedToken, TokenError> {
        self.issue(self.claims(user_id, version, TokenKind::Refresh, Some(family)))
    }

    /// A refresh token for a row stored beforehand under `id` (a registration's first
    /// session, written by its job).
    pub fn issue_refresh_as(
        &self,
        id: Uuid,
        user_id: Uuid,
        version: u32,
        family: Uuid,
    ) -> Result<IssuedToken, TokenError> {
        let claims =
            Claims { jti: id, ..self.claims(user_id, version, TokenKind::Refresh, Some(family)) };
        self.issue(claims)
    }

    pub fn decode(&self, token: &str) -> Result<Claims, TokenError> {
        decode::<Claims>(token, &self.decoding, &self.validation).map(|data| data.claims).map_err(
            |e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Invalid,
            },
        )
    }

    pub fn decode_kind(&self, token: &str, kind: TokenKind) -> Result<Claims, TokenError> {
        let claims = self.decode(token)?;
        if claims.typ != kind {
            return Err(TokenError::WrongKind);
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;

    fn service(access: Duration) -> TokenService {
        let settings = Settings::from_source(&|_: &str| None).unwrap();
        TokenService::new(&settings.jwt_secret, access, Duration::from_secs(60))
    }

    #[test]
    fn round_trips_and_checks_kind() {
        let svc = service(Duration::from_secs(60));
        let user = Uuid::new_v4();
        let access = svc.issue_access(user, 3).unwrap();
        let claims = svc.decode_kind(&access.token, TokenKind::Access).unwrap();
        assert_eq!(claims.sub, user);
        assert_eq!(claims.ver, 3);
        assert_eq!(
            svc.decode_kind(&access.token, TokenKind::Refresh).unwrap_err(),
            TokenError::WrongKind
        );
        let refresh = svc.issue_refresh(user, 3, Uuid::new_v4()).unwrap();
        assert!(svc.decode_kind(&refresh.token, TokenKind::Refresh).is_ok());
    }

    #[test]
    fn rejects_forged_tokens() {
        let svc = service(Duration::from_secs(60));
        let other = service(Duration::from_secs(60));
        let token = other.issue_access(Uuid::new_v4(), 0).unwrap().token;
        assert_eq!(svc.decode(&token).unwrap_err(), TokenError::Invalid);
        assert_eq!(svc.decode("not.a.jwt").unwrap_err(), TokenError::Invalid);
    }
}
