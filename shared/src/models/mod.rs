//! Rows as stored, and the public shapes the API and the events expose.

mod catalogue;
mod job;
mod shopping;
mod task;
mod user;

pub use catalogue::{image_path, CategoryRow, CategoryView, ImageUrls, ProductRow, ProductView};
pub use job::{JobRow, JobView, NewJob};
pub use shopping::{CartItemRow, CartLine, CartRow, OrderItemRow, OrderRow};
pub use task::{AssignmentRow, AssignmentView, TaskRow, TaskView};
pub use user::{NewUser, UserRow, UserView};

use chrono::{DateTime, NaiveDateTime, Utc};

/// Rows keep UTC as naive DATETIME(6); the API speaks RFC 3339 with an offset.
pub fn utc(value: NaiveDateTime) -> DateTime<Utc> {
    DateTime::from_naive_utc_and_offset(value, Utc)
}

pub fn now_naive() -> NaiveDateTime {
    // MySQL keeps microseconds; truncating here keeps what we return equal to what we stored.
    let now = Utc::now().naive_utc();
    now - chrono::Duration::nanoseconds(i64::from(now.and_utc().timestamp_subsec_nanos() % 1000))
}

/// The moment `d` before now; a duration too long for the calendar gives the earliest one.
pub fn ago(d: std::time::Duration) -> NaiveDateTime {
    chrono::Duration::from_std(d)
        .ok()
        .and_then(|d| now_naive().checked_sub_signed(d))
        .unwrap_or(NaiveDateTime::MIN)
}
