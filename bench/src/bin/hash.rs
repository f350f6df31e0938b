//! `dispatch-hash-bench`: Argon2id hashes per second at Dispatch's parameters (19 MiB,
//! 2 passes, 1 lane) with the two implementations compared for the choice: the pure-Rust
//! `argon2` crate and libsodium's `crypto_pwhash` (what Dispatch uses), on one thread and
//! on every core.

use std::time::Instant;

use argon2::password_hash::SaltString;
use argon2::PasswordHasher;
use dispatch_shared::auth::argon2id;
use dispatch_shared::memory::KeptArena;

const PASSWORD: &[u8] = b"correct horse battery staple";

/// Hashes per second on `threads` threads; with `kept`, the threads allocate from the kept
/// arena, as Dispatch's hashing threads do.
fn rate(threads: usize, per_thread: usize, hash: fn(), kept: Option<&KeptArena>) -> f64 {
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(move || {
                if let Some(arena) = kept {
                    arena.bind_this_thread();
                }
                (0..per_thread).for_each(|_| hash());
            });
        }
    });
    let rate = (threads * per_thread) as f64 / started.elapsed().as_secs_f64();
    if let Some(arena) = kept {
        arena.give_back();
    }
    rate
}

fn rust_crypto() {
    let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>()).expect("a salt");
    argon2::Argon2::default().hash_password(PASSWORD, &salt).expect("hashed");
}

fn libsodium() {
    argon2id::hash(PASSWORD).expect("hashed");
}

fn main() {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let per_thread = 30;
    for (threads, label) in [(1, "1 thread"), (cores, "all cores")] {
        let rust = rate(threads, per_thread, rust_crypto, None);
        let fresh = rate(threads, per_thread, libsodium, None);
        let kept = rate(threads, per_thread, libsodium, KeptArena::get());
        println!(
            "Argon2id m=19456 t=2 p=1, {label:9}: argon2 crate {rust:6.1}/s, libsodium {fresh:6.1}/s, libsodium with its block kept {kept:6.1}/s"
        );
    }
}
