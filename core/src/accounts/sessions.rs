//! Token pairs and refresh-token families: a login starts a family, each refresh rotates
//! within it, and replaying a rotated token revokes the whole family.

use std::net::IpAddr;

use diesel_async::{AsyncConnection, AsyncMysqlConnection};
use dispatch_shared::auth::{verify_password, Claims, TokenError, TokenKind, TokenService};
use dispatch_shared::db::DbPool;
use dispatch_shared::domain::ValidationErrors;
use dispatch_shared::jobs::register_user::FirstSession;
use dispatch_shared::models::{now_naive, UserRow, UserView};
use dispatch_shared::repo::{refresh_tokens, users};
use uuid::Uuid;

use super::throttle::{account_key, LoginThrottle};
use super::verified_tokens::VerifiedTokens;
use super::AccountError;
use crate::reads::users::UserCache;
use crate::{Caller, Failure};

/// An access token and the refresh token of its family.
#[derive(Debug, Clone)]
pub struct TokenPair {
    pub access: String,
    pub refresh: String,
}

/// A signed-in user: the tokens, and the account as it stands after the login.
#[derive(Debug, Clone)]
pub struct Session {
    pub tokens: TokenPair,
    pub user: UserView,
}

/// Why a request's access token does not authenticate it.
#[derive(Debug, Clone, Copy, thiserror::Error)]
pub enum Unauthenticated {
    #[error("The access token has expired.")]
    Expired,
    #[error("An access token is required, not a refresh token.")]
    NotAnAccessToken,
    #[error("The access token is not valid.")]
    Invalid,
    #[error("The account is inactive or the token was revoked.")]
    Revoked,
}

#[derive(Clone)]
pub struct Sessions {
    db: DbPool,
    tokens: TokenService,
    verified: VerifiedTokens,
    users: UserCache,
    throttle: LoginThrottle,
    default_daily_limit: u32,
}

impl Sessions {
    pub fn new(
        db: DbPool,
        tokens: TokenService,
        users: UserCache,
        throttle: LoginThrottle,
        default_daily_limit: u32,
    ) -> Self {
        let verified = VerifiedTokens::new(tokens.clone());
        Self { db, tokens, verified, users, throttle, default_daily_limit }
    }

    async fn issue_pair(
        &self,
        conn: &mut AsyncMysqlConnection,
        user_id: Uuid,
        version: u32,
        family: Uuid,
    ) -> Result<TokenPair, AccountError> {
        let access = self.tokens.issue_access(user_id, version).map_err(Failure::internal)?;
        let refresh =
            self.tokens.issue_refresh(user_id, version, family).map_err(Failure::internal)?;
        let expires_at = now_naive()
            + chrono::Duration::from_std(self.tokens.refresh_ttl()).map_err(Failure::internal)?;
        refresh_tokens::insert(conn, refresh.claims.jti, family, user_id, expires_at).await?;
        Ok(TokenPair { access: access.token, refresh: refresh.token })
    }

    /// Who an access token speaks for: an active user whose tokens have not been revoked
    /// since it was issued. The claims say until when (a socket ends with its token).
    pub async fn authenticate(&self, token: &str) -> Result<(Caller, Claims), AccountError> {
        let claims = self.verified.access_claims(token).map_err(|e| match e {
            TokenError::Expired => Unauthenticated::Expired,
            TokenError::WrongKind => Unauthenticated::NotAnAccessToken,
            TokenError::Invalid => Unauthenticated::Invalid,
        })?;
        match self.users.get(claims.sub).await? {
            Some(user) if user.is_active && user.token_version == claims.ver => {
                let caller = Caller { id: claims.sub, is_admin: user.is_superuser };
                Ok((caller, claims))
            }
            _ => Err(Unauthenticated::Revoked.into()),
        }
    }

    /// Whether a socket's token still speaks for an active user. When MySQL cannot tell, it
    /// does: the token's own expiry still bounds the socket.
    pub async fn still_valid(&self, claims: &Claims) -> bool {
        match self.users.get(claims.sub).await {
            Ok(Some(user)) => user.is_active && user.token_version == claims.ver,
            Ok(None) => false,
            Err(_) => true,
        }
    }

    /// Whose access token this is, by its signature alone (no account check): for keys
    /// that only need an owner, such as idempotency keys.
    pub fn token_subject(&self, token: &str) -> Option<Uuid> {
        self.verified.access_claims(token).ok().map(|claims| claims.sub)
    }

    /// How long an access token lives.
    pub fn access_ttl(&self) -> std::time::Duration {
        self.tokens.access_ttl()
    }

    /// A new login of `user`: a new family.
    pub(crate) async fn start(&self, user: &UserRow) -> Result<Session, AccountError> {
        let mut conn = self.db.get().await?;
        let tokens =
            self.issue_pair(&mut conn, user.uuid(), user.token_version, Uuid::new_v4()).await?;
        let at = users::touch_last_login(&mut conn, user.uuid()).await?;
        let mut user = user.clone();
        user.last_login = Some(at);
        Ok(Session { tokens, user: user.view(self.default_daily_limit) })
    }

    /// The ids of a new user's first session, to be stored with the user.
    pub(crate) fn first_session(&self) -> Result<FirstSession, AccountError> {
        let lifetime =
            chrono::Duration::from_std(self.tokens.refresh_ttl()).map_err(Failure::internal)?;
        Ok(FirstSession {
            refresh_id: Uuid::new_v4(),
            family: Uuid::new_v4(),
            expires_at: now_naive() + lifetime,
        })
    }

    /// Tokens for the first session a registration job stored with `user`, as the job
    /// returned it: no read and no write. A user changed within the moment since (deactivated,
    /// tokens revoked) holds tokens that every request then refuses, as after any login.
    pub(crate) fn resume_first(
        &self,
        user: UserView,
        session: &FirstSession,
    ) -> Result<Session, AccountError> {
        // A new user's token version is 0.
        let access = self.tokens.issue_access(user.id, 0).map_err(Failure::internal)?;
        let refresh = self
            .tokens
            .issue_refresh_as(session.refresh_id, user.id, 0, session.family)
            .map_err(Failure::internal)?;
        Ok(Session { tokens: TokenPair { access: access.token, refresh: refresh.token }, user })
    }

    /// Checks credentials under the login throttle and starts a session. A wrong password
    /// and an unknown user get the same answer after the same work; a deactivated account
    /// with the right password is told so.
    pub async fn login(
        &self,
        login: &str,
        password: &str,
        address: IpAddr,
    ) -> Result<Session, AccountError> {
        let user = {
            let mut conn = self.db.get().await?;
            users::find_by_login(&mut conn, login).await?
        };
        let account = account_key(user.as_ref().map(UserRow::uuid), login);
        match self.throttle.blocked_for(&account, address).await {
            Ok(Some(retry_after)) => {
                return Err(super::throttle::TooManyAttempts { retry_after }.into())
            }
            Ok(None) => {}
            // Throttling must not take logins down with Redis.
            Err(e) => tracing::warn!(error = %e, "login throttle unavailable"),
        }
        let ok =
            verify_password(password.to_owned(), user.as_ref().map(|u| u.password_hash.clone()))
                .await
                .map_err(Failure::internal)?;
        match user {
            Some(user) if ok => {
                if let Err(e) = self.throttle.record_success(&account).await {
                    tracing::warn!(error = %e, "login throttle unavailable");
                }
                if user.is_active {
                    self.start(&user).await
                } else {
                    Err(AccountError::Deactivated)
                }
            }
            _ => {
                if let Err(e) = self.throttle.record_failure(&account, address).await {
                    tracing::warn!(error = %e, "login throttle unavailable");
                }
                Err(AccountError::BadCredentials)
            }
        }
    }

    pub async fn refresh(&self, token: &str) -> Result<TokenPair, AccountError> {
        let refused = || AccountError::RefreshRefused;
        let claims = self.tokens.decode_kind(token, TokenKind::Refresh).map_err(|_| refused())?;
        let family = claims.fam.ok_or_else(refused)?;
        let mut conn = self.db.get().await?;
        let row = refresh_tokens::find(&mut conn, claims.jti).await?.ok_or_else(refused)?;
        if row.revoked_at.is_some() {
            return Err(refused());
        }
        // Marking the old token and inserting its successor commit together. A concurrent
        // refresh of the same token waits on the row lock until then, finds it rotated, and its
        // family revocation below therefore covers the successor too.
        let outcome = conn
            .transaction(async |conn| -> Result<Rotation, AccountError> {
                if !refresh_tokens::mark_rotated(conn, claims.jti).await? {
                    return Ok(Rotation::Reused);
                }
                match users::find(conn, claims.sub).await? {
                    Some(u) if u.is_active && u.token_version == claims.ver => {
                        Ok(Rotation::Issued(
                            self.issue_pair(conn, claims.sub, u.token_version, family).await?,
                        ))
                    }
                    _ => Ok(Rotation::Refused),
                }
            })
            .await?;
        match outcome {
            Rotation::Issued(tokens) => Ok(tokens),
            Rotation::Refused => Err(refused()),
            Rotation::Reused => {
                // Presented after it was rotated: someone replays an old token. End that login.
                let revoked = refresh_tokens::revoke_family(&mut conn, family).await?;
                tracing::warn!(user_id = %claims.sub, %family, revoked, "refresh token reuse; family revoked");
                Err(refused())
            }
        }
    }

    /// Revokes one refresh token's family (it must belong to the caller) or all of the
    /// caller's.
    pub async fn logout(
        &self,
        caller: &Caller,
        refresh: Option<&str>,
        all: bool,
    ) -> Result<(), AccountError> {
        let mut conn = self.db.get().await?;
        if all {
            refresh_tokens::revoke_all_for_user(&mut conn, caller.id).await?;
            return Ok(());
        }
        let Some(token) = refresh else {
            return Err(ValidationErrors::single(
                "refresh",
                "Give the refresh token to revoke, or {\"all\": true}.",
            )
            .into());
        };
        let claims = match self.tokens.decode_kind(token, TokenKind::Refresh) {
            Ok(c) if c.sub == caller.id => c,
            Ok(_) | Err(TokenError::Invalid | TokenError::WrongKind) => {
                return Err(ValidationErrors::single(
                    "refresh",
                    "Not a valid refresh token of this account.",
                )
                .into())
            }
            // An expired token needs no revoking.
            Err(TokenError::Expired) => return Ok(()),
        };
        if let Some(family) = claims.fam {
            refresh_tokens::revoke_family(&mut conn, family).await?;
        }
        Ok(())
    }

    /// Whether `token` (access or refresh) is genuine, unexpired, of an active user and, for
    /// a refresh token, neither rotated nor revoked.
    pub async fn verify(&self, token: &str) -> Result<(), AccountError> {
        let refused = || AccountError::TokenRefused;
        let claims = self.tokens.decode(token).map_err(|_| refused())?;
        let user = self.users.get(claims.sub).await?;
        if !user.is_some_and(|u| u.is_active && u.token_version == claims.ver) {
            return Err(refused());
        }
        if claims.typ == TokenKind::Refresh {
            let mut conn = self.db.get().await?;
            let row = refresh_tokens::find(&mut conn, claims.jti).await?;
            if !row.is_some_and(|r| r.rotated_at.is_none() && r.revoked_at.is_none()) {
                return Err(refused());
            }
        }
        Ok(())
    }
}

enum Rotation {
    Issued(TokenPair),
    Reused,
    Refused,
}
