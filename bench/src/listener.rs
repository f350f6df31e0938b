//! One task-stream socket that counts the `task_create` events it receives: the creates
//! scenario's proof that each create's event reached a listener.

use std::time::Duration;

use anyhow::{bail, Context};
use futures::StreamExt;
use serde_json::Value;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;

use crate::fanout::{create, wait_count};

pub struct Listener {
    count: watch::Receiver<usize>,
}

impl Listener {
    /// Opens the user's task stream and waits until it receives a probe task's event, so
    /// that every create after it is one the socket is subscribed to.
    pub async fn open(client: &reqwest::Client, base: &str, token: &str) -> anyhow::Result<Self> {
        let url = format!("{}/ws/tasks/?token={token}", base.replacen("http://", "ws://", 1));
        let (mut socket, _) =
            tokio_tungstenite::connect_async(url).await.context("the listening socket")?;
        let (counter, count) = watch::channel(0usize);
        tokio::spawn(async move {
            while let Some(Ok(message)) = socket.next().await {
                if let Message::Text(text) = message {
                    let created = serde_json::from_str::<Value>(&text)
                        .is_ok_and(|body| body["action"] == "task_create");
                    if created {
                        counter.send_modify(|n| *n += 1);
                    }
                }
            }
        });
        let mut listener = Self { count };
        create(client, base, token, "listener probe").await?;
        if wait_count(&mut listener.count, 1, Duration::from_secs(10)).await < 1 {
            bail!("the listening socket never received its probe");
        }
        Ok(listener)
    }

    /// The creates' events received (the probe's apart) once none has arrived for `quiet`:
    /// for a listener beside a load generator that does not say how many it made.
    pub async fn settled(&mut self, quiet: Duration) -> usize {
        let mut seen = *self.count.borrow();
        loop {
            let now = wait_count(&mut self.count, seen + 1, quiet).await;
            if now == seen {
                return seen.saturating_sub(1);
            }
            seen = now;
        }
    }

    /// The creates' events received (the probe's apart), waiting up to `timeout` for
    /// `expected` of them.
    pub async fn received(&mut self, expected: usize, timeout: Duration) -> usize {
        wait_count(&mut self.count, expected + 1, timeout).await - 1
    }
}
