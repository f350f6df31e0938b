//! Products: anyone signed in reads (list pages through the Redis cache), admins write.
//! Every write bumps the cache generation before it answers.

use chrono::{NaiveDate, NaiveDateTime};
use dispatch_shared::db::is_foreign_key_violation;
use dispatch_shared::domain::{
    Brand, Ordering, Price, ProductDescription, ProductName, Rating, ValidationErrors,
};
use dispatch_shared::models::{now_naive, ProductRow};
use dispatch_shared::repo::listing::Window;
use dispatch_shared::repo::products::{self, ProductChanges, ProductFilter, ProductSort};
use uuid::Uuid;

use crate::error::ApiError;
use crate::state::AppState;
use dispatch_shared::product_cache::CachedPage;

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

/// Validated product fields; `None` means "not given".
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
    /// `full` (POST, PUT) requires name, category and price and defaults the rest.
    pub fn parse(raw: RawProduct<'_>, full: bool) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        if full {
            for (field, missing) in [
                ("name", raw.name.is_none()),
                ("category_id", raw.category_id.is_none()),
                ("price", raw.price.is_none()),
            ] {
                if missing {
                    errors.add(field, "This field is required.");
                }
            }
        }
        let input = Self {
            name: raw
                .name
                .and_then(|v| errors.check("name", ProductName::parse(v))),
            brand: raw
                .brand
                .or(full.then_some(""))
                .and_then(|v| errors.check("brand", Brand::parse(v))),
            description: raw
                .description
                .or(full.then_some(""))
                .and_then(|v| errors.check("description", ProductDescription::parse(v))),
            category_id: raw.category_id,
            price: raw
                .price
                .and_then(|v| errors.check("price", Price::parse(v))),
            quantity: raw.quantity.or(full.then_some(0)),
            rating: match raw.rating {
                Some(v) => errors.check("rating", Rating::parse(&v.to_string())),
                None => full.then(Rating::default_rating),
            },
        };
        errors.into_result().map(|_| input)
    }
}

fn unknown_category() -> ApiError {
    ApiError::field("category_id", "No category with this id.")
}

fn map_write_error(e: diesel::result::Error) -> ApiError {
    if is_foreign_key_violation(&e) {
        unknown_category()
    } else {
        e.into()
    }
}

/// The query's canonical form: equal queries share a cache entry.
fn cache_key(filter: &ProductFilter, ordering: &Ordering<ProductSort>, window: Window) -> String {
    format!(
        "{filter:?}|{:?}|{}|{}",
        ordering.sorts(),
        window.offset,
        window.limit
    )
}

pub async fn list(
    state: &AppState,
    filter: &ProductFilter,
    ordering: &Ordering<ProductSort>,
    window: Window,
) -> Result<CachedPage, ApiError> {
    let key = cache_key(filter, ordering, window);
    let lookup = state.products.lookup(&key).await;
    if let Some(page) = lookup.as_ref().and_then(|l| l.page.clone()) {
        metrics::counter!("dispatch_product_cache_total", "outcome" => "hit").increment(1);
        return Ok(page);
    }
    let (rows, count) = {
        let mut conn = state.db.get().await?;
        products::list(&mut conn, filter, ordering, window).await?
    };
    let page = CachedPage {
        count: count as u64,
        results: rows.iter().map(|(p, c)| p.view(c)).collect(),
    };
    if let Some(lookup) = lookup {
        metrics::counter!("dispatch_product_cache_total", "outcome" => "miss").increment(1);
        state.products.store(lookup.generation, &key, &page).await;
    }
    Ok(page)
}

pub async fn find(state: &AppState, id: Uuid) -> Result<(ProductRow, String), ApiError> {
    let mut conn = state.db.get().await?;
    products::find(&mut conn, id)
        .await?
        .ok_or(ApiError::NotFound)
}

pub async fn create(
    state: &AppState,
    input: ProductInput,
) -> Result<(ProductRow, String), ApiError> {
    let (Some(name), Some(category_id), Some(price)) = (input.name, input.category_id, input.price)
    else {
        return Err(ApiError::field("name", "This field is required."));
    };
    let row = ProductRow {
        id: Uuid::new_v4().to_string(),
        name: name.as_str().to_owned(),
        brand: input
            .brand
            .map(|b| b.as_str().to_owned())
            .unwrap_or_default(),
        description: input
            .description
            .map(|d| d.as_str().to_owned())
            .unwrap_or_default(),
        category_id: category_id.to_string(),
        price: price.value().clone(),
        quantity: input.quantity.unwrap_or(0),
        rating: input
            .rating
            .unwrap_or_else(Rating::default_rating)
            .value()
            .clone(),
        created_at: now_naive(),
        image_key: None,
        image_ext: None,
        image_pending: None,
        image_pending_ext: None,
        image_status: None,
    };
    let created = {
        let mut conn = state.db.get().await?;
        products::insert(&mut conn, &row)
            .await
            .map_err(map_write_error)?;
        products::find(&mut conn, row.uuid())
            .await?
            .ok_or(ApiError::NotFound)?
    };
    state.products.invalidate().await;
    Ok(created)
}

pub async fn update(
    state: &AppState,
    id: Uuid,
    input: ProductInput,
) -> Result<(ProductRow, String), ApiError> {
    let changes = ProductChanges {
        name: input.name.map(|v| v.as_str().to_owned()),
        brand: input.brand.map(|v| v.as_str().to_owned()),
        description: input.description.map(|v| v.as_str().to_owned()),
        category_id: input.category_id.map(|v| v.to_string()),
        price: input.price.map(|v| v.value().clone()),
        quantity: input.quantity,
        rating: input.rating.map(|v| v.value().clone()),
    };
    let updated = {
        let mut conn = state.db.get().await?;
        if !products::update(&mut conn, id, &changes)
            .await
            .map_err(map_write_error)?
        {
            return Err(ApiError::NotFound);
        }
        products::find(&mut conn, id)
            .await?
            .ok_or(ApiError::NotFound)?
    };
    state.products.invalidate().await;
    Ok(updated)
}

pub async fn delete(state: &AppState, id: Uuid) -> Result<(), ApiError> {
    {
        let mut conn = state.db.get().await?;
        if !products::delete(&mut conn, id).await? {
            return Err(ApiError::NotFound);
        }
    }
    state.products.invalidate().await;
    // Its images go too (a resize still running removes its own files when it finds the
    // product gone).
    let dir = dispatch_shared::media::product_dir(&state.settings.media_root, id);
    if let Err(e) = tokio::fs::remove_dir_all(&dir).await {
        if e.kind() != std::io::ErrorKind::NotFound {
            tracing::warn!(path = %dir.display(), error = %e, "product images not removed");
        }
    }
    Ok(())
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
