use diesel::prelude::*;
use diesel_async::{AsyncMysqlConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::compound::Statement;
use crate::db::keep_prepared::keep_prepared;
use crate::db::schema::users::dsl;
use crate::load_by_ids;
use crate::models::{now_naive, NewUser, UserRow};
use crate::repo::point_reads::{find_by_id, insert_row};

type Conn = AsyncMysqlConnection;

pub async fn insert(conn: &mut Conn, user: &NewUser) -> QueryResult<()> {
    insert_row(conn, dsl::users, user).await
}

/// The insert of these users as one statement, unsent (a part of a `db::compound::Compound`).
/// Each row count is its own prepared statement, so callers keep batches small.
pub fn inserting(users: Vec<NewUser>) -> Statement<'static> {
    Statement::new(keep_prepared(diesel::insert_into(dsl::users).values(users)))
}

pub async fn find(conn: &mut Conn, id: Uuid) -> QueryResult<Option<UserRow>> {
    find_by_id(conn, dsl::users, id).await
}

/// The users with these ids, in no particular order: the lookups of several requests at once
/// (the API's batched user reads).
pub async fn find_many(conn: &mut Conn, ids: &[String]) -> QueryResult<Vec<UserRow>> {
    load_by_ids!(conn, ids, dsl::users, dsl::id, UserRow)
}

/// Login accepts a username or an email; both are stored lower-case.
pub async fn find_by_login(conn: &mut Conn, login: &str) -> QueryResult<Option<UserRow>> {
    let login = login.trim().to_lowercase();
    let query = dsl::users.select(UserRow::as_select()).into_boxed();
    let query = if login.contains('@') {
        query.filter(dsl::email.eq(login))
    } else {
        query.filter(dsl::username.eq(login))
    };
    query.first(conn).await.optional()
}

/// Which of the two identifiers are already in use (by anyone but `except`).
pub async fn taken(
    conn: &mut Conn,
    username: &str,
    email: &str,
    except: Option<Uuid>,
) -> QueryResult<(bool, bool)> {
    let mut query = dsl::users
        .filter(dsl::username.eq(username).or(dsl::email.eq(email)))
        .select((dsl::username, dsl::email))
        .into_boxed();
    if let Some(id) = except {
        query = query.filter(dsl::id.ne(id.to_string()));
    }
    let rows: Vec<(String, String)> = query.load(conn).await?;
    Ok((rows.iter().any(|(u, _)| u == username), rows.iter().any(|(_, e)| e == email)))
}

/// Whether a unique-key refusal of a user row (its MariaDB message) names the username's key;
/// otherwise it was the email's or the id's. The message is all MariaDB says of the key.
pub fn refused_on_username(refusal: &str) -> bool {
    refusal.contains("users_username_key")
}

/// Records a login now and returns the time recorded.
pub async fn touch_last_login(conn: &mut Conn, id: Uuid) -> QueryResult<chrono::NaiveDateTime> {
    let now = now_naive();
    keep_prepared(
        diesel::update(dsl::users.find(id.to_string())).set(dsl::last_login.eq(Some(now))),
    )
    .execute(conn)
    .await
    .map(|_| now)
}

/// The fields a user may change on their own profile; `None` leaves a field as it is.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = crate::db::schema::users)]
pub struct ProfileChanges {
    pub username: Option<String>,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub last_updated: Option<chrono::NaiveDateTime>,
}

pub async fn update_profile(
    conn: &mut Conn,
    id: Uuid,
    mut changes: ProfileChanges,
) -> QueryResult<()> {
    changes.last_updated = Some(now_naive());
    diesel::update(dsl::users.find(id.to_string())).set(&changes).execute(conn).await.map(|_| ())
}

pub async fn set_password_hash(conn: &mut Conn, id: Uuid, hash: &str) -> QueryResult<()> {
    diesel::update(dsl::users.find(id.to_string()))
        .set((dsl::password_hash.eq(hash), dsl::last_updated.eq(now_naive())))
        .execute(conn)
        .await
        .map(|_| ())
}

/// Deletes the user; refresh tokens go with it (foreign key), and so do the user's jobs.
pub async fn delete(conn: &mut Conn, id: Uuid) -> QueryResult<usize> {
    use crate::db::schema::jobs;
    diesel::delete(jobs::table.filter(jobs::owner_id.eq(id.to_string()))).execute(conn).await?;
    diesel::delete(dsl::users.find(id.to_string())).execute(conn).await
}
