//! Products with their category's name, every filter and ordering of api.md §6, and the
//! image columns the resize job switches in one statement.

use bigdecimal::BigDecimal;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::{AsyncMysqlConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::categories;
use crate::db::schema::products::{self, dsl};
use crate::domain::Ordering;
use crate::models::ProductRow;
use crate::repo::listing::{contains_pattern, counted_page, given, usual_shape, Window};
use crate::repo::point_reads::insert_row;
use crate::{apply_ordering, sort_fields};

type Conn = AsyncMysqlConnection;

sort_fields! {
    pub enum ProductSort {
        Name = "name", Price = "price", CreatedAt = "created_at",
        Rating = "rating", Quantity = "quantity",
    }
    default [asc Name, asc Price]
}

/// Every filter is optional; text matches ignore case (the columns' collation).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProductFilter {
    pub category_name: Option<String>,
    pub name: Option<String>,
    pub name_contains: Option<String>,
    pub brand: Option<String>,
    pub brand_contains: Option<String>,
    pub min_price: Option<BigDecimal>,
    pub max_price: Option<BigDecimal>,
    pub min_quantity: Option<u32>,
    pub max_quantity: Option<u32>,
    pub min_rating: Option<BigDecimal>,
    pub max_rating: Option<BigDecimal>,
    /// Created at or after this moment (the start of the `released_after` year).
    pub created_from: Option<NaiveDateTime>,
}

impl ProductFilter {
    /// How many of the filters are given.
    fn given(&self) -> usize {
        given(&[
            self.category_name.is_some(),
            self.name.is_some(),
            self.name_contains.is_some(),
            self.brand.is_some(),
            self.brand_contains.is_some(),
            self.min_price.is_some(),
            self.max_price.is_some(),
            self.min_quantity.is_some(),
            self.max_quantity.is_some(),
            self.min_rating.is_some(),
            self.max_rating.is_some(),
            self.created_from.is_some(),
        ])
    }
}

type Joined = diesel::dsl::InnerJoin<products::table, categories::table>;

fn filtered(filter: &ProductFilter) -> diesel::dsl::IntoBoxed<'_, Joined, diesel::mysql::Mysql> {
    let mut query = dsl::products.inner_join(categories::table).into_boxed();
    if let Some(v) = filter.category_name.as_deref() {
        query = query.filter(categories::name.eq(v));
    }
    if let Some(v) = filter.name.as_deref() {
        query = query.filter(dsl::name.eq(v));
    }
    if let Some(v) = filter.name_contains.as_deref() {
        query = query.filter(dsl::name.like(contains_pattern(v)));
    }
    if let Some(v) = filter.brand.as_deref() {
        query = query.filter(dsl::brand.eq(v));
    }
    if let Some(v) = filter.brand_contains.as_deref() {
        query = query.filter(dsl::brand.like(contains_pattern(v)));
    }
    if let Some(v) = &filter.min_price {
        query = query.filter(dsl::price.ge(v.clone()));
    }
    if let Some(v) = &filter.max_price {
        query = query.filter(dsl::price.le(v.clone()));
    }
    if let Some(v) = filter.min_quantity {
        query = query.filter(dsl::quantity.ge(v));
    }
    if let Some(v) = filter.max_quantity {
        query = query.filter(dsl::quantity.le(v));
    }
    if let Some(v) = &filter.min_rating {
        query = query.filter(dsl::rating.ge(v.clone()));
    }
    if let Some(v) = &filter.max_rating {
        query = query.filter(dsl::rating.le(v.clone()));
    }
    if let Some(v) = filter.created_from {
        query = query.filter(dsl::created_at.ge(v));
    }
    query
}

/// One page of products with their category names, and the number across all pages.
pub async fn list(
    conn: &mut Conn,
    filter: &ProductFilter,
    ordering: &Ordering<ProductSort>,
    window: Window,
) -> QueryResult<(Vec<(ProductRow, String)>, i64)> {
    let query = filtered(filter).select((ProductRow::as_select(), categories::name));
    let page = apply_ordering!(query, ordering, dsl::id, {
        ProductSort::Name => dsl::name,
        ProductSort::Price => dsl::price,
        ProductSort::CreatedAt => dsl::created_at,
        ProductSort::Rating => dsl::rating,
        ProductSort::Quantity => dsl::quantity,
    });
    counted_page(
        conn,
        filtered(filter).count(),
        page,
        window,
        usual_shape(ordering, filter.given()),
    )
    .await
}

pub async fn find(conn: &mut Conn, id: Uuid) -> QueryResult<Option<(ProductRow, String)>> {
    dsl::products
        .inner_join(categories::table)
        .filter(dsl::id.eq(id.to_string()))
        .select((ProductRow::as_select(), categories::name))
        .first(conn)
        .await
        .optional()
}

pub async fn insert(conn: &mut Conn, row: &ProductRow) -> QueryResult<()> {
    insert_row(conn, dsl::products, row).await
}

/// The columns a write sets; `None` leaves a column as it is.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = products)]
pub struct ProductChanges {
    pub name: Option<String>,
    pub brand: Option<String>,
    pub description: Option<String>,
    pub category_id: Option<String>,
    pub price: Option<BigDecimal>,
    pub quantity: Option<u32>,
    pub rating: Option<BigDecimal>,
}

/// Applies `changes`; false when there is no such product. A missing category fails with
/// a foreign key violation.
pub async fn update(conn: &mut Conn, id: Uuid, changes: &ProductChanges) -> QueryResult<bool> {
    let is_empty = changes.name.is_none()
        && changes.brand.is_none()
        && changes.description.is_none()
        && changes.category_id.is_none()
        && changes.price.is_none()
        && changes.quantity.is_none()
        && changes.rating.is_none();
    if !is_empty {
        let updated =
            diesel::update(dsl::products.find(id.to_string())).set(changes).execute(conn).await?;
        if updated > 0 {
            return Ok(true);
        }
    }
    // Nothing to set, or nothing changed (MySQL counts changed rows).
    Ok(find(conn, id).await?.is_some())
}

pub async fn delete(conn: &mut Conn, id: Uuid) -> QueryResult<bool> {
    let deleted = diesel::delete(dsl::products.find(id.to_string())).execute(conn).await?;
    Ok(deleted > 0)
}

/// A new upload replaces any resize in progress; the shown image stays until it is ready.
pub async fn start_image(conn: &mut Conn, id: Uuid, key: &str, ext: &str) -> QueryResult<bool> {
    let updated = diesel::update(dsl::products.find(id.to_string()))
        .set((
            dsl::image_pending.eq(key),
            dsl::image_pending_ext.eq(ext),
            dsl::image_status.eq("processing"),
        ))
        .execute(conn)
        .await?;
    Ok(updated > 0)
}

/// What showing a resized upload did.
#[derive(Debug, PartialEq, Eq)]
pub enum FinishOutcome {
    /// Now shown; the set it replaced (`(key, ext)`), if any, may go.
    Shown { replaced: Option<(String, String)> },
    /// Shown already (a re-run of the job).
    AlreadyShown,
    /// A newer upload took its place, or the product is gone: its files may go.
    Superseded,
}

/// Shows the resized upload `key` if it is still the pending one.
pub async fn finish_image(conn: &mut Conn, id: Uuid, key: &str) -> QueryResult<FinishOutcome> {
    use diesel_async::AsyncConnection;
    conn.transaction(async |conn| {
        let current: Option<(Option<String>, Option<String>, Option<String>)> = dsl::products
            .find(id.to_string())
            .select((dsl::image_key, dsl::image_ext, dsl::image_pending))
            .for_update()
            .first(conn)
            .await
            .optional()?;
        let Some((old_key, old_ext, pending)) = current else {
            return Ok(FinishOutcome::Superseded);
        };
        if pending.as_deref() != Some(key) {
            return Ok(if old_key.as_deref() == Some(key) {
                FinishOutcome::AlreadyShown
            } else {
                FinishOutcome::Superseded
            });
        }
        diesel::update(dsl::products.find(id.to_string()))
            .set((
                dsl::image_key.eq(dsl::image_pending),
                dsl::image_ext.eq(dsl::image_pending_ext),
                dsl::image_pending.eq(None::<String>),
                dsl::image_pending_ext.eq(None::<String>),
                dsl::image_status.eq("ready"),
            ))
            .execute(conn)
            .await?;
        Ok(FinishOutcome::Shown { replaced: old_key.zip(old_ext) })
    })
    .await
}

/// Marks the pending upload `key` as failed; the image shown before stays.
pub async fn fail_image(conn: &mut Conn, id: Uuid, key: &str) -> QueryResult<bool> {
    let updated =
        diesel::update(dsl::products.find(id.to_string()).filter(dsl::image_pending.eq(key)))
            .set((
                dsl::image_pending.eq(None::<String>),
                dsl::image_pending_ext.eq(None::<String>),
                dsl::image_status.eq("failed"),
            ))
            .execute(conn)
            .await?;
    Ok(updated > 0)
}
