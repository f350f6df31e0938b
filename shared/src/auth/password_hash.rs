use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use super::argon2id;
use crate::domain::Password;
use crate::memory::KeptArena;

fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// Hashes handed to the pool and not yet finished, queued or running.
static IN_HAND: AtomicUsize = AtomicUsize::new(0);

/// One hash in hand, from its hand-over to the end of its job (or the job's unwinding).
struct InHand;

impl InHand {
    fn take() -> Self {
        IN_HAND.fetch_add(1, Ordering::SeqCst);
        InHand
    }
}

impl Drop for InHand {
    fn drop(&mut self) {
        // The last hash of a burst (none other queued or running) hands the blocks back
        // once its answer is on its way, so an idle process holds none.
        if IN_HAND.fetch_sub(1, Ordering::SeqCst) == 1 {
            if let Some(arena) = KeptArena::get() {
                arena.give_back();
            }
        }
    }
}

/// The hashing threads: one per core, at the lowest priority there is (`SCHED_IDLE`), so
/// that any other thread that wakes (a request, the job pipeline's handoffs, a worker,
/// MariaDB or Redis on the same machine) takes the core from a hash at once. Nice levels are
/// not enough: the kernel lets a woken nice-0 thread wait out a nice-19 thread's slice.
/// The price: while the cores are saturated by other work, hashes wait for it.
///
/// At most one hash per core runs at a time, each holding its ~19 MiB block; the others wait
/// in the pool's queue, in the order they came, holding only their input. A thread that
/// finishes a hash takes the next one from the queue at once, without waiting for the
/// requests' runtime to hand it over.
///
/// They allocate from the kept arena, so a run of hashes reuses its blocks instead of
/// having the kernel map and zero 19 MiB for each.
fn hashing_pool() -> Result<&'static rayon::ThreadPool, PasswordHashError> {
    static POOL: OnceLock<Result<rayon::ThreadPool, String>> = OnceLock::new();
    POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(cores())
            .thread_name(|i| format!("argon2-{i}"))
            .start_handler(|_| {
                run_this_thread_only_when_idle();
                if let Some(arena) = KeptArena::get() {
                    arena.bind_this_thread();
                }
            })
            // A panicking hash drops its sender, and the request gets an error; rayon's
            // default would abort the process.
            .panic_handler(|_| tracing::error!("a password hashing job panicked"))
            .build()
            .map_err(|e| e.to_string())
    })
    .as_ref()
    .map_err(|e| PasswordHashError::Join(e.clone()))
}

#[cfg(target_os = "linux")]
fn run_this_thread_only_when_idle() {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: a plain syscall on the calling thread (pid 0), reading `param` only. Any
    // unprivileged thread may lower itself to SCHED_IDLE; failing leaves the default
    // policy, which only makes the others slower.
    let failed = unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) } != 0;
    if failed {
        tracing::warn!("the hashing thread keeps the default scheduling policy");
    }
}

#[cfg(not(target_os = "linux"))]
fn run_this_thread_only_when_idle() {}

async fn on_hashing_thread<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, PasswordHashError> + Send + 'static,
) -> Result<T, PasswordHashError> {
    let pool = hashing_pool()?;
    let (done, outcome) = tokio::sync::oneshot::channel();
    let in_hand = InHand::take();
    pool.spawn(move || {
        // A request that went away while its hash waited (a client that hung up, a timeout)
        // costs no hash.
        if !done.is_closed() {
            // The receiver is gone only if the request was dropped; nothing to tell then.
            let _ = done.send(work());
        }
        drop(in_hand);
    });
    outcome.await.map_err(|e| PasswordHashError::Join(e.to_string()))?
}

#[derive(Debug, thiserror::Error)]
pub enum PasswordHashError {
    #[error("password hashing failed: {0}")]
    Hashing(String),
    #[error("the hashing thread stopped: {0}")]
    Join(String),
}

/// Argon2id (19 MiB, 2 passes, 1 lane) on a blocking thread: hashing is deliberately slow
/// and must not stall the async runtime.
pub async fn hash_password(password: Password) -> Result<String, PasswordHashError> {
    on_hashing_thread(move || {
        argon2id::hash(password.expose().as_bytes()).map_err(PasswordHashError::Hashing)
    })
    .await
}

/// Verifies on a blocking thread. With `stored_hash = None` it still spends the time of one
/// verification, so an unknown user and a wrong password cannot be told apart by timing.
pub async fn verify_password(
    candidate: String,
    stored_hash: Option<String>,
) -> Result<bool, PasswordHashError> {
    on_hashing_thread(move || {
        let hash = stored_hash.unwrap_or_else(|| DUMMY_HASH.to_owned());
        let ok =
            argon2id::verify(&hash, candidate.as_bytes()).map_err(PasswordHashError::Hashing)?;
        Ok(ok && hash != DUMMY_HASH)
    })
    .await
}

// Argon2id hash of a random string nobody knows; used only to spend equal time.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0N0jzq/AcYQe5sDiP4bbmcrEhBWAfpgOCpiJ6NYw5Qs";

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_and_verifies() {
        let pw = Password::parse("correct horse battery", None).unwrap();
        let hash = hash_password(pw).await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(!hash.contains("correct horse"));
        assert!(verify_password("correct horse battery".into(), Some(hash.clone())).await.unwrap());
        assert!(!verify_password("wrong".into(), Some(hash)).await.unwrap());
        assert!(!verify_password("anything".into(), None).await.unwrap());
    }

    /// Signals when dropped: the job that held it is over, whether its work ran or not.
    struct Consumed(tokio::sync::mpsc::UnboundedSender<()>);

    impl Drop for Consumed {
        fn drop(&mut self) {
            let _ = self.0.send(());
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_hash_whose_request_went_away_before_its_turn_never_runs() {
        use std::sync::atomic::AtomicBool;
        use std::sync::{Arc, Mutex};
        use std::time::Duration;

        // Every hashing thread held until released.
        let (started, mut holding) = tokio::sync::mpsc::unbounded_channel();
        let (release, released) = std::sync::mpsc::channel::<()>();
        let released = Arc::new(Mutex::new(released));
        let holders: Vec<_> = (0..cores())
            .map(|_| {
                let started = started.clone();
                let released = released.clone();
                tokio::spawn(on_hashing_thread(move || {
                    let _ = started.send(());
                    let _ = released.lock().map(|r| r.recv());
                    Ok(())
                }))
            })
            .collect();
        for _ in 0..cores() {
            holding.recv().await.expect("a holder started");
        }

        let ran = Arc::new(AtomicBool::new(false));
        let (consumed, mut over) = tokio::sync::mpsc::unbounded_channel();
        let waiting = {
            let ran = ran.clone();
            let consumed = Consumed(consumed);
            on_hashing_thread(move || {
                let _held = &consumed;
                ran.store(true, Ordering::SeqCst);
                Ok(())
            })
        };
        // The request goes away while its hash waits for a thread.
        assert!(tokio::time::timeout(Duration::from_millis(50), waiting).await.is_err());
        for _ in 0..cores() {
            release.send(()).expect("a holder waits");
        }
        for holder in holders {
            holder.await.expect("the holder's task").expect("the holder's job");
        }
        tokio::time::timeout(Duration::from_secs(10), over.recv())
            .await
            .expect("the dropped request's job came off the queue");
        assert!(!ran.load(Ordering::SeqCst), "the hash of a request that went away ran");
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn hashes_run_at_the_idle_scheduling_policy() {
        // SAFETY: reads the calling (hashing) thread's own policy.
        let policy =
            on_hashing_thread(|| Ok(unsafe { libc::sched_getscheduler(0) })).await.unwrap();
        assert_eq!(policy, libc::SCHED_IDLE);
    }
}
