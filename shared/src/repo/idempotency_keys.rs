use diesel::prelude::*;
use diesel_async::{AsyncMysqlConnection, RunQueryDsl};

use crate::db::schema::idempotency_keys::dsl;
use crate::models::now_naive;

type Conn = AsyncMysqlConnection;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = crate::db::schema::idempotency_keys)]
pub struct IdempotencyRow {
    pub scope: Vec<u8>,
    pub request_hash: Vec<u8>,
    pub status: Option<u16>,
    pub content_type: Option<String>,
    pub location: Option<String>,
    pub body: Option<Vec<u8>>,
    pub locked_until: chrono::NaiveDateTime,
    pub expires_at: chrono::NaiveDateTime,
}

/// Inserts the claim; `false` when a row for its scope exists already.
pub async fn insert(conn: &mut Conn, row: &IdempotencyRow) -> QueryResult<bool> {
    match diesel::insert_into(dsl::idempotency_keys).values(row).execute(conn).await {
        Ok(_) => Ok(true),
        Err(e) if crate::db::is_unique_violation(&e).is_some() => Ok(false),
        Err(e) => Err(e),
    }
}

pub async fn find(conn: &mut Conn, scope: &[u8]) -> QueryResult<Option<IdempotencyRow>> {
    dsl::idempotency_keys
        .find(scope)
        .select(IdempotencyRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// Takes over a claim whose holder's lease ran out, or a row that has expired, if it still
/// is so (another repeat may have taken it meanwhile): whether this caller now holds it.
pub async fn take_over(conn: &mut Conn, row: &IdempotencyRow) -> QueryResult<bool> {
    let now = now_naive();
    let lapsed = dsl::expires_at.lt(now).or(dsl::status.is_null().and(dsl::locked_until.lt(now)));
    let taken = diesel::update(dsl::idempotency_keys.find(&row.scope).filter(lapsed))
        .set((
            dsl::request_hash.eq(&row.request_hash),
            dsl::status.eq(None::<u16>),
            dsl::content_type.eq(None::<String>),
            dsl::location.eq(None::<String>),
            dsl::body.eq(None::<Vec<u8>>),
            dsl::locked_until.eq(row.locked_until),
            dsl::expires_at.eq(row.expires_at),
        ))
        .execute(conn)
        .await?;
    Ok(taken == 1)
}

/// Stores the outcome of the claim this caller holds.
pub async fn complete(
    conn: &mut Conn,
    scope: &[u8],
    status: u16,
    content_type: Option<&str>,
    location: Option<&str>,
    body: &[u8],
) -> QueryResult<()> {
    diesel::update(dsl::idempotency_keys.find(scope))
        .set((
            dsl::status.eq(Some(status)),
            dsl::content_type.eq(content_type),
            dsl::location.eq(location),
            dsl::body.eq(Some(body)),
        ))
        .execute(conn)
        .await
        .map(|_| ())
}

/// Gives the key back: the request ended without an outcome worth keeping.
pub async fn release(conn: &mut Conn, scope: &[u8]) -> QueryResult<()> {
    diesel::delete(dsl::idempotency_keys.find(scope).filter(dsl::status.is_null()))
        .execute(conn)
        .await
        .map(|_| ())
}

/// Gives back the unanswered claim whose lease ends at `locked_until` (the one a caller
/// wrote), and no other.
pub async fn release_claim(
    conn: &mut Conn,
    scope: &[u8],
    locked_until: chrono::NaiveDateTime,
) -> QueryResult<()> {
    diesel::delete(
        dsl::idempotency_keys
            .find(scope)
            .filter(dsl::status.is_null())
            .filter(dsl::locked_until.eq(locked_until)),
    )
    .execute(conn)
    .await
    .map(|_| ())
}

/// Removes outcomes kept past their 24 h.
pub async fn purge_expired(conn: &mut Conn) -> QueryResult<usize> {
    diesel::delete(dsl::idempotency_keys.filter(dsl::expires_at.lt(now_naive())))
        .execute(conn)
        .await
}
