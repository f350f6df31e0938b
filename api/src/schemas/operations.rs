//! The operators' bodies: queues, workers, and the job filters.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use dispatch_core::operations::{MinuteCount, QueueView, WorkerView};
use dispatch_shared::jobs::{JobKind, JobStatus};
use poem_openapi::types::Example;
use poem_openapi::{Enum, Object};

use super::example_time;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum JobKindValue {
    RegisterUser,
    ResizeImage,
    SendMail,
    DailyMail,
}

impl From<JobKindValue> for JobKind {
    fn from(v: JobKindValue) -> Self {
        match v {
            JobKindValue::RegisterUser => JobKind::RegisterUser,
            JobKindValue::ResizeImage => JobKind::ResizeImage,
            JobKindValue::SendMail => JobKind::SendMail,
            JobKindValue::DailyMail => JobKind::DailyMail,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum JobStatusValue {
    Queued,
    Running,
    Succeeded,
    Failed,
}

impl From<JobStatusValue> for JobStatus {
    fn from(v: JobStatusValue) -> Self {
        match v {
            JobStatusValue::Queued => JobStatus::Queued,
            JobStatusValue::Running => JobStatus::Running,
            JobStatusValue::Succeeded => JobStatus::Succeeded,
            JobStatusValue::Failed => JobStatus::Failed,
        }
    }
}

/// One job kind's queue, counted from the job rows.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct Queue {
    pub kind: String,
    pub queued: u64,
    pub running: u64,
    pub failed_last_24h: u64,
    pub succeeded_last_24h: u64,
    /// How long the oldest queued job has waited; null when nothing waits.
    #[oai(nullable)]
    pub oldest_queued_seconds: Option<u64>,
    /// Live worker instances that take this kind.
    pub workers: u64,
}

impl From<QueueView> for Queue {
    fn from(v: QueueView) -> Self {
        Self {
            kind: v.kind.as_str().to_owned(),
            queued: v.queued,
            running: v.running,
            failed_last_24h: v.failed_last_24h,
            succeeded_last_24h: v.succeeded_last_24h,
            oldest_queued_seconds: v.oldest_queued_seconds,
            workers: v.workers,
        }
    }
}

#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct Queues {
    pub queues: Vec<Queue>,
}

/// A live worker instance, as it last reported itself.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct Worker {
    pub instance: String,
    pub kinds: Vec<String>,
    /// Jobs of each kind it runs at once.
    pub concurrency: BTreeMap<String, u64>,
    pub started_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub jobs_in_hand: u64,
}

impl From<WorkerView> for Worker {
    fn from(v: WorkerView) -> Self {
        Self {
            instance: v.instance,
            kinds: v.kinds,
            concurrency: v.concurrency.into_iter().map(|(kind, n)| (kind, n as u64)).collect(),
            started_at: v.started_at,
            last_seen_at: v.last_seen_at,
            jobs_in_hand: v.jobs_in_hand,
        }
    }
}

#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct Workers {
    pub workers: Vec<Worker>,
}

impl Example for Queue {
    fn example() -> Self {
        Self {
            kind: "register_user".into(),
            queued: 3,
            running: 2,
            failed_last_24h: 1,
            succeeded_last_24h: 1250,
            oldest_queued_seconds: Some(4),
            workers: 2,
        }
    }
}

impl Example for Queues {
    fn example() -> Self {
        Self { queues: vec![Queue::example()] }
    }
}

impl Example for Worker {
    fn example() -> Self {
        Self {
            instance: "dispatch-worker-3f9c0a1b2c4d".into(),
            kinds: vec!["register_user".into(), "send_mail".into()],
            concurrency: [("register_user".into(), 8), ("send_mail".into(), 8)].into(),
            started_at: example_time(),
            last_seen_at: example_time(),
            jobs_in_hand: 1,
        }
    }
}

impl Example for Workers {
    fn example() -> Self {
        Self { workers: vec![Worker::example()] }
    }
}

/// Jobs of one kind finished within one minute.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct FinishedMinute {
    /// The minute's start.
    pub minute: DateTime<Utc>,
    pub kind: String,
    pub finished: u64,
}

impl From<MinuteCount> for FinishedMinute {
    fn from(v: MinuteCount) -> Self {
        Self { minute: v.minute, kind: v.kind, finished: v.finished }
    }
}

impl Example for FinishedMinute {
    fn example() -> Self {
        Self { minute: example_time(), kind: "send_mail".into(), finished: 42 }
    }
}

/// Jobs finished per minute and kind over the last hour; minutes without any are left out.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct Throughput {
    pub minutes: Vec<FinishedMinute>,
}

impl Example for Throughput {
    fn example() -> Self {
        Self { minutes: vec![FinishedMinute::example()] }
    }
}
