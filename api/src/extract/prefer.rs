//! `Prefer: wait=N` (RFC 7240): how long a client is willing to wait for a job's outcome.

use std::time::Duration;

use poem::Request;

pub const MAX_WAIT: Duration = Duration::from_secs(30);

pub fn wait_preference(request: &Request) -> Option<Duration> {
    request
        .headers()
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split([',', ';']))
        .filter_map(|pref| {
            let (name, value) = pref.trim().split_once('=')?;
            if !name.trim().eq_ignore_ascii_case("wait") {
                return None;
            }
            value.trim().trim_matches('"').parse::<u64>().ok()
        })
        .map(|secs| Duration::from_secs(secs).min(MAX_WAIT))
        .find(|d| !d.is_zero())
}

/// The wait a client asked for, and the `Preference-Applied` value that says it was honoured.
pub fn wait_and_applied(request: &Request) -> (Option<Duration>, Option<String>) {
    let wait = wait_preference(request);
    (wait, wait.map(|w| format!("wait={}", w.as_secs())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn with_prefer(values: &[String]) -> Request {
        let mut builder = Request::builder();
        for value in values {
            builder = builder.header("prefer", value.as_str());
        }
        builder.finish()
    }

    proptest! {
        #[test]
        fn any_prefer_header_gives_no_wait_or_one_within_the_limit(
            values in proptest::collection::vec("[ -~]{0,40}", 0..4)
        ) {
            if let Some(wait) = wait_preference(&with_prefer(&values)) {
                prop_assert!(!wait.is_zero() && wait <= MAX_WAIT);
            }
        }

        #[test]
        fn a_wait_is_read_among_other_preferences(secs in 1u64..10_000, other in "[a-z]{1,8}") {
            let values = [format!("{other}, wait={secs}; {other}=1")];
            let expected = Duration::from_secs(secs).min(MAX_WAIT);
            prop_assert_eq!(wait_preference(&with_prefer(&values)), Some(expected));
        }
    }
}
