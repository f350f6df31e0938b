//! Several statements in one round trip: MariaDB runs a compound statement (`BEGIN NOT
//! ATOMIC s1; s2; … END`) as one prepared statement, its placeholders bound in order.
//!
//! The job pipeline's transactions end with writes that depend on nothing read after them
//! (a registration's user and session rows, the job's outcome). Sent one by one, each is a
//! round trip that wakes the worker and MariaDB again; sent as one compound statement
//! (`implicit_begin::transaction_ending_with`), they are one.
//!
//! A statement that fails ends the compound statement there: the statements before it have
//! written inside the transaction, those after it never ran. That is why the `COMMIT` can be
//! the compound statement's last part: it runs only if every write before it succeeded, and
//! otherwise the caller rolls the transaction back.

use diesel::mysql::Mysql;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::QueryResult;

/// One statement, built and bound but not sent: a part of a `Compound`, or run alone.
pub struct Statement<'a>(Box<dyn QueryFragment<Mysql> + Send + 'a>);

impl<'a> Statement<'a> {
    pub fn new(query: impl QueryFragment<Mysql> + Send + 'a) -> Self {
        Self(Box::new(query))
    }
}

impl QueryFragment<Mysql> for Statement<'_> {
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, Mysql>) -> QueryResult<()> {
        self.0.walk_ast(pass)
    }

    // The statement's own answer: `Box`'s would walk it and find an insert or an update
    // unsafe to cache, whatever `keep_prepared` says.
    fn is_safe_to_cache_prepared(&self, backend: &Mysql) -> QueryResult<bool> {
        QueryFragment::<Mysql>::is_safe_to_cache_prepared(&*self.0, backend)
    }
}

// No static id: the connection's cache keys the statement by its SQL text and bind types.
impl QueryId for Statement<'_> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

/// `statements`, in their order, as one compound statement. It stays prepared on its
/// connection when every part would: a part whose text varies with its input (see
/// `keep_prepared`) makes the compound vary with it.
pub struct Compound<'a> {
    statements: Vec<Statement<'a>>,
}

impl<'a> Compound<'a> {
    pub fn of(statements: Vec<Statement<'a>>) -> Self {
        Self { statements }
    }
}

impl QueryFragment<Mysql> for Compound<'_> {
    fn walk_ast<'b>(&'b self, mut pass: AstPass<'_, 'b, Mysql>) -> QueryResult<()> {
        pass.push_sql("BEGIN NOT ATOMIC ");
        for statement in &self.statements {
            statement.walk_ast(pass.reborrow())?;
            pass.push_sql("; ");
        }
        pass.push_sql("END");
        Ok(())
    }

    fn is_safe_to_cache_prepared(&self, backend: &Mysql) -> QueryResult<bool> {
        for statement in &self.statements {
            if !statement.is_safe_to_cache_prepared(backend)? {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

impl QueryId for Compound<'_> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}
