//! Followers of single jobs, each handed only its own job's events.
//!
//! A job's events used to reach every receiver of the instance's event fan-out, and each
//! follower (a request waiting on its job, a socket following one) was woken to compare ids
//! and drop the rest: with sixteen registrations waiting, each job event was copied and
//! looked at sixteen times. Here an event goes to its job's followers alone.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::mpsc;
use uuid::Uuid;

use crate::models::JobView;

/// A job has few changes (queued, running, each retry, its end); a follower that lets more
/// than this pile up has missed some, and reads the job instead.
const BACKLOG: usize = 16;

#[derive(Clone, Default)]
pub struct JobFollowers {
    by_job: Arc<Mutex<HashMap<Uuid, Vec<Follower>>>>,
    next_key: Arc<AtomicU64>,
}

struct Follower {
    key: u64,
    changes: mpsc::Sender<JobView>,
    missed: Arc<AtomicBool>,
}

/// What a follower learns next.
#[derive(Debug)]
pub enum Heard {
    Change(JobView),
    /// Changes came faster than the follower took them and some were dropped: the job as
    /// it stands must be read.
    Missed,
}

impl JobFollowers {
    /// Starts following job `id`: every event of it delivered from now on, until the
    /// returned follow is dropped.
    pub fn follow(&self, id: Uuid) -> FollowedJob {
        let (changes, heard) = mpsc::channel(BACKLOG);
        let key = self.next_key.fetch_add(1, Ordering::Relaxed);
        let missed = Arc::new(AtomicBool::new(false));
        let follower = Follower { key, changes, missed: missed.clone() };
        self.lock().entry(id).or_default().push(follower);
        FollowedJob { id, key, heard, missed, followers: self.clone() }
    }

    /// Hands `job` to its followers; a job nobody follows costs one lookup.
    pub fn deliver(&self, job: JobView) {
        let followers = self.lock();
        let Some(following) = followers.get(&job.id) else {
            return;
        };
        for follower in following {
            if follower.changes.try_send(job.clone()).is_err() {
                follower.missed.store(true, Ordering::Release);
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<Uuid, Vec<Follower>>> {
        // The map holds no invariant a panicking holder could break halfway.
        self.by_job.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// One follow of one job; dropping it (a finished or abandoned wait) stops the deliveries.
pub struct FollowedJob {
    id: Uuid,
    key: u64,
    heard: mpsc::Receiver<JobView>,
    missed: Arc<AtomicBool>,
    followers: JobFollowers,
}

impl FollowedJob {
    /// The next change, in the order the events arrived. Cancel-safe: a change is taken
    /// only by the call that returns it.
    pub async fn next(&mut self) -> Heard {
        // What was kept comes first; that some were dropped after it, once it is taken.
        if let Ok(job) = self.heard.try_recv() {
            return Heard::Change(job);
        }
        if self.missed.swap(false, Ordering::Acquire) {
            return Heard::Missed;
        }
        match self.heard.recv().await {
            Some(job) => Heard::Change(job),
            // The sender lives in the map as long as this follow does; were it gone, only a
            // read of the job would tell more.
            None => std::future::pending().await,
        }
    }
}

impl Drop for FollowedJob {
    fn drop(&mut self) {
        let mut followers = self.followers.lock();
        if let Some(following) = followers.get_mut(&self.id) {
            following.retain(|f| f.key != self.key);
            if following.is_empty() {
                followers.remove(&self.id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::{JobKind, JobStatus};

    fn job(id: Uuid, attempts: u32) -> JobView {
        let now = chrono::Utc::now();
        JobView {
            id,
            kind: JobKind::RegisterUser,
            status: JobStatus::Running,
            attempts,
            result: None,
            error: None,
            created_at: now,
            updated_at: now,
            finished_at: None,
        }
    }

    /// The next change's job and attempt.
    async fn change(follow: &mut FollowedJob) -> (Uuid, u32) {
        match follow.next().await {
            Heard::Change(job) => (job.id, job.attempts),
            Heard::Missed => panic!("a change was missed"),
        }
    }

    fn nothing_waiting(follow: &mut FollowedJob) -> bool {
        follow.heard.try_recv().is_err() && !follow.missed.load(Ordering::Acquire)
    }

    fn jobs_followed(followers: &JobFollowers) -> usize {
        followers.lock().len()
    }

    #[tokio::test]
    async fn a_follower_hears_its_own_job_in_order_and_no_other() {
        let followers = JobFollowers::default();
        let (mine, other) = (Uuid::new_v4(), Uuid::new_v4());
        let mut follow = followers.follow(mine);
        followers.deliver(job(other, 1));
        followers.deliver(job(mine, 1));
        followers.deliver(job(other, 2));
        followers.deliver(job(mine, 2));
        assert_eq!(change(&mut follow).await, (mine, 1));
        assert_eq!(change(&mut follow).await, (mine, 2));
        assert!(nothing_waiting(&mut follow));
    }

    #[tokio::test]
    async fn every_follower_of_a_job_hears_it() {
        let followers = JobFollowers::default();
        let id = Uuid::new_v4();
        let (mut first, mut second) = (followers.follow(id), followers.follow(id));
        followers.deliver(job(id, 1));
        assert_eq!(change(&mut first).await, (id, 1));
        assert_eq!(change(&mut second).await, (id, 1));

        drop(first);
        followers.deliver(job(id, 2));
        assert_eq!(change(&mut second).await, (id, 2), "one follow's end leaves the other");
    }

    #[tokio::test]
    async fn a_dropped_follow_leaves_nothing_behind() {
        let followers = JobFollowers::default();
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let follows = [followers.follow(a), followers.follow(a), followers.follow(b)];
        assert_eq!(jobs_followed(&followers), 2);
        drop(follows);
        assert_eq!(jobs_followed(&followers), 0);
        // Delivered to nobody, and nothing kept for a later follower.
        followers.deliver(job(a, 1));
        let mut late = followers.follow(a);
        assert!(nothing_waiting(&mut late));
    }

    #[tokio::test]
    async fn a_follower_that_falls_behind_hears_what_was_kept_then_that_it_missed_some() {
        let followers = JobFollowers::default();
        let id = Uuid::new_v4();
        let mut follow = followers.follow(id);
        let sent = BACKLOG as u32 + 3;
        for attempt in 1..=sent {
            followers.deliver(job(id, attempt));
        }
        for attempt in 1..=BACKLOG as u32 {
            assert_eq!(change(&mut follow).await, (id, attempt));
        }
        assert!(matches!(follow.next().await, Heard::Missed));
        // Caught up: later changes arrive again.
        followers.deliver(job(id, sent + 1));
        assert_eq!(change(&mut follow).await, (id, sent + 1));
    }
}
