//! Products: list pages go through the Redis cache. Every write bumps the cache generation
//! before it answers.

use dispatch_shared::db::id::Id;
use std::path::PathBuf;

use chrono::{NaiveDate, NaiveDateTime};
use dispatch_shared::db::{is_foreign_key_violation, DbPool};
use dispatch_shared::domain::{
    Brand, Price, ProductDescription, ProductName, Rating, ValidationErrors,
};
use dispatch_shared::models::{now_naive, ProductRow};
pub use dispatch_shared::models::{ImageUrls, ProductView};
use dispatch_shared::product_cache::{CachedPage, Lookup, ProductCache};
use dispatch_shared::repo::products::{self, ProductChanges};
pub use dispatch_shared::repo::products::{ProductFilter, ProductSort};
use uuid::Uuid;

use super::CatalogueError;
use crate::listing::{Listed, Ordering, Window};
use crate::{Caller, Failure};

/// A product's fields as a client sent them (unparsed); `None` means "not given".
#[derive(Debug, Default)]
pub struct RawProduct<'a> {
    pub name: Option<&'a str>,
    pub brand: Option<&'a str>,
    pub description: Option<&'a str>,
    pub category_id: Option<Uuid>,
    pub price: Option<&'a str>,
    pub quantity: Option<u32>,
    pub rating: Option<f64>,
}

/// Validated product fields for a change (PATCH); `None` means "not given".
#[derive(Debug, Default)]
pub struct ProductInput {
    pub name: Option<ProductName>,
    pub brand: Option<Brand>,
    pub description: Option<ProductDescription>,
    pub category_id: Option<Uuid>,
    pub price: Option<Price>,
    pub quantity: Option<u32>,
    pub rating: Option<Rating>,
}

impl ProductInput {
    pub fn parse(raw: RawProduct<'_>) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let input = Self {
            name: errors.check_given("name", raw.name, ProductName::parse),
            brand: errors.check_given("brand", raw.brand, Brand::parse),
            description: errors.check_given(
                "description",
                raw.description,
                ProductDescription::parse,
            ),
            category_id: raw.category_id,
            price: errors.check_given("price", raw.price, Price::parse),
            quantity: raw.quantity,
            rating: errors.check_given("rating", raw.rating, |v| Rating::parse(&v.to_string())),
        };
        errors.into_result().map(|_| input)
    }
}

/// Every field of a product (POST, PUT): name, category and price as sent, the rest as sent
/// or defaulted (empty brand and description, no stock, rating 5.0).
#[derive(Debug)]
pub struct ProductFields {
    pub name: ProductName,
    pub brand: Brand,
    pub description: ProductDescription,
    pub category_id: Uuid,
    pub price: Price,
    pub quantity: u32,
    pub rating: Rating,
}

impl ProductFields {
    pub fn parse(
        name: &str,
        category_id: Uuid,
        price: &str,
        optional: RawProduct<'_>,
    ) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let parsed = (
            errors.check("name", ProductName::parse(name)),
            errors.check("brand", Brand::parse(optional.brand.unwrap_or(""))),
            errors.check(
                "description",
                ProductDescription::parse(optional.description.unwrap_or("")),
            ),
            errors.check("price", Price::parse(price)),
            match optional.rating {
                Some(v) => errors.check("rating", Rating::parse(&v.to_string())),
                None => Some(Rating::default_rating()),
            },
        );
        let (Some(name), Some(brand), Some(description), Some(price), Some(rating)) = parsed else {
            return Err(errors);
        };
        Ok(Self {
            name,
            brand,
            description,
            category_id,
            price,
            quantity: optional.quantity.unwrap_or(0),
            rating,
        })
    }
}

impl From<ProductFields> for ProductInput {
    fn from(f: ProductFields) -> Self {
        Self {
            name: Some(f.name),
            brand: Some(f.brand),
            description: Some(f.description),
            category_id: Some(f.category_id),
            price: Some(f.price),
            quantity: Some(f.quantity),
            rating: Some(f.rating),
        }
    }
}

fn map_write_error(e: diesel::result::Error) -> CatalogueError {
    if is_foreign_key_violation(&e) {
        CatalogueError::UnknownCategory
    } else {
        e.into()
    }
}

/// The query's canonical form: equal queries share a cache entry.
fn cache_key(filter: &ProductFilter, ordering: &Ordering<ProductSort>, window: Window) -> String {
    format!("{filter:?}|{:?}|{}|{}", ordering.sorts(), window.offset, window.limit)
}

#[derive(Clone)]
pub struct Products {
    db: DbPool,
    cache: ProductCache,
    media_root: PathBuf,
}

impl Products {
    pub fn new(db: DbPool, cache: ProductCache, media_root: PathBuf) -> Self {
        Self { db, cache, media_root }
    }

    pub async fn list(
        &self,
        filter: &ProductFilter,
        ordering: &Ordering<ProductSort>,
        window: Window,
    ) -> Result<Listed<ProductView>, Failure> {
        let key = cache_key(filter, ordering, window);
        // `None`: Redis is unavailable, so nothing is cached either.
        let generation = match self.cache.lookup(&key).await {
            Some(Lookup { page: Some(page), .. }) => {
                metrics::counter!("dispatch_product_cache_total", "outcome" => "hit").increment(1);
                return Ok(listed(page));
            }
            Some(lookup) => Some(lookup.generation),
            None => None,
        };
        let (rows, count) = {
            let mut conn = self.db.get().await?;
            products::list(&mut conn, filter, ordering, window).await?
        };
        let page = CachedPage {
            count: count as u64,
            results: rows.iter().map(|(p, c)| p.view(c)).collect(),
        };
        if let Some(generation) = generation {
            metrics::counter!("dispatch_product_cache_total", "outcome" => "miss").increment(1);
            self.cache.store(generation, &key, &page).await;
        }
        Ok(listed(page))
    }

    pub async fn find(&self, id: Uuid) -> Result<ProductView, CatalogueError> {
        let mut conn = self.db.get().await?;
        let (row, category) =
            products::find(&mut conn, id).await?.ok_or(CatalogueError::NotFound)?;
        Ok(row.view(&category))
    }

    pub async fn create(
        &self,
        caller: &Caller,
        fields: ProductFields,
    ) -> Result<ProductView, CatalogueError> {
        caller.require_admin()?;
        let row = ProductRow {
            id: Id::random(),
            name: fields.name.as_str().to_owned(),
            brand: fields.brand.as_str().to_owned(),
            description: fields.description.as_str().to_owned(),
            category_id: Id(fields.category_id),
            price: fields.price.value().clone(),
            quantity: fields.quantity,
            rating: fields.rating.value().clone(),
            created_at: now_naive(),
            image_key: None,
            image_ext: None,
            image_pending: None,
            image_pending_ext: None,
            image_status: None,
        };
        let (created, category) = {
            let mut conn = self.db.get().await?;
            products::insert(&mut conn, &row).await.map_err(map_write_error)?;
            products::find(&mut conn, row.uuid()).await?.ok_or(CatalogueError::NotFound)?
        };
        self.cache.invalidate().await;
        Ok(created.view(&category))
    }

    pub async fn update(
        &self,
        caller: &Caller,
        id: Uuid,
        input: ProductInput,
    ) -> Result<ProductView, CatalogueError> {
        caller.require_admin()?;
        let changes = ProductChanges {
            name: input.name.map(|v| v.as_str().to_owned()),
            brand: input.brand.map(|v| v.as_str().to_owned()),
            description: input.description.map(|v| v.as_str().to_owned()),
            category_id: input.category_id.map(|v| v.to_string()),
            price: input.price.map(|v| v.value().clone()),
            quantity: input.quantity,
            rating: input.rating.map(|v| v.value().clone()),
        };
        let (updated, category) = {
            let mut conn = self.db.get().await?;
            if !products::update(&mut conn, id, &changes).await.map_err(map_write_error)? {
                return Err(CatalogueError::NotFound);
            }
            products::find(&mut conn, id).await?.ok_or(CatalogueError::NotFound)?
        };
        self.cache.invalidate().await;
        Ok(updated.view(&category))
    }

    pub async fn delete(&self, caller: &Caller, id: Uuid) -> Result<(), CatalogueError> {
        caller.require_admin()?;
        {
            let mut conn = self.db.get().await?;
            if !products::delete(&mut conn, id).await? {
                return Err(CatalogueError::NotFound);
            }
        }
        self.cache.invalidate().await;
        // Its images go too (a resize still running removes its own files when it finds the
        // product gone).
        let dir = dispatch_shared::media::product_dir(&self.media_root, id);
        if let Err(e) = tokio::fs::remove_dir_all(&dir).await {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(path = %dir.display(), error = %e, "product images not removed");
            }
        }
        Ok(())
    }
}

fn listed(page: CachedPage) -> Listed<ProductView> {
    Listed { items: page.results, count: page.count }
}

/// Query-string filters as sent; parsed into a `ProductFilter` with per-field errors.
#[derive(Debug, Default)]
pub struct RawProductFilter {
    pub category_name: Option<String>,
    pub name: Option<String>,
    pub name_contains: Option<String>,
    pub brand: Option<String>,
    pub brand_contains: Option<String>,
    pub min_price: Option<String>,
    pub max_price: Option<String>,
    pub min_quantity: Option<u32>,
    pub max_quantity: Option<u32>,
    pub min_rating: Option<f64>,
    pub max_rating: Option<f64>,
    pub released_after: Option<i32>,
}

fn start_of_year(year: i32) -> Option<NaiveDateTime> {
    NaiveDate::from_ymd_opt(year, 1, 1).and_then(|d| d.and_hms_opt(0, 0, 0))
}

pub fn parse_filter(raw: RawProductFilter) -> Result<ProductFilter, ValidationErrors> {
    let mut errors = ValidationErrors::new();
    let text = |v: Option<String>| v.filter(|s| !s.is_empty());
    let mut price = |field: &str, v: Option<String>| {
        v.filter(|s| !s.is_empty())
            .and_then(|s| errors.check(field, Price::parse(&s)))
            .map(|p| p.value().clone())
    };
    let min_price = price("min_price", raw.min_price);
    let max_price = price("max_price", raw.max_price);
    let mut rating = |field: &str, v: Option<f64>| {
        v.and_then(|r| errors.check(field, Rating::parse(&r.to_string())))
            .map(|r| r.value().clone())
    };
    let min_rating = rating("min_rating", raw.min_rating);
    let max_rating = rating("max_rating", raw.max_rating);
    let created_from = match raw.released_after {
        None => None,
        Some(year) => {
            let start = start_of_year(year);
            if start.is_none() {
                errors.add("released_after", "Enter a year such as 2024.");
            }
            start
        }
    };
    let filter = ProductFilter {
        category_name: text(raw.category_name),
        name: text(raw.name),
        name_contains: text(raw.name_contains),
        brand: text(raw.brand),
        brand_contains: text(raw.brand_contains),
        min_price,
        max_price,
        min_quantity: raw.min_quantity,
        max_quantity: raw.max_quantity,
        min_rating,
        max_rating,
        created_from,
    };
    errors.into_result().map(|_| filter)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn text() -> impl Strategy<Value = Option<String>> {
        proptest::option::of(prop_oneof!["[0-9.-]{0,12}", any::<String>()])
    }

    proptest! {
        /// Any query parses into a filter or per-field errors that name only the fields sent.
        #[test]
        fn any_filter_query_is_a_filter_or_field_errors(
            (min_price, max_price, name) in (text(), text(), text()),
            (min_rating, max_rating) in (any::<Option<f64>>(), any::<Option<f64>>()),
            released_after in any::<Option<i32>>(),
        ) {
            let raw = RawProductFilter {
                min_price: min_price.clone(),
                max_price: max_price.clone(),
                name,
                min_rating,
                max_rating,
                released_after,
                ..RawProductFilter::default()
            };
            match parse_filter(raw) {
                Ok(filter) => {
                    prop_assert!(filter.min_price.is_none() || min_price.is_some());
                    prop_assert!(filter.created_from.is_none() || released_after.is_some());
                }
                Err(errors) => {
                    let sent = [
                        ("min_price", min_price.is_some()),
                        ("max_price", max_price.is_some()),
                        ("min_rating", min_rating.is_some()),
                        ("max_rating", max_rating.is_some()),
                        ("released_after", released_after.is_some()),
                    ];
                    for field in errors.into_map().keys() {
                        prop_assert!(
                            sent.iter().any(|(name, given)| name == field && *given),
                            "an error about {} which was not sent", field
                        );
                    }
                }
            }
        }
    }
}
