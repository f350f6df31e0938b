//! Rows by primary key: one found or inserted, and reads of many in fixed-width statements.
//!
//! Each statement looks up exactly `WIDTH` ids (a short group repeats its first id), so it is
//! one prepared statement, kept in the connection's cache; an `IN` list of varying length
//! would be prepared and closed again for every group.

use std::future::Future;

use diesel::dsl::{AsSelect, Find, Limit, Select};
use diesel::mysql::Mysql;
use diesel::query_builder::{InsertStatement, QueryId};
use diesel::query_dsl::methods::{FindDsl, LimitDsl, SelectDsl};
use diesel::{Insertable, OptionalExtension, QueryResult, Selectable, SelectableHelper, Table};
use diesel_async::methods::{ExecuteDsl, LoadQuery};
use diesel_async::{AsyncMysqlConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::keep_prepared::{keep_prepared, KeepPrepared};

/// The row of `table` whose primary key is `id`, as `R`, if there is one.
pub fn find_by_id<'a, T, R>(
    conn: &'a mut AsyncMysqlConnection,
    table: T,
    id: Uuid,
) -> impl Future<Output = QueryResult<Option<R>>> + Send + 'a
where
    T: FindDsl<String>,
    Find<T, String>: SelectDsl<AsSelect<R, Mysql>>,
    Select<Find<T, String>, AsSelect<R, Mysql>>: LimitDsl + Send + 'a,
    Limit<Select<Find<T, String>, AsSelect<R, Mysql>>>:
        LoadQuery<'a, AsyncMysqlConnection, R> + Send + 'a,
    R: Selectable<Mysql> + Send + 'a,
    R::SelectExpression: QueryId,
{
    let query = table.find(id.to_string()).select(R::as_select());
    async move { query.first(conn).await.optional() }
}

/// Inserts `row` into `table`, as a statement its connection keeps prepared (a single row
/// has as many shapes as it has nullable columns left `DEFAULT`, a bounded number).
pub fn insert_row<'a, T, V>(
    conn: &'a mut AsyncMysqlConnection,
    table: T,
    row: V,
) -> impl Future<Output = QueryResult<()>> + Send + 'a
where
    T: Table + 'a,
    V: Insertable<T>,
    KeepPrepared<InsertStatement<T, V::Values>>: ExecuteDsl<AsyncMysqlConnection> + Send + 'a,
{
    let statement = keep_prepared(diesel::insert_into(table).values(row));
    async move { statement.execute(conn).await.map(|_| ()) }
}

/// How many ids one statement looks up.
pub const WIDTH: usize = 8;

/// `ids` in groups of `WIDTH`, the last one padded with its own first id.
pub fn padded_groups(ids: &[String]) -> impl Iterator<Item = [&String; WIDTH]> {
    ids.chunks(WIDTH).map(|group| std::array::from_fn(|i| group.get(i).unwrap_or(&group[0])))
}

/// `SELECT $row FROM $table WHERE $column = …` for every group of `$ids` (see
/// `padded_groups`): evaluates to `Ok` with the rows of all groups, and a failed group returns
/// its error from the calling function. A macro, as `column_is_one_of!` is:
/// diesel's query types differ by table.
#[macro_export]
macro_rules! load_by_ids {
    ($conn:expr, $ids:expr, $table:expr, $column:expr, $row:ty) => {{
        let mut rows: Vec<$row> = Vec::with_capacity($ids.len());
        for group in $crate::repo::point_reads::padded_groups($ids) {
            let found: Vec<$row> = $table
                .filter($crate::column_is_one_of!($column, group))
                .select(<$row>::as_select())
                .load($conn)
                .await?;
            rows.extend(found);
        }
        Ok(rows)
    }};
}

/// `$column = ids[0] OR … OR $column = ids[WIDTH - 1]` for one group from `padded_groups`:
/// the same SQL whatever the ids, so diesel keeps it prepared (its `eq_any` never is).
#[macro_export]
macro_rules! column_is_one_of {
    ($column:expr, $group:expr) => {{
        let [a, b, c, d, e, f, g, h]: [&String; $crate::repo::point_reads::WIDTH] = $group;
        $column
            .eq(a)
            .or($column.eq(b))
            .or($column.eq(c))
            .or($column.eq(d))
            .or($column.eq(e))
            .or($column.eq(f))
            .or($column.eq(g))
            .or($column.eq(h))
    }};
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_are_full_width_and_padded_with_their_first_id() {
        let ids: Vec<String> = (0..10).map(|i| i.to_string()).collect();
        let groups: Vec<[&String; WIDTH]> = padded_groups(&ids).collect();
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0].map(String::as_str), ["0", "1", "2", "3", "4", "5", "6", "7"]);
        assert_eq!(groups[1].map(String::as_str), ["8", "9", "8", "8", "8", "8", "8", "8"]);
        assert_eq!(padded_groups(&[]).count(), 0);
    }
}
