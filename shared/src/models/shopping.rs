use bigdecimal::BigDecimal;
use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::id::Id;
use crate::db::schema::{cart_items, carts, order_items, orders};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = carts)]
#[diesel(check_for_backend(diesel::mysql::Mysql))]
pub struct CartRow {
    pub id: Id,
    pub user_id: Id,
    pub created: NaiveDateTime,
    pub updated: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = cart_items)]
#[diesel(check_for_backend(diesel::mysql::Mysql))]
pub struct CartItemRow {
    pub id: Id,
    pub cart_id: Id,
    pub product_id: Id,
    pub quantity: u32,
    pub created: NaiveDateTime,
}

/// A cart line with what the cart shows of its product.
#[derive(Debug, Clone, Queryable)]
pub struct CartLine {
    pub id: Id,
    pub quantity: u32,
    pub product_id: Id,
    pub name: String,
    pub price: BigDecimal,
    pub image_key: Option<String>,
    pub image_ext: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = orders)]
#[diesel(check_for_backend(diesel::mysql::Mysql))]
pub struct OrderRow {
    pub id: Id,
    pub user_id: Id,
    pub total: BigDecimal,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = order_items)]
#[diesel(check_for_backend(diesel::mysql::Mysql))]
pub struct OrderItemRow {
    pub id: Id,
    pub order_id: Id,
    pub product_id: Id,
    pub name: String,
    pub unit_price: BigDecimal,
    pub quantity: u32,
    pub line_total: BigDecimal,
    pub position: u32,
}

impl OrderRow {
    pub fn uuid(&self) -> uuid::Uuid {
        self.id.0
    }
}

impl OrderItemRow {
    pub fn product_uuid(&self) -> uuid::Uuid {
        self.product_id.0
    }
}
