//! Validated domain types: once built, a value is valid everywhere.

mod catalogue;
mod email;
pub mod ordering;
mod password;
mod person_name;
mod task;
mod username;
mod validation;

pub use catalogue::{
    fits_an_order, money_text, Brand, CategoryName, Price, ProductDescription, ProductName, Rating,
    MAX_ORDER_AMOUNT,
};
pub use email::Email;
pub use ordering::{Ordering, Sort, SortField};
pub use password::Password;
pub use person_name::PersonName;
pub use task::{TaskDescription, TaskStatus, TaskTitle, DESCRIPTION_MAX, TITLE_MAX, TITLE_PATTERN};
pub use username::Username;
pub use validation::{at_most, ValidationErrors};
