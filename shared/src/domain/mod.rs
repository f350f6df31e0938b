//! Validated domain types: once built, a value is valid everywhere.

mod email;
mod password;
mod person_name;
mod username;
mod validation;

pub use email::Email;
pub use password::Password;
pub use person_name::PersonName;
pub use username::Username;
pub use validation::ValidationErrors;
