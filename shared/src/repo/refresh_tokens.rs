use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::{AsyncMysqlConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::compound::Statement;
use crate::db::keep_prepared::keep_prepared;
use crate::db::schema::refresh_tokens::dsl;
use crate::models::now_naive;
use crate::repo::point_reads::{find_by_id, insert_row};

type Conn = AsyncMysqlConnection;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = crate::db::schema::refresh_tokens)]
#[diesel(check_for_backend(diesel::mysql::Mysql))]
pub struct RefreshTokenRow {
    pub id: String,
    pub family_id: String,
    pub user_id: String,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub rotated_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
}

impl RefreshTokenRow {
    /// A token of `family` for `user`, issued now.
    pub fn issued(id: Uuid, family: Uuid, user: Uuid, expires_at: NaiveDateTime) -> Self {
        Self {
            id: id.to_string(),
            family_id: family.to_string(),
            user_id: user.to_string(),
            created_at: now_naive(),
            expires_at,
            rotated_at: None,
            revoked_at: None,
        }
    }
}

pub async fn insert(
    conn: &mut Conn,
    id: Uuid,
    family: Uuid,
    user: Uuid,
    expires_at: NaiveDateTime,
) -> QueryResult<()> {
    insert_row(conn, dsl::refresh_tokens, &RefreshTokenRow::issued(id, family, user, expires_at))
        .await
}

/// Several tokens in one statement; each row count is its own prepared statement, so callers
/// keep batches small.
pub async fn insert_many(conn: &mut Conn, rows: &[RefreshTokenRow]) -> QueryResult<()> {
    inserting(rows.to_vec()).execute(conn).await.map(|_| ())
}

/// `insert_many`'s statement, unsent (a part of a `db::compound::Compound`).
pub fn inserting(rows: Vec<RefreshTokenRow>) -> Statement<'static> {
    Statement::new(keep_prepared(diesel::insert_into(dsl::refresh_tokens).values(rows)))
}

/// Deletes up to `limit` tokens past their expiry; how many went. An expired token is
/// refused by its own signature's expiry, so its row no longer decides anything.
pub async fn purge_expired(conn: &mut Conn, limit: i64) -> QueryResult<usize> {
    diesel::sql_query("DELETE FROM refresh_tokens WHERE expires_at < ? LIMIT ?")
        .bind::<diesel::sql_types::Datetime, _>(now_naive())
        .bind::<diesel::sql_types::BigInt, _>(limit)
        .execute(conn)
        .await
}

pub async fn find(conn: &mut Conn, id: Uuid) -> QueryResult<Option<RefreshTokenRow>> {
    find_by_id(conn, dsl::refresh_tokens, id).await
}

/// Marks the token rotated only if nobody else did first; false means it was already used.
pub async fn mark_rotated(conn: &mut Conn, id: Uuid) -> QueryResult<bool> {
    let updated = diesel::update(
        dsl::refresh_tokens
            .find(id.to_string())
            .filter(dsl::rotated_at.is_null())
            .filter(dsl::revoked_at.is_null()),
    )
    .set(dsl::rotated_at.eq(Some(now_naive())))
    .execute(conn)
    .await?;
    Ok(updated == 1)
}

pub async fn revoke_family(conn: &mut Conn, family: Uuid) -> QueryResult<usize> {
    diesel::update(
        dsl::refresh_tokens
            .filter(dsl::family_id.eq(family.to_string()))
            .filter(dsl::revoked_at.is_null()),
    )
    .set(dsl::revoked_at.eq(Some(now_naive())))
    .execute(conn)
    .await
}

pub async fn revoke_all_for_user(conn: &mut Conn, user: Uuid) -> QueryResult<usize> {
    diesel::update(
        dsl::refresh_tokens
            .filter(dsl::user_id.eq(user.to_string()))
            .filter(dsl::revoked_at.is_null()),
    )
    .set(dsl::revoked_at.eq(Some(now_naive())))
    .execute(conn)
    .await
}
