//! How many threads the API gives HTTP and how many its WebSocket sessions.
//!
//! The two loads want different runtimes. A request wakes one task that answers and parks
//! again; on a multi-thread runtime each such wake-up also wakes an idle sibling thread that
//! looks for work to steal and finds none, which costs the API more CPU than answering
//! (measured on 2 cores: 12 wake-ups per followed registration with two HTTP threads, 8 with
//! one). A burst of events to thousands of sockets is the opposite: many ready tasks that
//! two threads write out sooner than one. So sessions run on a runtime of their own, and
//! HTTP keeps half the cores.

use super::{err, ConfigError, Source};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiThreads {
    /// Threads serving HTTP requests (`DISPATCH_HTTP_THREADS`).
    pub http: usize,
    /// Threads running WebSocket sessions (`DISPATCH_SOCKET_THREADS`); `None` when the
    /// sessions share the HTTP threads (`0`).
    pub sockets: Option<usize>,
}

impl ApiThreads {
    /// By default half the cores for HTTP (at least one) and the rest, at least two, for
    /// the sockets.
    pub fn from_source(src: &dyn Source, cores: usize) -> Result<Self, ConfigError> {
        const HTTP: &str = "DISPATCH_HTTP_THREADS";
        const SOCKETS: &str = "DISPATCH_SOCKET_THREADS";
        let http = match count(src, HTTP)? {
            Some(0) => return Err(err(HTTP, "must be at least 1")),
            Some(n) => n,
            None => (cores / 2).max(1),
        };
        let sockets = match count(src, SOCKETS)? {
            Some(0) => None,
            Some(n) => Some(n),
            None => Some(cores.saturating_sub(http).max(2)),
        };
        Ok(Self { http, sockets })
    }

    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_source(&super::ProcessEnv, super::cores())
    }
}

/// A thread count; more than 1,024 is a typo, not a machine.
fn count(src: &dyn Source, key: &'static str) -> Result<Option<usize>, ConfigError> {
    let Some(raw) = src.get(key) else {
        return Ok(None);
    };
    match raw.trim().parse::<usize>() {
        Ok(n) if n <= 1024 => Ok(Some(n)),
        _ => Err(err(key, format!("expected a whole number of threads up to 1024, got {raw:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn threads(vars: &[(&str, &str)], cores: usize) -> Result<ApiThreads, ConfigError> {
        let map: HashMap<String, String> =
            vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        ApiThreads::from_source(&move |k: &str| map.get(k).cloned(), cores)
    }

    #[test]
    fn by_default_http_gets_half_the_cores_and_the_sockets_the_rest_at_least_two() {
        let shape = |cores| threads(&[], cores).map(|t| (t.http, t.sockets)).unwrap();
        assert_eq!(shape(1), (1, Some(2)));
        assert_eq!(shape(2), (1, Some(2)));
        assert_eq!(shape(3), (1, Some(2)));
        assert_eq!(shape(4), (2, Some(2)));
        assert_eq!(shape(16), (8, Some(8)));
    }

    #[test]
    fn the_counts_can_be_set_and_zero_sockets_share_the_http_threads() {
        let t = threads(&[("DISPATCH_HTTP_THREADS", "3"), ("DISPATCH_SOCKET_THREADS", "5")], 2);
        assert_eq!(t.unwrap(), ApiThreads { http: 3, sockets: Some(5) });
        let t = threads(&[("DISPATCH_SOCKET_THREADS", "0")], 8).unwrap();
        assert_eq!(t, ApiThreads { http: 4, sockets: None });
    }

    #[test]
    fn wrong_counts_name_the_variable() {
        for (key, value) in [
            ("DISPATCH_HTTP_THREADS", "0"),
            ("DISPATCH_HTTP_THREADS", "two"),
            ("DISPATCH_SOCKET_THREADS", "-1"),
            ("DISPATCH_SOCKET_THREADS", "100000"),
        ] {
            let e = threads(&[(key, value)], 2).unwrap_err();
            assert_eq!(e.variable, key, "{e}");
        }
    }
}
