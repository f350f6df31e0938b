//! Auth primitives shared by the API binaries: JWTs and password hashing.

pub mod argon2id;
mod password_hash;
mod tokens;

pub use password_hash::{hash_password, verify_password, PasswordHashError};
pub use tokens::{Claims, IssuedToken, TokenError, TokenKind, TokenService};
