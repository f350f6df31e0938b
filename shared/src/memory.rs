//! Keeps resident memory proportional to the work in hand, and allocation cheap.

// glibc's malloc/free were the largest single cost in the API's profile; jemalloc takes
// 15-20 % less CPU per request (docs/performance.md). Every binary linking this crate uses it.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Two arenas (the machines are small), and freed pages handed back within a second by
/// jemalloc's own thread, so an idle process is as small as it was under glibc.
#[allow(non_upper_case_globals)]
#[export_name = "_rjem_malloc_conf"]
pub static malloc_conf: &[u8] =
    b"narenas:2,background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0\0";

/// C libraries (libjpeg-turbo) still allocate through glibc. Argon2 allocated a ~19 MiB
/// block per hash on a blocking thread when it was pure Rust. glibc raises its mmap
/// threshold after such a block is freed, so later blocks come from per-thread arenas that
/// are never given back: a burst of logins left the API at 2 GiB resident. A fixed threshold
/// keeps large blocks in mmap, returned to the system as soon as they are freed.
pub fn return_large_blocks_to_the_system() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        const THRESHOLD: libc::c_int = 1024 * 1024;
        // SAFETY: mallopt only changes allocator tuning; it is called at start-up, before
        // other threads allocate.
        let ok = unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, THRESHOLD) };
        if ok != 1 {
            tracing::warn!(
                "mallopt(M_MMAP_THRESHOLD) was refused; memory may stay high after bursts"
            );
        }
    }
}
