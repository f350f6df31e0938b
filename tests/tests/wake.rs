//! The worker's wake-up on job announcements, against a real Redis: every message wakes the
//! worker, also after one was already taken, and a storage request that was on its way
//! when a message arrived wakes it again when it completes. A fetch that cannot find a task
//! is answered without going to Redis, and a tick counts as an announcement. A push announces
//! its task once it is queued.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use apalis_core::backend::TaskSink;
use dispatch_shared::jobs::{JobKind, JobMessage, JobQueues};
use dispatch_shared::redis_conn;
use dispatch_tests::{wait_until, TestEnv};
use dispatch_worker::wake::{Announced, Announcements, QueueSignal, WatchedConnection};
use futures::task::{waker, ArcWake};
use futures::Stream;
use redis::aio::ConnectionLike;
use redis::AsyncConnectionConfig;
use tokio_util::sync::CancellationToken;

/// A tick period no test reaches.
const NO_TICK: Duration = Duration::from_secs(3600);

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
    queues: JobQueues,
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
            stream: Announced::new(signal.clone(), NO_TICK),
            counter: Arc::new(CountingWaker::default()),
            _announcements: announcements,
            env,
            queues,
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
    let config = sub.queues.config(JobKind::RegisterUser);
    let mut conn = WatchedConnection::new(raw, sub.signal.clone(), &config);
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

/// A worker's connection to its queue, as `Announcements::storage` makes it, with the id
/// Redis knows it by.
struct Fetching {
    conn: WatchedConnection,
    raw: redis::aio::MultiplexedConnection,
    client_id: i64,
    /// Another connection, to ask Redis what `raw` last sent.
    watcher: redis::aio::MultiplexedConnection,
    config: apalis_redis::Config,
    worker: apalis_core::worker::context::WorkerContext,
}

impl Fetching {
    /// A worker registered on the queue, fetching up to `batch` tasks at a time.
    async fn new(sub: &Subscribed, batch: usize) -> Self {
        let mut raw = redis::Client::open(sub.env.redis_url.as_str())
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap();
        let client_id: i64 = redis::cmd("CLIENT").arg("ID").query_async(&mut raw).await.unwrap();
        let config = sub.queues.consumer_config(JobKind::RegisterUser, batch);
        let worker = apalis_core::worker::context::WorkerContext::new("wake-test-worker");
        // apalis-redis's fetch script refuses a worker its workers set does not hold.
        let _: () = redis::cmd("ZADD")
            .arg(config.workers_set())
            .arg(0)
            .arg(worker.name())
            .query_async(&mut raw)
            .await
            .unwrap();
        let conn = WatchedConnection::new(raw.clone(), sub.signal.clone(), &config);
        let watcher = sub.env.redis().await;
        Self { conn, raw, client_id, watcher, config, worker }
    }

    /// apalis-redis's own fetch, through the watched connection: the tasks' count, and
    /// whether the script ran in Redis (the last command Redis has from the connection).
    async fn fetch(&mut self) -> (usize, bool) {
        let _: String = redis::cmd("PING").query_async(&mut self.raw).await.unwrap();
        let tasks = apalis_redis::queries::fetch_next(&mut self.conn, &self.worker, &self.config)
            .await
            .expect("fetched");
        let line: String = redis::cmd("CLIENT")
            .arg("LIST")
            .arg("ID")
            .arg(self.client_id)
            .query_async(&mut self.watcher)
            .await
            .unwrap();
        (tasks.len(), line.contains("cmd=evalsha"))
    }
}

async fn announced_beyond(signal: &QueueSignal, count: u64) {
    wait_until(Duration::from_secs(5), "the announcement to arrive", || async {
        (signal.announcements() > count).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_fetch_that_cannot_find_a_task_is_answered_without_redis() {
    let sub = Subscribed::new().await;
    let mut worker = Fetching::new(&sub, 4).await;

    assert_eq!(worker.fetch().await, (0, true), "the first fetch goes to Redis");
    assert_eq!(worker.fetch().await, (0, false), "nothing was announced since");

    let seen = sub.signal.announcements();
    sub.queues.push(JobKind::RegisterUser, uuid::Uuid::new_v4()).await.unwrap();
    announced_beyond(&sub.signal, seen).await;
    assert_eq!(worker.fetch().await, (1, true), "an announced task is fetched");
    // apalis fetches again as soon as it hands the task over, and when the task is done.
    assert_eq!(worker.fetch().await, (0, false));
    assert_eq!(worker.fetch().await, (0, false));
}

#[tokio::test]
async fn a_fetch_that_came_back_full_is_followed_by_one_that_goes_to_redis() {
    let sub = Subscribed::new().await;
    let mut worker = Fetching::new(&sub, 2).await;
    assert_eq!(worker.fetch().await, (0, true));

    let seen = sub.signal.announcements();
    for _ in 0..3 {
        sub.queues.push(JobKind::RegisterUser, uuid::Uuid::new_v4()).await.unwrap();
    }
    wait_until(Duration::from_secs(5), "the three announcements", || async {
        (sub.signal.announcements() >= seen + 3).then_some(())
    })
    .await;
    assert_eq!(worker.fetch().await, (2, true));
    assert_eq!(worker.fetch().await, (1, true), "the full fetch may have left tasks");
    assert_eq!(worker.fetch().await, (0, false));
}

#[tokio::test]
async fn a_task_no_message_announced_is_fetched_at_the_next_tick() {
    let mut sub = Subscribed::new().await;
    sub.stream = Announced::new(sub.signal.clone(), Duration::from_millis(200));
    let mut worker = Fetching::new(&sub, 4).await;
    assert_eq!(worker.fetch().await, (0, true));

    // Pushed the way apalis-redis pushes, with no announcement: lost, as far as the worker
    // can tell.
    let mut storage = sub.queues.storage(JobKind::RegisterUser);
    storage.push(JobMessage { job_id: uuid::Uuid::new_v4() }).await.unwrap();
    assert_eq!(worker.fetch().await, (0, false), "no announcement, no fetch");

    let seen = sub.signal.announcements();
    assert_eq!(sub.poll(), Poll::Pending);
    sub.counter.until_woken(0).await;
    assert_eq!(sub.poll(), Poll::Ready(Some(())), "the tick wakes the worker");
    assert_eq!(sub.signal.announcements(), seen + 1, "and counts as an announcement");
    assert_eq!(worker.fetch().await, (1, true), "so the next fetch goes to Redis");
}

#[tokio::test]
async fn a_push_announces_its_task_once_queued_also_when_redis_lost_the_script() {
    let sub = Subscribed::new().await;
    let mut worker = Fetching::new(&sub, 4).await;
    assert_eq!(worker.fetch().await, (0, true));

    let seen = sub.signal.announcements();
    sub.queues.push(JobKind::RegisterUser, uuid::Uuid::new_v4()).await.unwrap();
    announced_beyond(&sub.signal, seen).await;
    assert_eq!(worker.fetch().await, (1, true), "the announced task is there to fetch");

    // A restarted Redis has no scripts: the push's first call is refused, and the push
    // loads its script and calls again; the announcement after that call finds the task.
    let mut admin = sub.env.redis().await;
    let _: () = redis::cmd("SCRIPT").arg("FLUSH").query_async(&mut admin).await.unwrap();
    let seen = sub.signal.announcements();
    sub.queues.push(JobKind::RegisterUser, uuid::Uuid::new_v4()).await.unwrap();
    announced_beyond(&sub.signal, seen).await;
    assert_eq!(worker.fetch().await, (1, true), "the task pushed at the retry is fetched");
}
