pub mod auth;
pub mod json;
pub mod pagination;
pub mod prefer;

pub use auth::{AuthUser, OptionalAuth};
pub use json::JsonBody;
