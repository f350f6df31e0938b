//! Keeps resident memory proportional to the work in hand.

/// Argon2 allocates a ~19 MiB block per hash on a blocking thread. glibc raises its mmap
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
