//! What every list use case answers: one page of views and the size of the whole list.
//! The page window comes from the caller; the adapter turns `Listed` into its page shape.

pub use dispatch_shared::domain::Ordering;
pub use dispatch_shared::repo::listing::Window;

#[derive(Debug, Clone)]
pub struct Listed<T> {
    pub items: Vec<T>,
    pub count: u64,
}

impl<T> Listed<T> {
    /// A page of rows from a list query, each turned into its view.
    pub fn of<R>(rows: Vec<R>, count: i64, view: impl FnMut(R) -> T) -> Self {
        Self {
            items: rows.into_iter().map(view).collect(),
            count: u64::try_from(count).unwrap_or(0),
        }
    }
}
