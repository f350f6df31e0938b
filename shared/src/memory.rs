//! Keeps resident memory proportional to the work in hand, and allocation cheap.

use std::ffi::{c_uint, c_void, CStr, CString};
use std::sync::OnceLock;

// glibc's malloc/free were the largest single cost in the API's profile; jemalloc takes
// 15-20 % less CPU per request (docs/performance.md). Every binary linking this crate uses
// it, and on Linux its unprefixed symbols serve the C libraries too (libsodium,
// libjpeg-turbo), so one allocator decides what is kept and what is given back.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Two arenas (the machines are small), and freed pages handed back within a second by
/// jemalloc's own thread, so an idle process is as small as it was under glibc.
#[allow(non_upper_case_globals)]
#[cfg_attr(all(target_os = "linux", target_env = "gnu"), export_name = "malloc_conf")]
#[cfg_attr(not(all(target_os = "linux", target_env = "gnu")), export_name = "_rjem_malloc_conf")]
pub static malloc_conf: &[u8] =
    b"narenas:2,background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0\0";

/// A jemalloc arena that keeps what its threads free until told to give it back.
///
/// An Argon2id hash takes a 19 MiB block and frees it. From the usual arenas each block
/// came back fresh from the kernel, which zeroed and mapped it page by page: 30-45 % of a
/// hash's time (docs/performance.md). Threads bound here reuse the same block from one
/// hash to the next; `give_back` returns it once no hash is running.
pub struct KeptArena {
    index: c_uint,
}

impl KeptArena {
    /// The process's one kept arena; `None` if jemalloc refused to make it, and the
    /// threads then allocate as every other thread does.
    pub fn get() -> Option<&'static KeptArena> {
        static ARENA: OnceLock<Option<KeptArena>> = OnceLock::new();
        ARENA
            .get_or_init(|| match KeptArena::create() {
                Ok(arena) => Some(arena),
                Err(code) => {
                    tracing::warn!(code, "no kept arena for the hashing threads");
                    None
                }
            })
            .as_ref()
    }

    fn create() -> Result<KeptArena, i32> {
        let mut index: c_uint = 0;
        let mut len = std::mem::size_of::<c_uint>();
        // SAFETY: `arenas.create` writes the new arena's index, a c_uint, into `index`,
        // whose size `len` gives.
        check(unsafe {
            tikv_jemalloc_sys::mallctl(
                c"arenas.create".as_ptr(),
                (&raw mut index).cast::<c_void>(),
                &mut len,
                std::ptr::null_mut(),
                0,
            )
        })?;
        let arena = KeptArena { index };
        // Never decay: only `give_back` returns pages.
        arena.set(&format!("arena.{index}.dirty_decay_ms"), -1)?;
        arena.set(&format!("arena.{index}.muzzy_decay_ms"), -1)?;
        Ok(arena)
    }

    fn set(&self, name: &str, value: isize) -> Result<(), i32> {
        let name = CString::new(name).map_err(|_| libc::EINVAL)?;
        write(&name, Some(value))
    }

    /// Makes the calling thread allocate from this arena from now on.
    pub fn bind_this_thread(&self) {
        if let Err(code) = write(c"thread.arena", Some(self.index)) {
            tracing::warn!(code, "a hashing thread allocates from the usual arenas");
        }
    }

    /// Returns the arena's free pages to the system; blocks still in use stay.
    pub fn give_back(&self) {
        let Ok(name) = CString::new(format!("arena.{}.purge", self.index)) else { return };
        if let Err(code) = write::<()>(&name, None) {
            tracing::warn!(code, "the hashing arena kept its free pages");
        }
    }
}

/// Sets jemalloc's control `name` to `value`, whose type must be the one the control takes
/// (`thread.arena` a c_uint, the decay settings an ssize_t); `None` for a control that
/// takes no value (`arena.<i>.purge`).
fn write<T>(name: &CStr, mut value: Option<T>) -> Result<(), i32> {
    let (new, len) = match value.as_mut() {
        Some(value) => ((value as *mut T).cast::<c_void>(), std::mem::size_of::<T>()),
        None => (std::ptr::null_mut(), 0),
    };
    // SAFETY: `new` points into `value`, which outlives the call, at `len` readable bytes
    // (or is null with `len` 0), and nothing is read back.
    check(unsafe {
        tikv_jemalloc_sys::mallctl(
            name.as_ptr(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            new,
            len,
        )
    })
}

fn check(code: i32) -> Result<(), i32> {
    if code == 0 {
        Ok(())
    } else {
        Err(code)
    }
}

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
    use super::KeptArena;
    use crate::auth::argon2id;

    /// Minor page faults taken by the calling thread so far.
    fn faults_of_this_thread() -> i64 {
        // SAFETY: getrusage fills the zeroed struct it is given.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        assert_eq!(unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut usage) }, 0);
        usage.ru_minflt
    }

    fn faults_of_one_hash() -> i64 {
        let before = faults_of_this_thread();
        argon2id::hash(b"correct horse battery staple").expect("hashed");
        faults_of_this_thread() - before
    }

    // The block is 19 MiB: 4,864 pages of 4 KiB.
    const BLOCK_PAGES: i64 = 19 * 1024 / 4;

    #[test]
    fn a_bound_thread_reuses_its_hashing_block_until_it_is_given_back() {
        std::thread::spawn(|| {
            let arena = KeptArena::get().expect("the kept arena");
            arena.bind_this_thread();
            let first = faults_of_one_hash();
            let second = faults_of_one_hash();
            arena.give_back();
            let after_giving_back = faults_of_one_hash();
            arena.give_back();
            assert!(first > BLOCK_PAGES / 2, "the first hash maps its block: {first} faults");
            assert!(second < BLOCK_PAGES / 10, "the second hash reuses it: {second} faults");
            assert!(
                after_giving_back > BLOCK_PAGES / 2,
                "a hash after give_back maps a block again: {after_giving_back} faults"
            );
        })
        .join()
        .expect("the hashing thread");
    }

    #[test]
    fn an_unbound_thread_takes_a_fresh_block_for_each_hash() {
        std::thread::spawn(|| {
            faults_of_one_hash();
            let second = faults_of_one_hash();
            assert!(
                second > BLOCK_PAGES / 2,
                "the second hash maps a block again: {second} faults"
            );
        })
        .join()
        .expect("the hashing thread");
    }
}
