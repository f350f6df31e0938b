//! The caller's cart and its checkout.

use bigdecimal::BigDecimal;
use diesel_async::AsyncMysqlConnection;
use dispatch_shared::db::DbPool;
use dispatch_shared::domain::money_text;
use dispatch_shared::models::{utc, CartRow, ImageUrls};
use dispatch_shared::product_cache::ProductCache;
use dispatch_shared::repo::carts::{self, CheckoutOutcome, LineOutcome};
use uuid::Uuid;

use super::orders::order_view;
use super::{CartLineView, CartProductView, CartView, OrderView, ShoppingError};

/// The cart with its lines; count and total are derived here, never stored.
async fn view(conn: &mut AsyncMysqlConnection, cart: CartRow) -> Result<CartView, ShoppingError> {
    let lines = carts::lines(conn, cart.id).await?;
    let mut total = BigDecimal::from(0);
    let mut count = 0u64;
    let items = lines
        .into_iter()
        .map(|line| {
            let line_total = &line.price * BigDecimal::from(line.quantity);
            total += &line_total;
            count += u64::from(line.quantity);
            let image = match (&line.image_key, &line.image_ext) {
                (Some(key), Some(ext)) => Some(ImageUrls::new(key, ext)),
                _ => None,
            };
            CartLineView {
                id: line.id.0,
                product: CartProductView {
                    id: line.product_id.0,
                    name: line.name,
                    price: money_text(&line.price),
                    image,
                },
                quantity: line.quantity,
                line_total: money_text(&line_total),
            }
        })
        .collect();
    Ok(CartView {
        id: cart.id.0,
        items,
        count,
        total: money_text(&total),
        updated: utc(cart.updated),
        created: utc(cart.created),
    })
}

/// What a line change meant, unless it went through.
fn refused(outcome: LineOutcome, missing: ShoppingError) -> Result<bool, ShoppingError> {
    match outcome {
        LineOutcome::Created => Ok(true),
        LineOutcome::Changed => Ok(false),
        LineOutcome::InsufficientStock { available } => {
            Err(ShoppingError::InsufficientStock { available })
        }
        LineOutcome::LineTotalTooLarge => Err(ShoppingError::LineTooLarge),
        LineOutcome::NoSuchProduct | LineOutcome::NoSuchLine => Err(missing),
    }
}

#[derive(Clone)]
pub struct Carts {
    db: DbPool,
    products: ProductCache,
}

impl Carts {
    pub fn new(db: DbPool, products: ProductCache) -> Self {
        Self { db, products }
    }

    pub async fn get(&self, user: Uuid) -> Result<CartView, ShoppingError> {
        let mut conn = self.db.get().await?;
        let cart = carts::ensure(&mut conn, user).await?;
        view(&mut conn, cart).await
    }

    /// Adds to the cart; `true` when a new line was created.
    pub async fn add(
        &self,
        user: Uuid,
        product_id: Uuid,
        quantity: u32,
    ) -> Result<(bool, CartView), ShoppingError> {
        let mut conn = self.db.get().await?;
        let cart = carts::ensure(&mut conn, user).await?;
        let outcome = carts::add(&mut conn, cart.id, product_id, quantity).await?;
        let created = refused(outcome, ShoppingError::UnknownProduct)?;
        let cart = carts::reload(&mut conn, cart.id).await?;
        Ok((created, view(&mut conn, cart).await?))
    }

    pub async fn set_quantity(
        &self,
        user: Uuid,
        line: Uuid,
        quantity: u32,
    ) -> Result<CartView, ShoppingError> {
        let mut conn = self.db.get().await?;
        let cart = carts::ensure(&mut conn, user).await?;
        let outcome = carts::set_quantity(&mut conn, cart.id, line, quantity).await?;
        refused(outcome, ShoppingError::NotFound)?;
        let cart = carts::reload(&mut conn, cart.id).await?;
        view(&mut conn, cart).await
    }

    pub async fn remove(&self, user: Uuid, line: Uuid) -> Result<CartView, ShoppingError> {
        let mut conn = self.db.get().await?;
        let cart = carts::ensure(&mut conn, user).await?;
        if !carts::remove(&mut conn, cart.id, line).await? {
            return Err(ShoppingError::NotFound);
        }
        let cart = carts::reload(&mut conn, cart.id).await?;
        view(&mut conn, cart).await
    }

    pub async fn checkout(&self, user: Uuid) -> Result<OrderView, ShoppingError> {
        let outcome = {
            let mut conn = self.db.get().await?;
            carts::checkout(&mut conn, user).await?
        };
        match outcome {
            CheckoutOutcome::Ordered(order, items) => {
                // Stock changed: cached product pages are out of date.
                self.products.invalidate().await;
                Ok(order_view(order, items))
            }
            CheckoutOutcome::EmptyCart => Err(ShoppingError::EmptyCart),
            CheckoutOutcome::TotalTooLarge(total) => {
                Err(ShoppingError::OrderTooLarge { total: total.to_string() })
            }
            CheckoutOutcome::Short(shortages) => Err(ShoppingError::ShortAtCheckout(shortages)),
        }
    }
}
