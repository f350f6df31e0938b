//! When pooled connections are checked. A healthy pool hands connections out with no extra
//! round trip (bb8's default `SELECT 1` on every checkout doubled the statements of a read).
//! A connection-level failure on any query marks the database *suspect* for a while; during
//! that time every checkout verifies its connection, so after a MySQL restart the dead ones
//! are dropped at once instead of failing request after request. The pool's idle timeout
//! (shorter than MySQL's `wait_timeout`) retires connections the server may have closed.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const SUSPECT_FOR: Duration = Duration::from_secs(30);

/// Milliseconds since `epoch()` until which checkouts verify; 0 = healthy.
static SUSPECT_UNTIL_MS: AtomicU64 = AtomicU64::new(0);

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

fn now_ms() -> u64 {
    u64::try_from(epoch().elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// Records that a connection failed: checkouts verify for the next `SUSPECT_FOR`.
pub fn connection_failed() {
    let until = now_ms().saturating_add(SUSPECT_FOR.as_millis() as u64);
    SUSPECT_UNTIL_MS.fetch_max(until, Ordering::Relaxed);
}

/// Whether checkouts should verify their connection now.
pub fn suspect() -> bool {
    SUSPECT_UNTIL_MS.load(Ordering::Relaxed) > now_ms()
}

/// A server error (duplicate key, deadlock…) comes back with its MySQL code; anything else
/// (I/O, a closed socket, a driver error) means the connection itself is in doubt.
pub fn is_connection_failure(error: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    match error {
        Error::DatabaseError(DatabaseErrorKind::ClosedConnection, _) => true,
        Error::DatabaseError(DatabaseErrorKind::Unknown, info) => {
            let message = info.message().to_ascii_lowercase();
            [
                "connection",
                "disconnect",
                "gone away",
                "broken pipe",
                "input/output",
                "i/o",
                "driver",
                "reset",
                "eof",
            ]
            .iter()
            .any(|needle| message.contains(needle))
        }
        Error::BrokenTransactionManager => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connection_failure_makes_the_pool_suspect_and_a_server_error_does_not() {
        use diesel::result::{DatabaseErrorKind, Error};
        let duplicate = Error::DatabaseError(
            DatabaseErrorKind::UniqueViolation,
            Box::new("Duplicate entry 'x' for key 'username'".to_owned()),
        );
        assert!(!is_connection_failure(&duplicate));
        let io = Error::DatabaseError(
            DatabaseErrorKind::Unknown,
            Box::new("Input/output error: Connection reset by peer (os error 104)".to_owned()),
        );
        assert!(is_connection_failure(&io));
        connection_failed();
        assert!(suspect());
    }
}
