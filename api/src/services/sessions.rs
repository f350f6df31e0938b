//! Token pairs and refresh-token families: a login starts a family, each refresh rotates
//! within it, and replaying a rotated token revokes the whole family.

use diesel_async::{AsyncConnection, AsyncMysqlConnection};
use dispatch_shared::auth::{TokenError, TokenKind};
use dispatch_shared::models::{now_naive, UserRow};
use dispatch_shared::repo::{refresh_tokens, users};
use uuid::Uuid;

use crate::error::ApiError;
use crate::schemas::Tokens;
use crate::state::AppState;

async fn issue_pair(
    state: &AppState,
    conn: &mut AsyncMysqlConnection,
    user_id: Uuid,
    version: u32,
    family: Uuid,
) -> Result<Tokens, ApiError> {
    let access = state
        .tokens
        .issue_access(user_id, version)
        .map_err(ApiError::internal)?;
    let refresh = state
        .tokens
        .issue_refresh(user_id, version, family)
        .map_err(ApiError::internal)?;
    let expires_at = now_naive()
        + chrono::Duration::from_std(state.tokens.refresh_ttl()).map_err(ApiError::internal)?;
    refresh_tokens::insert(conn, refresh.claims.jti, family, user_id, expires_at).await?;
    Ok(Tokens {
        access: access.token,
        refresh: refresh.token,
    })
}

/// A new login: a new family. Returns the tokens and the user as it now stands.
pub async fn start(state: &AppState, user: &UserRow) -> Result<(Tokens, UserRow), ApiError> {
    let mut conn = state.db.get().await?;
    let tokens = issue_pair(
        state,
        &mut conn,
        user.uuid(),
        user.token_version,
        Uuid::new_v4(),
    )
    .await?;
    let at = users::touch_last_login(&mut conn, user.uuid()).await?;
    let mut user = user.clone();
    user.last_login = Some(at);
    Ok((tokens, user))
}

fn invalid_refresh() -> ApiError {
    ApiError::Unauthorized("The refresh token is invalid, expired or revoked.".into())
}

pub async fn refresh(state: &AppState, token: &str) -> Result<Tokens, ApiError> {
    let claims = state
        .tokens
        .decode_kind(token, TokenKind::Refresh)
        .map_err(|_| invalid_refresh())?;
    let family = claims.fam.ok_or_else(invalid_refresh)?;
    let mut conn = state.db.get().await?;
    let row = refresh_tokens::find(&mut conn, claims.jti)
        .await?
        .ok_or_else(invalid_refresh)?;
    if row.revoked_at.is_some() {
        return Err(invalid_refresh());
    }
    // Marking the old token and inserting its successor commit together. A concurrent
    // refresh of the same token waits on the row lock until then, finds it rotated, and its
    // family revocation below therefore covers the successor too.
    let outcome = conn
        .transaction(async |conn| -> Result<Rotation, ApiError> {
            if !refresh_tokens::mark_rotated(conn, claims.jti).await? {
                return Ok(Rotation::Reused);
            }
            match users::find(conn, claims.sub).await? {
                Some(u) if u.is_active && u.token_version == claims.ver => Ok(Rotation::Issued(
                    issue_pair(state, conn, claims.sub, u.token_version, family).await?,
                )),
                _ => Ok(Rotation::Refused),
            }
        })
        .await?;
    match outcome {
        Rotation::Issued(tokens) => Ok(tokens),
        Rotation::Refused => Err(invalid_refresh()),
        Rotation::Reused => {
            // Presented after it was rotated: someone replays an old token. End that login.
            let revoked = refresh_tokens::revoke_family(&mut conn, family).await?;
            tracing::warn!(user_id = %claims.sub, %family, revoked, "refresh token reuse; family revoked");
            Err(invalid_refresh())
        }
    }
}

enum Rotation {
    Issued(Tokens),
    Reused,
    Refused,
}

/// Revokes one refresh token's family (it must belong to `user_id`) or all of the user's.
pub async fn logout(
    state: &AppState,
    user_id: Uuid,
    refresh: Option<&str>,
    all: bool,
) -> Result<(), ApiError> {
    let mut conn = state.db.get().await?;
    if all {
        refresh_tokens::revoke_all_for_user(&mut conn, user_id).await?;
        return Ok(());
    }
    let Some(token) = refresh else {
        return Err(ApiError::field(
            "refresh",
            "Give the refresh token to revoke, or {\"all\": true}.",
        ));
    };
    let claims = match state.tokens.decode_kind(token, TokenKind::Refresh) {
        Ok(c) if c.sub == user_id => c,
        Ok(_) | Err(TokenError::Invalid | TokenError::WrongKind) => {
            return Err(ApiError::field(
                "refresh",
                "Not a valid refresh token of this account.",
            ))
        }
        // An expired token needs no revoking.
        Err(TokenError::Expired) => return Ok(()),
    };
    if let Some(family) = claims.fam {
        refresh_tokens::revoke_family(&mut conn, family).await?;
    }
    Ok(())
}

/// Whether `token` (access or refresh) is genuine, unexpired, of an active user and, for a
/// refresh token, neither rotated nor revoked.
pub async fn verify(state: &AppState, token: &str) -> Result<(), ApiError> {
    let invalid = || ApiError::Unauthorized("Token is invalid or expired.".into());
    let claims = state.tokens.decode(token).map_err(|_| invalid())?;
    let user = state.users.get(claims.sub).await?;
    if !user.is_some_and(|u| u.is_active && u.token_version == claims.ver) {
        return Err(invalid());
    }
    if claims.typ == TokenKind::Refresh {
        let mut conn = state.db.get().await?;
        let row = refresh_tokens::find(&mut conn, claims.jti).await?;
        if !row.is_some_and(|r| r.rotated_at.is_none() && r.revoked_at.is_none()) {
            return Err(invalid());
        }
    }
    Ok(())
}
