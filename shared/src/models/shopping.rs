use bigdecimal::BigDecimal;
use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{cart_items, carts, order_items, orders};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = carts)]
#[diesel(check_for_backend(diesel::mysql::Mysql))]
pub struct CartRow {
    pub id: String,
    pub user_id: String,
    pub created: NaiveDateTime,
    pub updated: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = cart_items)]
#[diesel(check_for_backend(diesel::mysql::Mysql))]
pub struct CartItemRow {
    pub id: String,
    pub cart_id: String,
    pub product_id: String,
    pub quantity: u32,
    pub created: NaiveDateTime,
}

/// A cart line with what the cart shows of its product.
#[derive(Debug, Clone, Queryable)]
pub struct CartLine {
    pub id: String,
    pub quantity: u32,
    pub product_id: String,
    pub name: String,
    pub price: BigDecimal,
    pub image_key: Option<String>,
    pub image_ext: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = orders)]
#[diesel(check_for_backend(diesel::mysql::Mysql))]
pub struct OrderRow {
    pub id: String,
    pub user_id: String,
    pub total: BigDecimal,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = order_items)]
#[diesel(check_for_backend(diesel::mysql::Mysql))]
pub struct OrderItemRow {
    pub id: String,
    pub order_id: String,
    pub product_id: String,
    pub name: String,
    pub unit_price: BigDecimal,
    pub quantity: u32,
    pub line_total: BigDecimal,
    pub position: u32,
}

impl OrderRow {
    pub fn uuid(&self) -> uuid::Uuid {
        super::stored_id(&self.id)
    }
}

impl OrderItemRow {
    pub fn product_uuid(&self) -> uuid::Uuid {
        super::stored_id(&self.product_id)
    }
}
