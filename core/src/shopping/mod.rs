//! The caller's cart, checkout and orders. Stock is checked when a line grows and again,
//! under row locks, at checkout, which is the only place stock is taken.

pub mod carts;
pub mod orders;
mod views;

pub use views::{CartLineView, CartProductView, CartView, OrderItemView, OrderView};

use crate::Failure;

/// A product short at checkout: what was asked for and what is left.
pub use dispatch_shared::repo::carts::Shortage;

#[derive(Debug, thiserror::Error)]
pub enum ShoppingError {
    /// No such cart line or order, or not the caller's.
    #[error("not found")]
    NotFound,
    #[error("no product with this id")]
    UnknownProduct,
    #[error("only {available} in stock")]
    InsufficientStock { available: u32 },
    /// A line whose price times quantity is more than an order can hold.
    #[error("the line would cost more than an order can hold")]
    LineTooLarge,
    #[error("the cart is empty")]
    EmptyCart,
    #[error("the order would come to {total}, more than an order can hold")]
    OrderTooLarge { total: String },
    /// Checkout found some products short; nothing was ordered.
    #[error("not enough stock for {} product(s)", .0.len())]
    ShortAtCheckout(Vec<Shortage>),
    #[error(transparent)]
    Failure(#[from] Failure),
}
crate::failures_convert_into!(ShoppingError);
