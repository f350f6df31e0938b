//! `/api/v1/orders/`: orders placed at checkout; the caller's own, or everyone's for admins.

use std::sync::Arc;

use poem::web::Data;
use poem::Request;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::OpenApi;
use uuid::Uuid;

use crate::error::ApiResult;
use crate::extract::pagination::{Page, PageParam, Paging};
use crate::extract::AuthUser;
use crate::routes::ApiTags;
use crate::schemas::Order;
use crate::state::AppState;

pub struct OrdersApi;

#[OpenApi(tag = "ApiTags::Shop")]
impl OrdersApi {
    /// Orders
    ///
    /// Newest first: the caller's own (admins: everyone's).
    #[oai(path = "/api/v1/orders/", method = "get")]
    async fn list(
        &self,
        state: Data<&Arc<AppState>>,
        request: &Request,
        auth: AuthUser,
        /// 1-based page number.
        page: Query<Option<PageParam>>,
        /// Items per page (default 20; larger values are clamped to 100).
        page_size: Query<Option<PageParam>>,
    ) -> ApiResult<Json<Page<Order>>> {
        let paging = Paging::parse(page.0, page_size.0)?;
        let listed = state.orders.list(&auth, paging.window()).await?;
        Ok(Json(Page::of(request, paging, listed)?))
    }

    /// One order
    ///
    /// Someone else's order is a 404 (unless the caller is an admin).
    #[oai(path = "/api/v1/orders/:id/", method = "get")]
    async fn get(
        &self,
        state: Data<&Arc<AppState>>,
        auth: AuthUser,
        /// The order's id.
        id: Path<Uuid>,
    ) -> ApiResult<Json<Order>> {
        Ok(Json(state.orders.find(&auth, id.0).await?.into()))
    }
}
