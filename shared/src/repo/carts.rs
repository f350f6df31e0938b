//! Carts and their lines, with the stock checks that adding and changing a line make, and
//! checkout: one transaction that locks the products in a fixed order, re-checks and takes
//! the stock, records the order at that moment's prices and empties the cart.

use crate::db::id::Id;
use bigdecimal::BigDecimal;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncMysqlConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::is_deadlock;
use crate::db::schema::{cart_items, carts, order_items, orders, products};
use crate::domain::fits_an_order;
use crate::models::{now_naive, CartItemRow, CartLine, CartRow, OrderItemRow, OrderRow};

type Conn = AsyncMysqlConnection;

/// The user's cart, created on first use (reads do not write once it exists).
pub async fn ensure(conn: &mut Conn, user_id: Uuid) -> QueryResult<CartRow> {
    let user = Id(user_id);
    if let Some(cart) = of_user(conn, user).await? {
        return Ok(cart);
    }
    let now = now_naive();
    // A concurrent first use may win the unique user_id; either way one cart exists after.
    diesel::insert_or_ignore_into(carts::table)
        .values(&CartRow { id: Id::random(), user_id: user, created: now, updated: now })
        .execute(conn)
        .await?;
    of_user(conn, user).await?.ok_or(diesel::result::Error::NotFound)
}

async fn of_user(conn: &mut Conn, user: Id) -> QueryResult<Option<CartRow>> {
    carts::table
        .filter(carts::user_id.eq(user))
        .select(CartRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// The cart as it stands after a change (its `updated` moved).
pub async fn reload(conn: &mut Conn, cart_id: Id) -> QueryResult<CartRow> {
    carts::table.find(cart_id).select(CartRow::as_select()).first(conn).await
}

/// The cart's lines, oldest first, with their products.
pub async fn lines(conn: &mut Conn, cart_id: Id) -> QueryResult<Vec<CartLine>> {
    cart_items::table
        .inner_join(products::table)
        .filter(cart_items::cart_id.eq(cart_id))
        .order((cart_items::created.asc(), cart_items::id.asc()))
        .select((
            cart_items::id,
            cart_items::quantity,
            products::id,
            products::name,
            products::price,
            products::image_key,
            products::image_ext,
        ))
        .load(conn)
        .await
}

#[derive(Debug, PartialEq, Eq)]
pub enum LineOutcome {
    Created,
    Changed,
    NoSuchProduct,
    NoSuchLine,
    /// The line would hold more than the stock.
    InsufficientStock {
        available: u32,
    },
    /// The line would cost more than an order can hold (`domain::catalogue::MAX_ORDER_AMOUNT`).
    LineTotalTooLarge,
}

async fn touch(conn: &mut Conn, cart_id: Id) -> QueryResult<()> {
    diesel::update(carts::table.find(cart_id))
        .set(carts::updated.eq(now_naive()))
        .execute(conn)
        .await
        .map(|_| ())
}

/// A product's stock and price.
async fn stock(conn: &mut Conn, product_id: Id) -> QueryResult<Option<(u32, BigDecimal)>> {
    products::table
        .find(product_id)
        .select((products::quantity, products::price))
        .first(conn)
        .await
        .optional()
}

/// Adds `quantity` of a product to the cart: a new line, or more on the existing one.
pub async fn add(
    conn: &mut Conn,
    cart_id: Id,
    product_id: Uuid,
    quantity: u32,
) -> QueryResult<LineOutcome> {
    let product = Id(product_id);
    conn.transaction(async |conn| {
        let Some((available, price)) = stock(conn, product).await? else {
            return Ok(LineOutcome::NoSuchProduct);
        };
        let existing: Option<(Id, u32)> = cart_items::table
            .filter(cart_items::cart_id.eq(cart_id))
            .filter(cart_items::product_id.eq(product))
            .select((cart_items::id, cart_items::quantity))
            .for_update()
            .first(conn)
            .await
            .optional()?;
        let wanted = u64::from(existing.as_ref().map_or(0, |(_, q)| *q)) + u64::from(quantity);
        if wanted > u64::from(available) {
            return Ok(LineOutcome::InsufficientStock { available });
        }
        let wanted = wanted as u32;
        if !fits_an_order(&(&price * BigDecimal::from(wanted))) {
            return Ok(LineOutcome::LineTotalTooLarge);
        }
        let outcome = match existing {
            Some((id, _)) => {
                diesel::update(cart_items::table.find(id))
                    .set(cart_items::quantity.eq(wanted))
                    .execute(conn)
                    .await?;
                LineOutcome::Changed
            }
            None => {
                diesel::insert_into(cart_items::table)
                    .values(&CartItemRow {
                        id: Id::random(),
                        cart_id,
                        product_id: product,
                        quantity: wanted,
                        created: now_naive(),
                    })
                    .execute(conn)
                    .await?;
                LineOutcome::Created
            }
        };
        touch(conn, cart_id).await?;
        Ok(outcome)
    })
    .await
}

/// Sets a line's quantity (within the stock).
pub async fn set_quantity(
    conn: &mut Conn,
    cart_id: Id,
    line_id: Uuid,
    quantity: u32,
) -> QueryResult<LineOutcome> {
    conn.transaction(async |conn| {
        let line: Option<Id> = cart_items::table
            .find(line_id.to_string())
            .filter(cart_items::cart_id.eq(cart_id))
            .select(cart_items::product_id)
            .for_update()
            .first(conn)
            .await
            .optional()?;
        let Some(product) = line else {
            return Ok(LineOutcome::NoSuchLine);
        };
        let (available, price) = stock(conn, product).await?.unwrap_or((0, BigDecimal::from(0)));
        if quantity > available {
            return Ok(LineOutcome::InsufficientStock { available });
        }
        if !fits_an_order(&(&price * BigDecimal::from(quantity))) {
            return Ok(LineOutcome::LineTotalTooLarge);
        }
        diesel::update(cart_items::table.find(line_id.to_string()))
            .set(cart_items::quantity.eq(quantity))
            .execute(conn)
            .await?;
        touch(conn, cart_id).await?;
        Ok(LineOutcome::Changed)
    })
    .await
}

/// Removes a line; false when the cart has no such line.
pub async fn remove(conn: &mut Conn, cart_id: Id, line_id: Uuid) -> QueryResult<bool> {
    let removed = diesel::delete(
        cart_items::table.find(line_id.to_string()).filter(cart_items::cart_id.eq(cart_id)),
    )
    .execute(conn)
    .await?;
    if removed > 0 {
        touch(conn, cart_id).await?;
    }
    Ok(removed > 0)
}

/// A line that cannot be filled at checkout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shortage {
    pub product_id: Id,
    pub name: String,
    pub requested: u32,
    pub available: u32,
}

#[derive(Debug)]
pub enum CheckoutOutcome {
    Ordered(OrderRow, Vec<OrderItemRow>),
    EmptyCart,
    Short(Vec<Shortage>),
    /// The order would come to more than it can hold; its total is given.
    TotalTooLarge(BigDecimal),
}

/// Checks the user's cart out. Nothing changes unless every line can be filled.
pub async fn checkout(conn: &mut Conn, user_id: Uuid) -> QueryResult<CheckoutOutcome> {
    let mut attempts = 0;
    loop {
        attempts += 1;
        match try_checkout(conn, user_id).await {
            Err(e) if is_deadlock(&e) && attempts < 5 => continue,
            other => return other,
        }
    }
}

async fn try_checkout(conn: &mut Conn, user_id: Uuid) -> QueryResult<CheckoutOutcome> {
    conn.transaction(async |conn| {
        // The cart row first: one checkout of a cart at a time.
        let cart: Option<Id> = carts::table
            .filter(carts::user_id.eq(user_id.to_string()))
            .select(carts::id)
            .for_update()
            .first(conn)
            .await
            .optional()?;
        let Some(cart_id) = cart else {
            return Ok(CheckoutOutcome::EmptyCart);
        };
        // In the cart's order, which the order's lines keep.
        let wanted: Vec<(Id, u32)> = cart_items::table
            .filter(cart_items::cart_id.eq(cart_id))
            .order((cart_items::created.asc(), cart_items::id.asc()))
            .select((cart_items::product_id, cart_items::quantity))
            .load(conn)
            .await?;
        if wanted.is_empty() {
            return Ok(CheckoutOutcome::EmptyCart);
        }
        // Products locked in id order: two checkouts sharing products never deadlock.
        let mut ids: Vec<Id> = wanted.iter().map(|(id, _)| *id).collect();
        ids.sort_unstable();
        let stock: Vec<(Id, String, BigDecimal, u32)> = products::table
            .filter(products::id.eq_any(&ids))
            .order(products::id.asc())
            .select((products::id, products::name, products::price, products::quantity))
            .for_update()
            .load(conn)
            .await?;
        let find = |id: &Id| stock.iter().find(|(pid, ..)| pid == id);

        let shortages: Vec<Shortage> = wanted
            .iter()
            .filter_map(|(id, quantity)| {
                let (_, name, _, available) = find(id)?;
                (quantity > available).then(|| Shortage {
                    product_id: *id,
                    name: name.clone(),
                    requested: *quantity,
                    available: *available,
                })
            })
            .collect();
        if !shortages.is_empty() {
            return Ok(CheckoutOutcome::Short(shortages));
        }

        let order_id = Id::random();
        let mut items = Vec::with_capacity(wanted.len());
        let mut total = BigDecimal::from(0);
        for (position, (product_id, quantity)) in wanted.iter().enumerate() {
            let Some((_, name, price, _)) = find(product_id) else {
                continue;
            };
            let line_total = price * BigDecimal::from(*quantity);
            total += &line_total;
            items.push(OrderItemRow {
                id: Id::random(),
                order_id,
                product_id: *product_id,
                name: name.clone(),
                unit_price: price.clone(),
                quantity: *quantity,
                line_total,
                position: position as u32,
            });
        }
        // Prices may have risen since the lines were added: nothing changes then either.
        if !fits_an_order(&total) {
            return Ok(CheckoutOutcome::TotalTooLarge(total.with_scale(2)));
        }
        for item in &items {
            diesel::update(products::table.find(&item.product_id))
                .set(products::quantity.eq(products::quantity - item.quantity))
                .execute(conn)
                .await?;
        }
        let order = OrderRow {
            id: order_id,
            user_id: Id(user_id),
            total: total.with_scale(2),
            created_at: now_naive(),
        };
        diesel::insert_into(orders::table).values(&order).execute(conn).await?;
        diesel::insert_into(order_items::table).values(&items).execute(conn).await?;
        diesel::delete(cart_items::table.filter(cart_items::cart_id.eq(cart_id)))
            .execute(conn)
            .await?;
        touch(conn, cart_id).await?;
        Ok(CheckoutOutcome::Ordered(order, items))
    })
    .await
}
