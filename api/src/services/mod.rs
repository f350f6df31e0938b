//! What handlers call: the operations of each area, free of HTTP details.

pub mod accounts;
pub mod admin_users;
pub mod assignments;
pub mod batched_reads;
pub mod carts;
pub mod categories;
pub mod daily_mail;
pub mod jobs;
pub mod orders;
pub mod product_images;
pub mod products;
pub mod profile;
pub mod sessions;
pub mod task_reads;
pub mod task_stream;
pub mod tasks;
pub mod throttle;
pub mod user_cache;
