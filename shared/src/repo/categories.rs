//! Product categories: names unique regardless of case (the column's collation).

use diesel::prelude::*;
use diesel_async::{AsyncMysqlConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::categories::{self, dsl};
use crate::domain::Ordering;
use crate::models::CategoryRow;
use crate::repo::listing::{contains_pattern, counted_page, given, usual_shape, Window};
use crate::repo::point_reads::{find_by_id, insert_row};
use crate::{apply_ordering, sort_fields};

type Conn = AsyncMysqlConnection;

sort_fields! {
    pub enum CategorySort { Name = "name" }
    default [asc Name]
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
    let query = filtered(filter).select(CategoryRow::as_select());
    let page = apply_ordering!(query, ordering, dsl::id, { CategorySort::Name => dsl::name });
    let usual =
        usual_shape(ordering, given(&[filter.name.is_some(), filter.name_contains.is_some()]));
    counted_page(conn, filtered(filter).count(), page, window, usual).await
}

pub async fn find(conn: &mut Conn, id: Uuid) -> QueryResult<Option<CategoryRow>> {
    find_by_id(conn, dsl::categories, id).await
}

pub async fn insert(conn: &mut Conn, row: &CategoryRow) -> QueryResult<()> {
    insert_row(conn, dsl::categories, row).await
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
    let deleted = diesel::delete(dsl::categories.find(id.to_string())).execute(conn).await?;
    Ok(deleted > 0)
}
