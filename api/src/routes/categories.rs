//! `/api/v1/categories/`: product categories. Anyone signed in reads; admins write.

use std::sync::Arc;

use dispatch_core::catalogue::categories::{parse_name, CategoryFilter, CategorySort};
use poem::web::Data;
use poem::Request;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};
use uuid::Uuid;

use crate::error::ApiResult;
use crate::extract::ordering::{ordering_or_default, OrderingParam};
use crate::extract::pagination::{Page, PageParam, Paging};
use crate::extract::{AdminUser, AuthUser, JsonBody};
use crate::routes::ApiTags;
use crate::schemas::{Category, CategoryInput};
use crate::state::AppState;

pub struct CategoriesApi;

async fn rename(
    state: &AppState,
    admin: &AdminUser,
    id: Uuid,
    body: &CategoryInput,
) -> ApiResult<Json<Category>> {
    let name = parse_name(&body.name)?;
    Ok(Json(state.categories.rename(&admin.0, id, name).await?.into()))
}

#[derive(ApiResponse)]
pub enum CategoryCreated {
    #[oai(status = 201)]
    Created(Json<Category>),
}

#[derive(ApiResponse)]
pub enum CategoryDeleted {
    /// Deleted.
    #[oai(status = 204)]
    NoContent,
}

#[OpenApi(tag = "ApiTags::Catalogue")]
impl CategoriesApi {
    /// Categories
    ///
    /// Paginated, by name. `name` matches a whole name ignoring case; `name_contains` a
    /// part of one.
    #[oai(path = "/api/v1/categories/", method = "get")]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        state: Data<&Arc<AppState>>,
        request: &Request,
        _auth: AuthUser,
        /// 1-based page number.
        page: Query<Option<PageParam>>,
        /// Items per page (default 20; larger values are clamped to 100).
        page_size: Query<Option<PageParam>>,
        /// The whole name, ignoring case.
        name: Query<Option<String>>,
        /// A part of the name, ignoring case.
        name_contains: Query<Option<String>>,
        /// Sort keys: `name` or `-name`.
        ordering: Query<Option<OrderingParam<CategorySort>>>,
    ) -> ApiResult<Json<Page<Category>>> {
        let paging = Paging::parse(page.0, page_size.0)?;
        let filter = CategoryFilter {
            name: name.0.filter(|s| !s.is_empty()),
            name_contains: name_contains.0.filter(|s| !s.is_empty()),
        };
        let ordering = ordering_or_default(ordering.0);
        let listed = state.categories.list(&filter, &ordering, paging.window()).await?;
        Ok(Json(Page::of(request, paging, listed)?))
    }

    /// Create a category (admins only)
    ///
    /// A name already in use (ignoring case) is a 409 `category-exists`.
    #[oai(path = "/api/v1/categories/", method = "post")]
    async fn create(
        &self,
        state: Data<&Arc<AppState>>,
        admin: AdminUser,
        body: JsonBody<CategoryInput>,
    ) -> ApiResult<CategoryCreated> {
        let name = parse_name(&body.0.name)?;
        let category = state.categories.create(&admin.0, name).await?;
        Ok(CategoryCreated::Created(Json(category.into())))
    }

    /// One category
    ///
    /// Its id and name.
    #[oai(path = "/api/v1/categories/:id/", method = "get")]
    async fn get(
        &self,
        state: Data<&Arc<AppState>>,
        _auth: AuthUser,
        /// The category's id.
        id: Path<Uuid>,
    ) -> ApiResult<Json<Category>> {
        Ok(Json(state.categories.find(id.0).await?.into()))
    }

    /// Rename a category (admins only)
    ///
    /// A name in use by another category (ignoring case) is a 409 `category-exists`.
    #[oai(path = "/api/v1/categories/:id/", method = "put")]
    async fn put(
        &self,
        state: Data<&Arc<AppState>>,
        admin: AdminUser,
        /// The category's id.
        id: Path<Uuid>,
        body: JsonBody<CategoryInput>,
    ) -> ApiResult<Json<Category>> {
        rename(state.0, &admin, id.0, &body.0).await
    }

    /// Rename a category (admins only)
    ///
    /// The same as PUT: a category has one field.
    #[oai(path = "/api/v1/categories/:id/", method = "patch")]
    async fn patch(
        &self,
        state: Data<&Arc<AppState>>,
        admin: AdminUser,
        /// The category's id.
        id: Path<Uuid>,
        body: JsonBody<CategoryInput>,
    ) -> ApiResult<Json<Category>> {
        rename(state.0, &admin, id.0, &body.0).await
    }

    /// Delete a category (admins only)
    ///
    /// Only an empty one: a category that still has products is a 409 `category-in-use`.
    #[oai(path = "/api/v1/categories/:id/", method = "delete")]
    async fn delete(
        &self,
        state: Data<&Arc<AppState>>,
        admin: AdminUser,
        /// The category's id.
        id: Path<Uuid>,
    ) -> ApiResult<CategoryDeleted> {
        state.categories.delete(&admin.0, id.0).await?;
        Ok(CategoryDeleted::NoContent)
    }
}
