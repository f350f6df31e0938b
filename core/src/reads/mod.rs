//! Reads that many requests share: batched statements by id, shared list pages, and the
//! per-instance user cache.

pub mod batched;
pub mod shared;
pub mod users;

/// One shared read in flight per core (each holds a pooled connection), and never more than
/// half the pool: more would only make the batches smaller (each then costs the database a
/// statement for fewer reads) without serving them sooner. Measured with wrk on 2 cores: 2
/// in flight served 20–24k task reads/s, 1 and 4 about 19k.
pub fn in_flight(pool_size: u32) -> usize {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    cores.min(pool_size as usize / 2).max(1)
}
