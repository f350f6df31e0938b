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
