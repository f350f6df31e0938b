//! What every list query shares: a page window, case-insensitive text filters, and the
//! client's ordering applied to a boxed diesel query.

use std::future::Future;

use diesel::query_dsl::methods::{LimitDsl, OffsetDsl};
use diesel::QueryResult;
use diesel_async::methods::LoadQuery;
use diesel_async::{AsyncMysqlConnection, RunQueryDsl};

use crate::db::keep_prepared::{keep_prepared_if, KeepPrepared};
use crate::domain::{Ordering, SortField};

/// `LIMIT`/`OFFSET` of one page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Window {
    pub offset: i64,
    pub limit: i64,
}

/// Whether a list's statements are kept prepared on their connection: only in the list's
/// default ordering with at most one of its optional filters given. A client picks a list's
/// shape (its filters, its sort fields and their order), and each shape is a statement of
/// its own; kept, the combinations a client can ask for would grow every connection's
/// statement cache, and MariaDB's `max_prepared_stmt_count`, which all connections share,
/// until statements everywhere fail. Every other shape is prepared for its run and closed.
pub fn usual_shape<F: SortField>(ordering: &Ordering<F>, filters_given: usize) -> bool {
    ordering.is_default() && filters_given <= 1
}

/// How many of a list's optional filters a request gives.
pub fn given(filters: &[bool]) -> usize {
    filters.iter().filter(|given| **given).count()
}

/// One page of a list and the number of rows across all pages. The count runs first, so a
/// page past the end costs only the count. `usual` keeps both statements prepared
/// (`usual_shape`).
// Not an `async fn`: naming the future `Send` for one lifetime is what lets the routes' futures
// be `Send`; an `async fn`'s future is checked for every lifetime and fails that check.
#[allow(clippy::manual_async_fn)]
pub fn counted_page<'a, C, P, R>(
    conn: &'a mut AsyncMysqlConnection,
    count: C,
    page: P,
    window: Window,
    usual: bool,
) -> impl Future<Output = QueryResult<(Vec<R>, i64)>> + Send + 'a
where
    KeepPrepared<C>: LoadQuery<'a, AsyncMysqlConnection, i64> + Send + 'a,
    P: OffsetDsl<Output = P> + LimitDsl<Output = P>,
    KeepPrepared<P>: LoadQuery<'a, AsyncMysqlConnection, R> + Send + 'a,
    R: Send + 'a,
{
    let count = keep_prepared_if(usual, count);
    let page = keep_prepared_if(usual, page.offset(window.offset).limit(window.limit));
    async move {
        let count: i64 = count.get_result(conn).await?;
        if count <= window.offset {
            return Ok((Vec::new(), count));
        }
        let rows = page.load(conn).await?;
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
