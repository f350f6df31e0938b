//! Product categories: names unique regardless of case (the column's collation).

use diesel::prelude::*;
use diesel_async::{AsyncMysqlConnection, RunQueryDsl};
use uuid::Uuid;

use crate::apply_ordering;
use crate::db::schema::categories::{self, dsl};
use crate::domain::{Ordering, Sort, SortField};
use crate::models::CategoryRow;
use crate::repo::listing::{contains_pattern, Window};

type Conn = AsyncMysqlConnection;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CategorySort {
    Name,
}

impl SortField for CategorySort {
    const FIELDS: &'static [(&'static str, Self)] = &[("name", CategorySort::Name)];
    const DEFAULT: &'static [Sort<Self>] = &[Sort::asc(CategorySort::Name)];
}

#[derive(Debug, Clone, Default)]
pub struct CategoryFilter {
    /// Case-insensitive exact name.
    pub name: Option<String>,
    /// Case-insensitive substring of the name.
    pub name_contains: Option<String>,
}

fn filtered(filter: &CategoryFilter) -> categories::BoxedQuery<'_, diesel::mysql::Mysql> {
    let mut query = dsl::categories.into_boxed();
    if let Some(name) = filter.name.as_deref() {
        query = query.filter(dsl::name.eq(name));
    }
    if let Some(text) = filter.name_contains.as_deref() {
        query = query.filter(dsl::name.like(contains_pattern(text)));
    }
    query
}

pub async fn list(
    conn: &mut Conn,
    filter: &CategoryFilter,
    ordering: &Ordering<CategorySort>,
    window: Window,
) -> QueryResult<(Vec<CategoryRow>, i64)> {
    let count: i64 = filtered(filter).count().get_result(conn).await?;
    if count <= window.offset {
        return Ok((Vec::new(), count));
    }
    let query = filtered(filter).select(CategoryRow::as_select());
    let rows = apply_ordering!(query, ordering, dsl::id, { CategorySort::Name => dsl::name })
        .offset(window.offset)
        .limit(window.limit)
        .load(conn)
        .await?;
    Ok((rows, count))
}

pub async fn find(conn: &mut Conn, id: Uuid) -> QueryResult<Option<CategoryRow>> {
    dsl::categories
        .find(id.to_string())
        .select(CategoryRow::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn insert(conn: &mut Conn, row: &CategoryRow) -> QueryResult<()> {
    diesel::insert_into(dsl::categories)
        .values(row)
        .execute(conn)
        .await
        .map(|_| ())
}

/// Renames; false when there is no such category.
pub async fn rename(conn: &mut Conn, id: Uuid, name: &str) -> QueryResult<bool> {
    let updated = diesel::update(dsl::categories.find(id.to_string()))
        .set(dsl::name.eq(name))
        .execute(conn)
        .await?;
    // MySQL counts changed rows: renaming to the same name changes none.
    Ok(updated > 0 || find(conn, id).await?.is_some())
}

/// Deletes; false when there was none. A category with products fails with a foreign key
/// violation.
pub async fn delete(conn: &mut Conn, id: Uuid) -> QueryResult<bool> {
    let deleted = diesel::delete(dsl::categories.find(id.to_string()))
        .execute(conn)
        .await?;
    Ok(deleted > 0)
}
