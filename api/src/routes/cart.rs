//! `/api/v1/cart/`: the caller's cart and checkout. Another user's line is a 404.

use std::sync::Arc;

use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};
use uuid::Uuid;

use crate::error::ApiResult;
use crate::extract::{AuthUser, JsonBody};
use crate::routes::ApiTags;
use crate::schemas::{Cart, CartItemPatch, NewCartItem, Order};
use crate::state::AppState;

pub struct CartApi;

#[derive(ApiResponse)]
pub enum ItemAdded {
    /// A new line; the body is the cart.
    #[oai(status = 201)]
    Created(Json<Cart>),
    /// The product was in the cart: its line grew. The body is the cart.
    #[oai(status = 200)]
    Increased(Json<Cart>),
}

#[derive(ApiResponse)]
pub enum OrderPlaced {
    #[oai(status = 201)]
    Created(Json<Order>),
}

#[OpenApi(tag = "ApiTags::Shop")]
impl CartApi {
    /// The caller's cart
    ///
    /// Empty until something is added. `count` is the number of units, `total` their price
    /// at today's prices.
    #[oai(path = "/api/v1/cart/", method = "get")]
    async fn get(&self, state: Data<&Arc<AppState>>, auth: AuthUser) -> ApiResult<Json<Cart>> {
        Ok(Json(state.carts.get(auth.id).await?.into()))
    }

    /// Add a product to the cart
    ///
    /// A new line (201), or more of a product already in the cart (200). A line above the
    /// stock is a 409 `insufficient-stock`; an unknown product a 400.
    #[oai(path = "/api/v1/cart/items/", method = "post")]
    async fn add(
        &self,
        state: Data<&Arc<AppState>>,
        auth: AuthUser,
        body: JsonBody<NewCartItem>,
    ) -> ApiResult<ItemAdded> {
        let (created, cart) = state.carts.add(auth.id, body.0.product_id, body.0.quantity).await?;
        Ok(if created {
            ItemAdded::Created(Json(cart.into()))
        } else {
            ItemAdded::Increased(Json(cart.into()))
        })
    }

    /// Change a line's quantity
    ///
    /// Within the stock (409 `insufficient-stock` otherwise). The body is the cart.
    #[oai(path = "/api/v1/cart/items/:id/", method = "patch")]
    async fn patch(
        &self,
        state: Data<&Arc<AppState>>,
        auth: AuthUser,
        /// The line's id.
        id: Path<Uuid>,
        body: JsonBody<CartItemPatch>,
    ) -> ApiResult<Json<Cart>> {
        let cart = state.carts.set_quantity(auth.id, id.0, body.0.quantity).await?;
        Ok(Json(cart.into()))
    }

    /// Remove a line
    ///
    /// The body is the cart.
    #[oai(path = "/api/v1/cart/items/:id/", method = "delete")]
    async fn delete(
        &self,
        state: Data<&Arc<AppState>>,
        auth: AuthUser,
        /// The line's id.
        id: Path<Uuid>,
    ) -> ApiResult<Json<Cart>> {
        Ok(Json(state.carts.remove(auth.id, id.0).await?.into()))
    }

    /// Check out
    ///
    /// In one transaction: re-checks the stock of every line, takes it, records the order
    /// at today's prices and empties the cart. Any line short is a 409
    /// `insufficient-stock` (naming each short product in `errors`) and nothing changes; an
    /// empty cart is a 409 `empty-cart`.
    #[oai(path = "/api/v1/cart/checkout/", method = "post")]
    async fn checkout(
        &self,
        state: Data<&Arc<AppState>>,
        auth: AuthUser,
    ) -> ApiResult<OrderPlaced> {
        let order = state.carts.checkout(auth.id).await?;
        Ok(OrderPlaced::Created(Json(order.into())))
    }
}
