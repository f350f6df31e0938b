//! Keeps resident memory proportional to the work in hand, and allocation cheap.

use std::ffi::{c_uint, c_void, CStr, CString};
use std::sync::OnceLock;

use tikv_jemalloc_sys::extent_hooks_t;

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

/// A jemalloc arena that keeps what its threads free until told to give it back, in huge
/// pages where the kernel has them.
///
/// An Argon2id hash takes a 19 MiB block and frees it. From the usual arenas each block
/// came back fresh from the kernel, which zeroed and mapped it page by page: 30-45 % of a
/// hash's time (docs/performance.md). Threads bound here reuse the same block from one
/// hash to the next; `give_back` returns it once no hash is running.
///
/// Argon2id reads its block at pseudo-random 1 KiB offsets, so with 4 KiB pages most reads
/// miss the TLB; the arena's memory is advised as huge pages (`MADV_HUGEPAGE`, which
/// Debian's default `madvise` mode honours), a 2 MiB page covering 512 of them.
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
        let mut hooks = huge_pages::hooks()?;
        // SAFETY: `arenas.create` writes the new arena's index, a c_uint, into `index`,
        // whose size `len` gives, and reads the hooks' address from `hooks`; the hooks
        // live as long as the process, as jemalloc requires.
        check(unsafe {
            tikv_jemalloc_sys::mallctl(
                c"arenas.create".as_ptr(),
                (&raw mut index).cast::<c_void>(),
                &mut len,
                (&raw mut hooks).cast::<c_void>(),
                std::mem::size_of::<*mut extent_hooks_t>(),
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

/// The kept arena's extent hooks: jemalloc's own, with every mapping they make advised as
/// huge pages.
mod huge_pages {
    use std::ffi::{c_uint, c_void};
    use std::sync::OnceLock;

    use tikv_jemalloc_sys::{extent_hooks_t, mallctl};

    const HUGE_PAGE: usize = 2 << 20;
    const BLOCK_SIZED: usize = 8 << 20;

    /// jemalloc's default hooks, as read from arena 0 (which always uses them).
    struct Defaults(*mut extent_hooks_t);
    // SAFETY: jemalloc's default hooks are a static table it never frees or changes.
    unsafe impl Send for Defaults {}
    unsafe impl Sync for Defaults {}

    static DEFAULTS: OnceLock<Defaults> = OnceLock::new();
    static HOOKS: OnceLock<extent_hooks_t> = OnceLock::new();

    /// The hooks to create the kept arena with; they live as long as the process.
    pub(super) fn hooks() -> Result<*mut extent_hooks_t, i32> {
        let defaults = match DEFAULTS.get() {
            Some(defaults) => defaults.0,
            None => {
                let mut defaults: *mut extent_hooks_t = std::ptr::null_mut();
                let mut len = std::mem::size_of::<*mut extent_hooks_t>();
                // SAFETY: `arena.0.extent_hooks` writes a pointer to the arena's hooks into
                // `defaults`, whose size `len` gives.
                super::check(unsafe {
                    mallctl(
                        c"arena.0.extent_hooks".as_ptr(),
                        (&raw mut defaults).cast::<c_void>(),
                        &mut len,
                        std::ptr::null_mut(),
                        0,
                    )
                })?;
                if defaults.is_null() {
                    return Err(libc::EINVAL);
                }
                DEFAULTS.get_or_init(|| Defaults(defaults)).0
            }
        };
        // SAFETY: `defaults` points to jemalloc's static hook table (read above).
        let table = unsafe { *defaults };
        if table.alloc.is_none() {
            return Err(libc::EINVAL);
        }
        let hooks = HOOKS.get_or_init(|| extent_hooks_t { alloc: Some(alloc), ..table });
        // jemalloc takes a mutable pointer but never writes through it.
        Ok(std::ptr::from_ref(hooks).cast_mut())
    }

    /// jemalloc's allocation, 2 MiB-aligned where it may choose the address, then advised
    /// as huge pages if it is block-sized. The advice only fails where the kernel has no huge pages, and the
    /// memory then stays in ordinary pages.
    unsafe extern "C" fn alloc(
        _hooks: *mut extent_hooks_t,
        new_addr: *mut c_void,
        size: usize,
        alignment: usize,
        zero: *mut bool,
        commit: *mut bool,
        arena_ind: c_uint,
    ) -> *mut c_void {
        let Some(defaults) = DEFAULTS.get() else { return std::ptr::null_mut() };
        // SAFETY: `defaults` is jemalloc's static hook table, whose `alloc` `hooks` checked.
        let Some(default_alloc) = (unsafe { (*defaults.0).alloc }) else {
            return std::ptr::null_mut();
        };
        let alignment = if new_addr.is_null() { alignment.max(HUGE_PAGE) } else { alignment };
        // SAFETY: jemalloc's own allocation hook, called with the arguments jemalloc gave
        // this one (a larger power-of-two alignment satisfies the one asked for).
        let extent = unsafe {
            default_alloc(defaults.0, new_addr, size, alignment, zero, commit, arena_ind)
        };
        // The blocks, not the small allocations' slabs: jemalloc maps those 2 MiB at a time,
        // and a huge page would keep all 2 MiB resident for a few strings once the blocks
        // are given back.
        if !extent.is_null() && size >= BLOCK_SIZED {
            advise_huge(extent, size);
        }
        extent
    }

    #[cfg(target_os = "linux")]
    fn advise_huge(extent: *mut c_void, size: usize) {
        // SAFETY: advice on `size` bytes jemalloc has just mapped at `extent`.
        unsafe { libc::madvise(extent, size, libc::MADV_HUGEPAGE) };
    }

    #[cfg(not(target_os = "linux"))]
    fn advise_huge(_extent: *mut c_void, _size: usize) {}
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

    /// An arena made as the process's kept arena is, but only this test's: the hashing
    /// pool gives that one back after its hashes, whatever another test is measuring.
    fn arena_of_this_test() -> KeptArena {
        KeptArena::create().expect("a kept arena")
    }

    // The block is 19 MiB: 4,864 pages of 4 KiB, and at least 8 whole pages of 2 MiB, each a
    // fault of its own, however the block lies.
    const BLOCK_PAGES: i64 = 19 * 1024 / 4;
    const FEWEST_FAULTS_OF_A_NEW_BLOCK: i64 = 8;

    #[test]
    fn a_bound_thread_reuses_its_hashing_block_until_it_is_given_back() {
        std::thread::spawn(|| {
            let arena = arena_of_this_test();
            arena.bind_this_thread();
            // The first two hashes on a new arena also lay out the small allocations'
            // slabs, a few faults that would blur a block's (about 20 in huge pages).
            faults_of_one_hash();
            faults_of_one_hash();
            arena.give_back();
            let first = faults_of_one_hash();
            let second = faults_of_one_hash();
            arena.give_back();
            let after_giving_back = faults_of_one_hash();
            arena.give_back();
            assert!(
                first >= FEWEST_FAULTS_OF_A_NEW_BLOCK,
                "a hash after give_back maps its block: {first} faults"
            );
            assert!(
                second * 4 < first,
                "the second hash reuses it: {second} faults, against {first}"
            );
            assert!(
                after_giving_back * 2 >= first,
                "so does the next one after give_back: {after_giving_back} faults, against {first}"
            );
        })
        .join()
        .expect("the hashing thread");
    }

    /// Where the kernel gives huge pages to the memory that asks for them (Debian's default
    /// `madvise` mode, or `always`), a block from the kept arena takes a fault per 2 MiB, not
    /// per 4 KiB.
    #[test]
    fn the_kept_arena_maps_its_blocks_in_huge_pages() {
        let mode = std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled")
            .unwrap_or_default();
        if !(mode.contains("[madvise]") || mode.contains("[always]")) {
            eprintln!("skipped: this kernel gives no huge pages ({})", mode.trim());
            return;
        }
        std::thread::spawn(|| {
            let arena = arena_of_this_test();
            let size = BLOCK_PAGES as usize * 4096;
            let flags = tikv_jemalloc_sys::MALLOCX_ARENA(arena.index as usize)
                | tikv_jemalloc_sys::MALLOCX_TCACHE_NONE;
            let before = faults_of_this_thread();
            // SAFETY: a fresh allocation of `size` bytes from the kept arena, written only
            // within it and freed with the flags it was allocated with.
            let faults = unsafe {
                let block = tikv_jemalloc_sys::mallocx(size, flags).cast::<u8>();
                assert!(!block.is_null(), "the kept arena gave no block");
                for page in (0..size).step_by(4096) {
                    block.add(page).write_volatile(1);
                }
                let faults = faults_of_this_thread() - before;
                tikv_jemalloc_sys::dallocx(block.cast(), flags);
                faults
            };
            arena.give_back();
            assert!(faults < BLOCK_PAGES / 4, "a 19 MiB block took {faults} faults");
        })
        .join()
        .expect("the allocating thread");
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
