use bigdecimal::{BigDecimal, ToPrimitive};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::db::id::Id;
use crate::db::schema::{categories, products};
use crate::domain::money_text;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = categories)]
#[diesel(check_for_backend(diesel::mysql::Mysql))]
pub struct CategoryRow {
    pub id: Id,
    pub name: String,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CategoryView {
    pub id: Uuid,
    pub name: String,
}

impl CategoryRow {
    pub fn view(&self) -> CategoryView {
        CategoryView { id: self.id.0, name: self.name.clone() }
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = products)]
#[diesel(check_for_backend(diesel::mysql::Mysql))]
pub struct ProductRow {
    pub id: Id,
    pub name: String,
    pub brand: String,
    pub description: String,
    pub category_id: Id,
    pub price: BigDecimal,
    pub quantity: u32,
    pub rating: BigDecimal,
    pub created_at: NaiveDateTime,
    pub image_key: Option<String>,
    pub image_ext: Option<String>,
    pub image_pending: Option<String>,
    pub image_pending_ext: Option<String>,
    pub image_status: Option<String>,
}

/// Where a product's images are served: the original and its two sizes beside it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ImageUrls {
    pub original: String,
    pub thumb: String,
    pub full: String,
}

/// The media path (under the media root) of an image file: `products/<key><suffix>.<ext>`.
pub fn image_path(key: &str, suffix: &str, ext: &str) -> String {
    format!("products/{key}{suffix}.{ext}")
}

impl ImageUrls {
    pub fn new(key: &str, ext: &str) -> Self {
        let url = |suffix: &str| format!("/media/{}", image_path(key, suffix, ext));
        Self { original: url(""), thumb: url("-thumb"), full: url("-full") }
    }
}

/// The public shape of a product (api.md §6). Money is a string with two decimal places.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ProductView {
    pub id: Uuid,
    pub name: String,
    pub brand: String,
    pub description: String,
    pub category_id: Uuid,
    pub category_name: String,
    pub price: String,
    pub quantity: u32,
    pub rating: f64,
    pub created_at: DateTime<Utc>,
    pub image: Option<ImageUrls>,
    pub image_status: Option<String>,
}

impl ProductRow {
    pub fn uuid(&self) -> Uuid {
        self.id.0
    }

    pub fn image(&self) -> Option<ImageUrls> {
        match (&self.image_key, &self.image_ext) {
            (Some(key), Some(ext)) => Some(ImageUrls::new(key, ext)),
            _ => None,
        }
    }

    pub fn view(&self, category_name: &str) -> ProductView {
        ProductView {
            id: self.uuid(),
            name: self.name.clone(),
            brand: self.brand.clone(),
            description: self.description.clone(),
            category_id: self.category_id.0,
            category_name: category_name.to_owned(),
            price: money_text(&self.price),
            quantity: self.quantity,
            // One decimal place (DECIMAL(2,1)): exact as a double for display.
            rating: self.rating.to_f64().unwrap_or_default(),
            created_at: super::utc(self.created_at),
            image: self.image(),
            image_status: self.image_status.clone(),
        }
    }
}
