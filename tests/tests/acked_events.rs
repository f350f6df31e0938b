//! A run's outcome event goes to Redis behind its task's acknowledgement, in one pipeline on
//! the queue's connection, against a real Redis and a real apalis worker. An event whose
//! acknowledgement does not come goes out once its patience has passed, and a worker that
//! stops sends what it still holds.

use std::sync::Arc;
use std::time::{Duration, Instant};

use apalis_core::error::BoxDynError;
use apalis_core::task::data::Data;
use apalis_core::task::task_id::TaskId;
use apalis_core::worker::builder::WorkerBuilder;
use dispatch_shared::events::{self, Event, EventPublisher};
use dispatch_shared::jobs::{JobKind, JobMessage, JobQueues};
use dispatch_shared::redis_conn;
use dispatch_tests::TestEnv;
use dispatch_worker::acked_events::AckedEvents;
use dispatch_worker::wake::Announcements;
use futures::StreamExt;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// A patience no test reaches: an event heard went out with an acknowledgement.
const NEVER: Duration = Duration::from_secs(3600);
/// A tick period no test reaches.
const NO_TICK: Duration = Duration::from_secs(3600);
/// How long a test waits for an event it expects.
const HEARD_WITHIN: Duration = Duration::from_secs(10);

struct Redis {
    env: TestEnv,
    client: redis::Client,
    queues: JobQueues,
}

impl Redis {
    async fn new() -> Self {
        let env = TestEnv::new();
        let client = redis::Client::open(env.redis_url.as_str()).unwrap();
        let queues = JobQueues::new(redis_conn::connect(&client).await.unwrap(), &env.namespace);
        Self { env, client, queues }
    }

    async fn acked_events(&self, patience: Duration) -> Arc<AckedEvents> {
        let conn = redis_conn::connect(&self.client).await.unwrap();
        AckedEvents::spawn(
            EventPublisher::new(conn, &self.env.namespace),
            &self.env.namespace,
            patience,
        )
    }

    /// The events channel, subscribed to before anything is published.
    async fn listen(&self) -> redis::aio::PubSub {
        let mut pubsub = self.client.get_async_pubsub().await.unwrap();
        pubsub.subscribe(events::channel(&self.env.namespace)).await.unwrap();
        pubsub
    }
}

/// The user id of the next event heard on `pubsub`, within `HEARD_WITHIN`.
async fn next_user_changed(pubsub: &mut redis::aio::PubSub) -> Uuid {
    let message = tokio::time::timeout(HEARD_WITHIN, pubsub.on_message().next())
        .await
        .expect("an event within the wait")
        .expect("the subscription open");
    let payload: String = message.get_payload().unwrap();
    match serde_json::from_str::<Event>(&payload).unwrap() {
        Event::UserChanged { user_id } => user_id,
        other => panic!("unexpected event {other:?}"),
    }
}

/// The handler: holds an event naming the job, for its task's acknowledgement to carry.
async fn hold_an_event(
    message: JobMessage,
    acked: Data<Arc<AckedEvents>>,
    task: TaskId,
) -> Result<(), BoxDynError> {
    acked.hold(&task, &Event::UserChanged { user_id: message.job_id });
    Ok(())
}

#[tokio::test]
async fn an_outcome_event_goes_out_behind_its_tasks_acknowledgement() {
    let redis = Redis::new().await;
    let kind = JobKind::RegisterUser;
    let channel = redis.queues.announcement_channel(kind);
    let announcements =
        Announcements::subscribe(&redis.client, vec![channel.clone()], &CancellationToken::new())
            .await
            .unwrap()
            .expect("subscribed");
    let acked = redis.acked_events(NEVER).await;
    let config = redis.queues.consumer_config(kind, 1);
    let done_set = config.done_jobs_set();
    let storage = announcements.storage(&channel, config, NO_TICK, acked.clone()).unwrap();
    let mut pubsub = redis.listen().await;
    let worker = WorkerBuilder::new(format!("{}-acked", redis.env.namespace))
        .backend(storage)
        .data(acked.clone())
        .build(hold_an_event);
    let running = tokio::spawn(worker.run());

    let mut admin = redis.env.redis().await;
    for _ in 0..3 {
        let job = Uuid::new_v4();
        let acknowledged: usize =
            redis::cmd("SCARD").arg(&done_set).query_async(&mut admin).await.unwrap();
        redis.queues.push(kind, job).await.unwrap();
        // The patience is an hour: only the acknowledgement could have carried it.
        assert_eq!(next_user_changed(&mut pubsub).await, job);
        // Sent behind the acknowledgement's script, so the task is acknowledged by the time
        // its event is heard.
        let now: usize = redis::cmd("SCARD").arg(&done_set).query_async(&mut admin).await.unwrap();
        assert_eq!(now, acknowledged + 1, "the task is acknowledged before its event is out");
    }
    running.abort();
}

#[tokio::test]
async fn an_event_whose_acknowledgement_does_not_come_goes_out_after_its_patience() {
    let redis = Redis::new().await;
    let patience = Duration::from_millis(300);
    let acked = redis.acked_events(patience).await;
    let mut pubsub = redis.listen().await;

    let user = Uuid::new_v4();
    let held_at = Instant::now();
    acked.hold(
        &TaskId::from_string("a-task-nobody-acknowledges"),
        &Event::UserChanged { user_id: user },
    );
    assert_eq!(next_user_changed(&mut pubsub).await, user);
    assert!(held_at.elapsed() >= patience, "published before its patience ran out");

    // The sweep sleeps when nothing is held, and wakes again for the next one.
    let next = Uuid::new_v4();
    acked.hold(&TaskId::from_string("another-task"), &Event::UserChanged { user_id: next });
    assert_eq!(next_user_changed(&mut pubsub).await, next);
}

#[tokio::test]
async fn a_worker_that_stops_sends_the_events_it_holds() {
    let redis = Redis::new().await;
    let acked = redis.acked_events(NEVER).await;
    let mut pubsub = redis.listen().await;

    let user = Uuid::new_v4();
    acked.hold(&TaskId::from_string("held-at-shutdown"), &Event::UserChanged { user_id: user });
    drop(acked);
    assert_eq!(next_user_changed(&mut pubsub).await, user);
}
