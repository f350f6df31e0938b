//! The worker's wake-up on job announcements, against a real Redis: every message wakes the
//! worker, also after one was already taken, and a storage request that was on its way
//! when a message arrived wakes it again when it completes.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use dispatch_shared::jobs::{JobKind, JobQueues};
use dispatch_shared::redis_conn;
use dispatch_tests::{wait_until, TestEnv};
use dispatch_worker::wake::{Announced, Announcements, QueueSignal, WatchedConnection};
use futures::task::{waker, ArcWake};
use futures::Stream;
use redis::aio::ConnectionLike;
use redis::AsyncConnectionConfig;
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
        wait_until(Duration::from_secs(5), "the worker to be woken", || async {
            (self.wakes() > more_than).then_some(())
        })
        .await;
    }
}

/// A subscription to one kind's announcements, as the worker has, with the stream its
/// storage polls and a waker that counts its wakes.
struct Subscribed {
    /// Holds the subscribed connection open.
    _announcements: Announcements,
    env: TestEnv,
    channel: String,
    signal: Arc<QueueSignal>,
    stream: Announced,
    counter: Arc<CountingWaker>,
}

impl Subscribed {
    async fn new() -> Self {
        let env = TestEnv::new();
        let client = redis::Client::open(env.redis_url.as_str()).unwrap();
        let queues = JobQueues::new(redis_conn::connect(&client).await.unwrap(), &env.namespace);
        let channel = queues.announcement_channel(JobKind::RegisterUser);
        let announcements =
            Announcements::subscribe(&client, vec![channel.clone()], &CancellationToken::new())
                .await
                .unwrap()
                .expect("subscribed");
        let signal = announcements.signal(&channel).unwrap();
        Self {
            stream: Announced::new(signal.clone()),
            counter: Arc::new(CountingWaker::default()),
            _announcements: announcements,
            env,
            channel,
            signal,
        }
    }

    /// The worker's poll of its storage, as far as the stream sees it.
    fn poll(&mut self) -> Poll<Option<()>> {
        let waker = waker(self.counter.clone());
        let mut cx = Context::from_waker(&waker);
        std::pin::Pin::new(&mut self.stream).poll_next(&mut cx)
    }

    async fn publish(&self) {
        let mut conn = self.env.redis().await;
        redis::cmd("PUBLISH")
            .arg(&self.channel)
            .arg("job")
            .query_async::<()>(&mut conn)
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn every_announcement_wakes_the_worker_also_after_one_was_taken() {
    let mut sub = Subscribed::new().await;

    assert_eq!(sub.poll(), Poll::Pending);
    sub.publish().await;
    sub.counter.until_woken(0).await;
    // apalis's `PollWith` polls the stream once per poll of the storage: this yield is the
    // last poll before the next message, so it must leave the waker registered.
    assert_eq!(sub.poll(), Poll::Ready(Some(())));
    let after_first = sub.counter.wakes();
    sub.publish().await;
    sub.counter.until_woken(after_first).await;
    assert_eq!(sub.poll(), Poll::Ready(Some(())));
    assert_eq!(sub.poll(), Poll::Pending);
}

#[tokio::test]
async fn a_request_in_flight_when_a_job_is_announced_wakes_the_worker_again() {
    let mut sub = Subscribed::new().await;
    // A request can stay in flight for a second (the client's default answer timeout is
    // shorter than that).
    let patient = AsyncConnectionConfig::new().set_response_timeout(Some(Duration::from_secs(10)));
    let mut raw = redis::Client::open(sub.env.redis_url.as_str())
        .unwrap()
        .get_multiplexed_async_connection_with_config(&patient)
        .await
        .unwrap();
    let client_id: i64 = redis::cmd("CLIENT").arg("ID").query_async(&mut raw).await.unwrap();
    let mut conn = WatchedConnection::new(raw, sub.signal.clone());
    assert_eq!(sub.poll(), Poll::Pending);

    // A request that ends before any message: nothing to repeat.
    let _: redis::Value = conn.req_packed_command(&redis::cmd("PING")).await.unwrap();
    assert_eq!(sub.poll(), Poll::Pending);

    // A request on its way (a blocking pop that waits 1 s) while a job is announced, and
    // the announcement taken meanwhile, as a poll during a fetch takes it.
    let key = format!("{}:nothing", sub.env.namespace);
    let slow = redis::cmd("BLPOP").arg(&key).arg(1).clone();
    let mut in_flight = conn.clone();
    let request =
        tokio::spawn(async move { in_flight.req_packed_command(&slow).await.map(|_| ()) });
    let watcher = sub.env.redis().await;
    wait_until(Duration::from_secs(5), "the request to reach Redis", || {
        let mut watcher = watcher.clone();
        async move {
            // Blocked in BLPOP: the flag `b` in the connection's own CLIENT LIST line.
            let line: String = redis::cmd("CLIENT")
                .arg("LIST")
                .arg("ID")
                .arg(client_id)
                .query_async(&mut watcher)
                .await
                .unwrap();
            line.contains("flags=b").then_some(())
        }
    })
    .await;
    sub.publish().await;
    sub.counter.until_woken(0).await;
    assert_eq!(sub.poll(), Poll::Ready(Some(())));
    assert_eq!(sub.poll(), Poll::Pending);
    let before = sub.counter.wakes();

    request.await.unwrap().unwrap();
    assert!(sub.counter.wakes() > before, "the worker was not woken again");
    assert_eq!(sub.poll(), Poll::Ready(Some(())));

    // A request sent after the announcement saw the job already: no repeat.
    let _: redis::Value = conn.req_packed_command(&redis::cmd("PING")).await.unwrap();
    assert_eq!(sub.poll(), Poll::Pending);
}
