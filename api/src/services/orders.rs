//! Orders: the caller's own; admins see everyone's.

use dispatch_shared::domain::money_text;
use dispatch_shared::models::{utc, OrderItemRow, OrderRow};
use dispatch_shared::repo::listing::Window;
use dispatch_shared::repo::orders::{self, OrderScope};
use uuid::Uuid;

use crate::error::ApiError;
use crate::extract::AuthUser;
use crate::schemas::{MoneyText, Order, OrderItem};
use crate::state::AppState;

pub fn order_view(order: OrderRow, items: Vec<OrderItemRow>) -> Order {
    Order {
        id: Uuid::parse_str(&order.id).unwrap_or_default(),
        items: items
            .into_iter()
            .map(|i| OrderItem {
                product_id: Uuid::parse_str(&i.product_id).unwrap_or_default(),
                name: i.name,
                unit_price: MoneyText(money_text(&i.unit_price)),
                quantity: i.quantity,
                line_total: MoneyText(money_text(&i.line_total)),
            })
            .collect(),
        total: MoneyText(money_text(&order.total)),
        created_at: utc(order.created_at),
    }
}

fn scope(caller: &AuthUser) -> OrderScope {
    if caller.is_admin() {
        OrderScope::All
    } else {
        OrderScope::Of(caller.id)
    }
}

pub async fn list(
    state: &AppState,
    caller: &AuthUser,
    window: Window,
) -> Result<(Vec<Order>, i64), ApiError> {
    let mut conn = state.db.get().await?;
    let (rows, count) = orders::list(&mut conn, scope(caller), window).await?;
    Ok((
        rows.into_iter()
            .map(|(order, items)| order_view(order, items))
            .collect(),
        count,
    ))
}

pub async fn find(state: &AppState, caller: &AuthUser, id: Uuid) -> Result<Order, ApiError> {
    let mut conn = state.db.get().await?;
    let (order, items) = orders::find(&mut conn, scope(caller), id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(order_view(order, items))
}
