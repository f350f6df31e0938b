//! What every list query shares: a page window, case-insensitive text filters, and the
//! client's ordering applied to a boxed diesel query.

use std::future::Future;

use diesel::query_dsl::methods::{LimitDsl, OffsetDsl};
use diesel::QueryResult;
use diesel_async::methods::LoadQuery;
use diesel_async::{AsyncMysqlConnection, RunQueryDsl};

/// `LIMIT`/`OFFSET` of one page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Window {
    pub offset: i64,
    pub limit: i64,
}

/// One page of a list and the number of rows across all pages. The count runs first, so a
/// page past the end costs only the count.
// Not an `async fn`: naming the future `Send` for one lifetime is what lets the routes' futures
// be `Send`; an `async fn`'s future is checked for every lifetime and fails that check.
#[allow(clippy::manual_async_fn)]
pub fn counted_page<'a, C, P, R>(
    conn: &'a mut AsyncMysqlConnection,
    count: C,
    page: P,
    window: Window,
) -> impl Future<Output = QueryResult<(Vec<R>, i64)>> + Send + 'a
where
    C: LoadQuery<'a, AsyncMysqlConnection, i64> + Send + 'a,
    P: OffsetDsl<Output = P> + LimitDsl<Output = P>,
    P: LoadQuery<'a, AsyncMysqlConnection, R> + Send + 'a,
    R: Send + 'a,
{
    async move {
        let count: i64 = count.get_result(conn).await?;
        if count <= window.offset {
            return Ok((Vec::new(), count));
        }
        let rows = page.offset(window.offset).limit(window.limit).load(conn).await?;
        Ok((rows, count))
    }
}

/// A `LIKE` pattern matching `needle` anywhere, with the pattern's own wildcards escaped
/// (MySQL's default escape character is the backslash). Case-insensitivity comes from the
/// column's collation.
pub fn contains_pattern(needle: &str) -> String {
    let mut pattern = String::with_capacity(needle.len() + 2);
    pattern.push('%');
    for c in needle.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// Applies an `Ordering`'s sorts to a boxed query, mapping each field to its column, then
/// breaks ties by `$tiebreak` so pages never overlap or skip rows. The tiebreak runs in the
/// last sort's direction: with an index on (…, column, id), MariaDB then reads a page in
/// index order and stops at the limit, where a mixed direction makes it sort every match.
///
/// ```ignore
/// apply_ordering!(query, ordering, dsl::id, { TaskSort::Title => dsl::title, ... })
/// ```
#[macro_export]
macro_rules! apply_ordering {
    ($query:expr, $ordering:expr, $tiebreak:expr, { $($field:path => $column:expr),+ $(,)? }) => {{
        let mut query = $query;
        let mut descending = false;
        for sort in $ordering.sorts() {
            descending = sort.descending;
            query = match sort.field {
                $($field => if sort.descending {
                    query.then_order_by($column.desc())
                } else {
                    query.then_order_by($column.asc())
                }),+
            };
        }
        if descending {
            query.then_order_by($tiebreak.desc())
        } else {
            query.then_order_by($tiebreak.asc())
        }
    }};
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_wildcards() {
        assert_eq!(contains_pattern("50%_off\\"), "%50\\%\\_off\\\\%");
        assert_eq!(contains_pattern(""), "%%");
    }
}
