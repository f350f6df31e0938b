//! The caller's cart and checkout. Stock is checked when a line grows and again, under row
//! locks, at checkout, which is the only place stock is taken.

use bigdecimal::BigDecimal;
use dispatch_shared::domain::{money_text, ValidationErrors, MAX_ORDER_AMOUNT};
use dispatch_shared::models::{utc, CartRow, ImageUrls};
use dispatch_shared::repo::carts::{self, CheckoutOutcome, LineOutcome};
use uuid::Uuid;

use crate::error::ApiError;
use crate::schemas::{Cart, CartItem, CartProduct, MoneyText, Order};
use crate::services::orders::order_view;
use crate::state::AppState;

type Conn = diesel_async::AsyncMysqlConnection;

/// The cart with its lines; count and total are derived here, never stored.
async fn view(conn: &mut Conn, cart: CartRow) -> Result<Cart, ApiError> {
    let lines = carts::lines(conn, &cart.id).await?;
    let mut total = BigDecimal::from(0);
    let mut count = 0u64;
    let items = lines
        .into_iter()
        .map(|line| {
            let line_total = &line.price * BigDecimal::from(line.quantity);
            total += &line_total;
            count += u64::from(line.quantity);
            let image = match (&line.image_key, &line.image_ext) {
                (Some(key), Some(ext)) => Some(ImageUrls::new(key, ext).into()),
                _ => None,
            };
            CartItem {
                id: Uuid::parse_str(&line.id).unwrap_or_default(),
                product: CartProduct {
                    id: Uuid::parse_str(&line.product_id).unwrap_or_default(),
                    name: line.name,
                    price: MoneyText(money_text(&line.price)),
                    image,
                },
                quantity: line.quantity,
                line_total: MoneyText(money_text(&line_total)),
            }
        })
        .collect();
    Ok(Cart {
        id: Uuid::parse_str(&cart.id).unwrap_or_default(),
        items,
        count,
        total: MoneyText(money_text(&total)),
        updated: utc(cart.updated),
        created: utc(cart.created),
    })
}

pub async fn get(state: &AppState, user: Uuid) -> Result<Cart, ApiError> {
    let mut conn = state.db.get().await?;
    let cart = carts::ensure(&mut conn, user).await?;
    view(&mut conn, cart).await
}

/// A line whose price times quantity is more than an order can hold.
fn line_too_large() -> ApiError {
    ApiError::field(
        "quantity",
        format!(
            "The line would cost more than an order can hold ({MAX_ORDER_AMOUNT}); order fewer."
        ),
    )
}

fn insufficient(available: u32) -> ApiError {
    let message = format!("Only {available} in stock.");
    ApiError::Conflict {
        slug: "insufficient-stock",
        detail: message.clone(),
        errors: Some(ValidationErrors::single("quantity", message)),
    }
}

/// Adds to the cart; `true` when a new line was created.
pub async fn add(
    state: &AppState,
    user: Uuid,
    product_id: Uuid,
    quantity: u32,
) -> Result<(bool, Cart), ApiError> {
    let mut conn = state.db.get().await?;
    let cart = carts::ensure(&mut conn, user).await?;
    let outcome = carts::add(&mut conn, &cart.id, product_id, quantity).await?;
    let created = match outcome {
        LineOutcome::Created => true,
        LineOutcome::Changed => false,
        LineOutcome::InsufficientStock { available } => return Err(insufficient(available)),
        LineOutcome::LineTotalTooLarge => return Err(line_too_large()),
        LineOutcome::NoSuchProduct | LineOutcome::NoSuchLine => {
            return Err(ApiError::field("product_id", "No product with this id."))
        }
    };
    let cart = carts::reload(&mut conn, &cart.id).await?;
    Ok((created, view(&mut conn, cart).await?))
}

pub async fn set_quantity(
    state: &AppState,
    user: Uuid,
    line: Uuid,
    quantity: u32,
) -> Result<Cart, ApiError> {
    let mut conn = state.db.get().await?;
    let cart = carts::ensure(&mut conn, user).await?;
    let outcome = carts::set_quantity(&mut conn, &cart.id, line, quantity).await?;
    match outcome {
        LineOutcome::InsufficientStock { available } => return Err(insufficient(available)),
        LineOutcome::LineTotalTooLarge => return Err(line_too_large()),
        LineOutcome::NoSuchLine | LineOutcome::NoSuchProduct => return Err(ApiError::NotFound),
        LineOutcome::Created | LineOutcome::Changed => {}
    }
    let cart = carts::reload(&mut conn, &cart.id).await?;
    view(&mut conn, cart).await
}

pub async fn remove(state: &AppState, user: Uuid, line: Uuid) -> Result<Cart, ApiError> {
    let mut conn = state.db.get().await?;
    let cart = carts::ensure(&mut conn, user).await?;
    if !carts::remove(&mut conn, &cart.id, line).await? {
        return Err(ApiError::NotFound);
    }
    let cart = carts::reload(&mut conn, &cart.id).await?;
    view(&mut conn, cart).await
}

pub async fn checkout(state: &AppState, user: Uuid) -> Result<Order, ApiError> {
    let outcome = {
        let mut conn = state.db.get().await?;
        carts::checkout(&mut conn, user).await?
    };
    match outcome {
        CheckoutOutcome::Ordered(order, items) => {
            // Stock changed: cached product pages are out of date.
            state.products.invalidate().await;
            Ok(order_view(order, items))
        }
        CheckoutOutcome::EmptyCart => Err(ApiError::Conflict {
            slug: "empty-cart",
            detail: "The cart is empty.".into(),
            errors: None,
        }),
        CheckoutOutcome::TotalTooLarge(total) => {
            let message = format!(
                "The order would come to {total}, more than an order can hold \
                 ({MAX_ORDER_AMOUNT}); nothing was ordered. Remove or reduce lines."
            );
            Err(ApiError::Conflict {
                slug: "order-total-too-large",
                detail: message.clone(),
                errors: Some(ValidationErrors::single("total", message)),
            })
        }
        CheckoutOutcome::Short(shortages) => {
            let mut errors = ValidationErrors::new();
            let mut parts = Vec::new();
            for s in &shortages {
                let message = format!(
                    "{}: {} requested, {} in stock.",
                    s.name, s.requested, s.available
                );
                errors.add(&s.product_id, message.clone());
                parts.push(message);
            }
            Err(ApiError::Conflict {
                slug: "insufficient-stock",
                detail: format!("Not enough stock; nothing was ordered. {}", parts.join(" ")),
                errors: Some(errors),
            })
        }
    }
}
