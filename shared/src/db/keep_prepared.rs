//! Which statements stay prepared on their connection.
//!
//! Diesel never caches an `UPDATE`, nor an `INSERT` whose values may be `DEFAULT`, because
//! such SQL can vary with the values; diesel-async then prepares the statement for each run
//! and closes it on the connection's next use. That is a round trip to MariaDB (and a wake-up
//! of it) for every write the job pipeline makes. A write wrapped here is cached under its
//! SQL text and bind types instead, which is exact: a variant (a `DEFAULT` for a `None`) is a
//! different text and gets its own entry.
//!
//! The other way round, diesel caches every boxed query under its SQL text, and a list's SQL
//! is the shape its client asked for: `keep_prepared_if` keeps only the usual shapes
//! (`repo::listing::usual_shape`).
//!
//! Wrap only statements with a bounded number of shapes: never an `IN` list, a batch insert
//! of unbounded length or anything else whose SQL grows with its input, or the connection's
//! cache grows with it. (A batch of at most N rows is N shapes.)

use diesel::mysql::Mysql;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::QueryResult;

#[derive(Debug, Clone, Copy)]
pub struct KeepPrepared<Q> {
    query: Q,
    keep: bool,
}

/// `query`, kept in its connection's prepared-statement cache after its first run.
pub fn keep_prepared<Q>(query: Q) -> KeepPrepared<Q> {
    KeepPrepared { query, keep: true }
}

/// `query`, kept prepared only if `keep`; otherwise prepared for its run and closed, even
/// where diesel would cache it.
pub fn keep_prepared_if<Q>(keep: bool, query: Q) -> KeepPrepared<Q> {
    KeepPrepared { query, keep }
}

impl<Q: QueryFragment<Mysql>> QueryFragment<Mysql> for KeepPrepared<Q> {
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, Mysql>) -> QueryResult<()> {
        self.query.walk_ast(pass)
    }

    fn is_safe_to_cache_prepared(&self, _backend: &Mysql) -> QueryResult<bool> {
        Ok(self.keep)
    }
}

impl<Q: Query> Query for KeepPrepared<Q> {
    type SqlType = Q::SqlType;
}

// No static id: the cache then keys the statement by its SQL text and bind types.
impl<Q> QueryId for KeepPrepared<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}
