pub mod auth;
mod body_rules;
pub mod client_address;
pub mod image_upload;
pub mod json;
pub mod ordering;
pub mod pagination;
pub mod prefer;

pub use auth::{AdminUser, AuthUser, OptionalAuth};
pub use json::JsonBody;
