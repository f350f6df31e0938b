//! Categories. Every write empties the product cache (product pages carry category names).

use dispatch_shared::db::id::Id;
use dispatch_shared::db::{is_foreign_key_violation, is_unique_violation, DbPool};
use dispatch_shared::domain::{CategoryName, ValidationErrors};
pub use dispatch_shared::models::CategoryView;
use dispatch_shared::models::{now_naive, CategoryRow};
use dispatch_shared::product_cache::ProductCache;
use dispatch_shared::repo::categories;
pub use dispatch_shared::repo::categories::{CategoryFilter, CategorySort};
use uuid::Uuid;

use super::CatalogueError;
use crate::listing::{Listed, Ordering, Window};
use crate::{Caller, Failure};

pub fn parse_name(raw: &str) -> Result<CategoryName, ValidationErrors> {
    CategoryName::parse(raw).map_err(|m| ValidationErrors::single("name", m))
}

fn map_write_error(e: diesel::result::Error, name: &CategoryName) -> CatalogueError {
    if is_unique_violation(&e).is_some() {
        CatalogueError::CategoryExists(name.clone())
    } else {
        e.into()
    }
}

#[derive(Clone)]
pub struct Categories {
    db: DbPool,
    products: ProductCache,
}

impl Categories {
    pub fn new(db: DbPool, products: ProductCache) -> Self {
        Self { db, products }
    }

    pub async fn list(
        &self,
        filter: &CategoryFilter,
        ordering: &Ordering<CategorySort>,
        window: Window,
    ) -> Result<Listed<CategoryView>, Failure> {
        let mut conn = self.db.get().await?;
        let (rows, count) = categories::list(&mut conn, filter, ordering, window).await?;
        Ok(Listed::of(rows, count, |r| r.view()))
    }

    pub async fn find(&self, id: Uuid) -> Result<CategoryView, CatalogueError> {
        let mut conn = self.db.get().await?;
        let row = categories::find(&mut conn, id).await?.ok_or(CatalogueError::NotFound)?;
        Ok(row.view())
    }

    pub async fn create(
        &self,
        caller: &Caller,
        name: CategoryName,
    ) -> Result<CategoryView, CatalogueError> {
        caller.require_admin()?;
        let row = CategoryRow {
            id: Id::random(),
            name: name.as_str().to_owned(),
            created_at: now_naive(),
        };
        {
            let mut conn = self.db.get().await?;
            categories::insert(&mut conn, &row).await.map_err(|e| map_write_error(e, &name))?;
        }
        self.products.invalidate().await;
        Ok(row.view())
    }

    pub async fn rename(
        &self,
        caller: &Caller,
        id: Uuid,
        name: CategoryName,
    ) -> Result<CategoryView, CatalogueError> {
        caller.require_admin()?;
        let row = {
            let mut conn = self.db.get().await?;
            if !categories::rename(&mut conn, id, name.as_str())
                .await
                .map_err(|e| map_write_error(e, &name))?
            {
                return Err(CatalogueError::NotFound);
            }
            categories::find(&mut conn, id).await?.ok_or(CatalogueError::NotFound)?
        };
        self.products.invalidate().await;
        Ok(row.view())
    }

    /// A category that still has products stays: deleting it would delete them.
    pub async fn delete(&self, caller: &Caller, id: Uuid) -> Result<(), CatalogueError> {
        caller.require_admin()?;
        {
            let mut conn = self.db.get().await?;
            match categories::delete(&mut conn, id).await {
                Ok(true) => {}
                Ok(false) => return Err(CatalogueError::NotFound),
                Err(e) if is_foreign_key_violation(&e) => {
                    return Err(CatalogueError::CategoryInUse)
                }
                Err(e) => return Err(e.into()),
            }
        }
        self.products.invalidate().await;
        Ok(())
    }
}
