//! A burst of registrations from many concurrent clients over several API instances, as a
//! fault test's load. Each registration carries an `Idempotency-Key`, so a client whose
//! request met a fault (a 503, a dropped connection) sends it again without risking a
//! second account, and counts it once it is accepted (202).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

/// How often one registration is sent before the burst fails: every 0.5 s for longer than
/// an idempotency claim's lease (60 s), which is how long a key stays in use when the
/// database died between writing the claim and recording the outcome.
const ATTEMPTS: usize = 160;

/// Registers `{prefix}_{i}` for `i` in `0..count` from `clients` concurrent clients, spread
/// over `bases`; `accepted` counts the registrations answered 202.
pub async fn registrations(
    bases: &[String],
    prefix: &str,
    count: usize,
    clients: usize,
    accepted: Arc<AtomicUsize>,
) {
    let next = Arc::new(AtomicUsize::new(0));
    let lanes = (0..clients).map(|lane| {
        let (next, accepted) = (next.clone(), accepted.clone());
        let bases = bases.to_vec();
        let prefix = prefix.to_owned();
        async move {
            let client = reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("client");
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    return;
                }
                let username = format!("{prefix}_{i}");
                let body = json!({
                    "username": username,
                    "email": format!("{username}@example.com"),
                    "password": "burst-password-1",
                });
                let mut outcomes = Vec::new();
                for attempt in 0..ATTEMPTS {
                    let base = &bases[(lane + attempt) % bases.len()];
                    let sent = client
                        .post(format!("{base}/api/v1/auth/register/"))
                        .header("Idempotency-Key", format!("burst-{username}"))
                        .json(&body)
                        .send()
                        .await;
                    match sent {
                        Ok(r) if r.status() == 202 => {
                            accepted.fetch_add(1, Ordering::Relaxed);
                            break;
                        }
                        // A dependency down, or the first attempt still being handled.
                        Ok(r) if r.status() == 503 || r.status() == 409 => {
                            outcomes.push(r.status().to_string())
                        }
                        Ok(r) => panic!(
                            "registration {username}: {} {}",
                            r.status(),
                            r.text().await.unwrap_or_default()
                        ),
                        Err(e) => outcomes.push(e.to_string()),
                    }
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    assert!(
                        attempt + 1 < ATTEMPTS,
                        "registration {username} was never accepted: {outcomes:?}"
                    );
                }
            }
        }
    });
    futures::future::join_all(lanes).await;
}
