//! Categories: anyone signed in reads, admins write. Every write empties the product cache
//! (product pages carry category names).

use dispatch_shared::db::{is_foreign_key_violation, is_unique_violation};
use dispatch_shared::domain::{CategoryName, Ordering, ValidationErrors};
use dispatch_shared::models::{now_naive, CategoryRow};
use dispatch_shared::repo::categories::{self, CategoryFilter, CategorySort};
use dispatch_shared::repo::listing::Window;
use uuid::Uuid;

use crate::error::ApiError;
use crate::state::AppState;

pub fn parse_name(raw: &str) -> Result<CategoryName, ValidationErrors> {
    CategoryName::parse(raw).map_err(|m| ValidationErrors::single("name", m))
}

fn name_taken(name: &CategoryName) -> ApiError {
    let message = format!("A category named \"{}\" already exists.", name.as_str());
    ApiError::Conflict {
        slug: "category-exists",
        detail: message.clone(),
        errors: Some(ValidationErrors::single("name", message)),
    }
}

fn map_write_error(e: diesel::result::Error, name: &CategoryName) -> ApiError {
    if is_unique_violation(&e).is_some() {
        name_taken(name)
    } else {
        e.into()
    }
}

pub async fn list(
    state: &AppState,
    filter: &CategoryFilter,
    ordering: &Ordering<CategorySort>,
    window: Window,
) -> Result<(Vec<CategoryRow>, i64), ApiError> {
    let mut conn = state.db.get().await?;
    Ok(categories::list(&mut conn, filter, ordering, window).await?)
}

pub async fn find(state: &AppState, id: Uuid) -> Result<CategoryRow, ApiError> {
    let mut conn = state.db.get().await?;
    categories::find(&mut conn, id)
        .await?
        .ok_or(ApiError::NotFound)
}

pub async fn create(state: &AppState, name: CategoryName) -> Result<CategoryRow, ApiError> {
    let row = CategoryRow {
        id: Uuid::new_v4().to_string(),
        name: name.as_str().to_owned(),
        created_at: now_naive(),
    };
    {
        let mut conn = state.db.get().await?;
        categories::insert(&mut conn, &row)
            .await
            .map_err(|e| map_write_error(e, &name))?;
    }
    state.products.invalidate().await;
    Ok(row)
}

pub async fn rename(
    state: &AppState,
    id: Uuid,
    name: CategoryName,
) -> Result<CategoryRow, ApiError> {
    let row = {
        let mut conn = state.db.get().await?;
        if !categories::rename(&mut conn, id, name.as_str())
            .await
            .map_err(|e| map_write_error(e, &name))?
        {
            return Err(ApiError::NotFound);
        }
        categories::find(&mut conn, id)
            .await?
            .ok_or(ApiError::NotFound)?
    };
    state.products.invalidate().await;
    Ok(row)
}

/// A category that still has products stays (409): deleting it would delete them.
pub async fn delete(state: &AppState, id: Uuid) -> Result<(), ApiError> {
    {
        let mut conn = state.db.get().await?;
        match categories::delete(&mut conn, id).await {
            Ok(true) => {}
            Ok(false) => return Err(ApiError::NotFound),
            Err(e) if is_foreign_key_violation(&e) => {
                return Err(ApiError::Conflict {
                    slug: "category-in-use",
                    detail: "The category still has products; move or delete them first.".into(),
                    errors: None,
                })
            }
            Err(e) => return Err(e.into()),
        }
    }
    state.products.invalidate().await;
    Ok(())
}
