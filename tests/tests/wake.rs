//! The worker's wake-up on job announcements, against a real Redis: every message wakes the
//! worker, also after one was already taken, and a storage request that was on its way
//! when a message arrived wakes it again when it completes.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use dispatch_tests::TestEnv;
use dispatch_worker::wake::{Announced, Announcements, WatchedConnection};
use futures::task::{waker, ArcWake};
use futures::Stream;
use redis::aio::ConnectionLike;
use tokio_util::sync::CancellationToken;

#[derive(Default)]
struct CountingWaker(AtomicUsize);

impl ArcWake for CountingWaker {
    fn wake_by_ref(this: &Arc<Self>) {
        this.0.fetch_add(1, Ordering::SeqCst);
    }
}

impl CountingWaker {
    fn wakes(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }

    async fn until_woken(&self, more_than: usize) {
        tokio::time::timeout(Duration::from_secs(5), async {
            while self.wakes() <= more_than {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await
        .expect("the worker was not woken");
    }
}

fn poll(stream: &mut Announced, counter: &Arc<CountingWaker>) -> Poll<Option<()>> {
    let waker = waker(counter.clone());
    let mut cx = Context::from_waker(&waker);
    std::pin::Pin::new(stream).poll_next(&mut cx)
}

async fn subscribed(env: &TestEnv, channel: &str) -> Announcements {
    let client = redis::Client::open(env.redis_url.as_str()).unwrap();
    Announcements::subscribe(&client, vec![channel.to_owned()], &CancellationToken::new())
        .await
        .unwrap()
        .expect("subscribed")
}

async fn publish(env: &TestEnv, channel: &str) {
    let mut conn = env.redis().await;
    redis::cmd("PUBLISH")
        .arg(channel)
        .arg("job")
        .query_async::<()>(&mut conn)
        .await
        .unwrap();
}

#[tokio::test]
async fn every_announcement_wakes_the_worker_also_after_one_was_taken() {
    let env = TestEnv::new();
    let channel = format!(
        "tasks:{}.queue.register_user:active:available",
        env.namespace
    );
    let announcements = subscribed(&env, &channel).await;
    let mut stream = Announced::new(announcements.signal(&channel).unwrap());
    let counter = Arc::new(CountingWaker::default());

    assert_eq!(poll(&mut stream, &counter), Poll::Pending);
    publish(&env, &channel).await;
    counter.until_woken(0).await;
    // apalis's `PollWith` polls the stream once per poll of the storage: this yield is the
    // last poll before the next message, so it must leave the waker registered.
    assert_eq!(poll(&mut stream, &counter), Poll::Ready(Some(())));
    let after_first = counter.wakes();
    publish(&env, &channel).await;
    counter.until_woken(after_first).await;
    assert_eq!(poll(&mut stream, &counter), Poll::Ready(Some(())));
    assert_eq!(poll(&mut stream, &counter), Poll::Pending);
}

#[tokio::test]
async fn a_request_in_flight_when_a_job_is_announced_wakes_the_worker_again() {
    let env = TestEnv::new();
    let channel = format!(
        "tasks:{}.queue.register_user:active:available",
        env.namespace
    );
    let announcements = subscribed(&env, &channel).await;
    let signal = announcements.signal(&channel).unwrap();
    let mut stream = Announced::new(signal.clone());
    let counter = Arc::new(CountingWaker::default());
    let mut raw = env.redis().await;
    let client_id: i64 = redis::cmd("CLIENT")
        .arg("ID")
        .query_async(&mut raw)
        .await
        .unwrap();
    let mut conn = WatchedConnection::new(raw.clone(), signal.clone());
    assert_eq!(poll(&mut stream, &counter), Poll::Pending);

    // A request that ends before any message: nothing to repeat.
    let _: redis::Value = conn.req_packed_command(&redis::cmd("PING")).await.unwrap();
    assert_eq!(poll(&mut stream, &counter), Poll::Pending);

    // A request on its way (a blocking pop that waits 0.2 s) while a job is announced, and
    // the announcement taken meanwhile, as a poll during a fetch takes it.
    let key = format!("{}:nothing", env.namespace);
    let slow = redis::cmd("BLPOP").arg(&key).arg(0.2).clone();
    let mut in_flight = conn.clone();
    let request =
        tokio::spawn(async move { in_flight.req_packed_command(&slow).await.map(|_| ()) });
    let mut watcher = env.redis().await;
    tokio::time::timeout(Duration::from_secs(5), async {
        // Blocked in BLPOP: the flag `b` in the connection's own CLIENT LIST line.
        while !redis::cmd("CLIENT")
            .arg("LIST")
            .arg("ID")
            .arg(client_id)
            .query_async::<String>(&mut watcher)
            .await
            .unwrap()
            .contains("flags=b")
        {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the request never reached Redis");
    publish(&env, &channel).await;
    counter.until_woken(0).await;
    assert_eq!(poll(&mut stream, &counter), Poll::Ready(Some(())));
    assert_eq!(poll(&mut stream, &counter), Poll::Pending);
    let before = counter.wakes();

    request.await.unwrap().unwrap();
    assert!(counter.wakes() > before, "the worker was not woken again");
    assert_eq!(poll(&mut stream, &counter), Poll::Ready(Some(())));

    // A request sent after the announcement saw the job already: no repeat.
    let _: redis::Value = conn.req_packed_command(&redis::cmd("PING")).await.unwrap();
    assert_eq!(poll(&mut stream, &counter), Poll::Pending);
}
