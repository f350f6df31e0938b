//! The cart and order shapes that leave the use cases. Money is text with two decimals, as
//! the catalogue's is.

use chrono::{DateTime, Utc};
use dispatch_shared::models::ImageUrls;
use uuid::Uuid;

#[derive(Debug, Clone)]
pub struct CartProductView {
    pub id: Uuid,
    pub name: String,
    pub price: String,
    pub image: Option<ImageUrls>,
}

#[derive(Debug, Clone)]
pub struct CartLineView {
    pub id: Uuid,
    pub product: CartProductView,
    pub quantity: u32,
    pub line_total: String,
}

/// Count and total are derived from the lines, never stored.
#[derive(Debug, Clone)]
pub struct CartView {
    pub id: Uuid,
    pub items: Vec<CartLineView>,
    pub count: u64,
    pub total: String,
    pub updated: DateTime<Utc>,
    pub created: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct OrderItemView {
    pub product_id: Uuid,
    pub name: String,
    pub unit_price: String,
    pub quantity: u32,
    pub line_total: String,
}

#[derive(Debug, Clone)]
pub struct OrderView {
    pub id: Uuid,
    pub items: Vec<OrderItemView>,
    pub total: String,
    pub created_at: DateTime<Utc>,
}
