//! Orders as checkout recorded them: each with its lines, loaded for a whole page at once.

use std::collections::HashMap;

use diesel::prelude::*;
use diesel_async::{AsyncMysqlConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::id::Id;
use crate::db::schema::{order_items, orders};
use crate::models::{OrderItemRow, OrderRow};
use crate::repo::listing::{counted_page, Window};

type Conn = AsyncMysqlConnection;

/// Whose orders a caller may see.
#[derive(Debug, Clone, Copy)]
pub enum OrderScope {
    All,
    Of(Uuid),
}

fn scoped(scope: OrderScope) -> orders::BoxedQuery<'static, diesel::mysql::Mysql> {
    match scope {
        OrderScope::All => orders::table.into_boxed(),
        OrderScope::Of(user) => {
            orders::table.filter(orders::user_id.eq(user.to_string())).into_boxed()
        }
    }
}

async fn with_items(
    conn: &mut Conn,
    orders: Vec<OrderRow>,
) -> QueryResult<Vec<(OrderRow, Vec<OrderItemRow>)>> {
    let ids: Vec<Id> = orders.iter().map(|o| o.id).collect();
    let items: Vec<OrderItemRow> = if ids.is_empty() {
        Vec::new()
    } else {
        order_items::table
            .filter(order_items::order_id.eq_any(&ids))
            .order((order_items::order_id.asc(), order_items::position.asc()))
            .select(OrderItemRow::as_select())
            .load(conn)
            .await?
    };
    let mut by_order: HashMap<Id, Vec<OrderItemRow>> = HashMap::new();
    for item in items {
        by_order.entry(item.order_id).or_default().push(item);
    }
    Ok(orders
        .into_iter()
        .map(|order| {
            let items = by_order.remove(&order.id).unwrap_or_default();
            (order, items)
        })
        .collect())
}

/// Newest first.
pub async fn list(
    conn: &mut Conn,
    scope: OrderScope,
    window: Window,
) -> QueryResult<(Vec<(OrderRow, Vec<OrderItemRow>)>, i64)> {
    let page = scoped(scope)
        .order((orders::created_at.desc(), orders::id.asc()))
        .select(OrderRow::as_select());
    // A shape per scope, whatever the request: kept prepared.
    let (page, count) = counted_page(conn, scoped(scope).count(), page, window, true).await?;
    Ok((with_items(conn, page).await?, count))
}

pub async fn find(
    conn: &mut Conn,
    scope: OrderScope,
    id: Uuid,
) -> QueryResult<Option<(OrderRow, Vec<OrderItemRow>)>> {
    let order: Option<OrderRow> = scoped(scope)
        .filter(orders::id.eq(id.to_string()))
        .select(OrderRow::as_select())
        .first(conn)
        .await
        .optional()?;
    let Some(order) = order else { return Ok(None) };
    Ok(with_items(conn, vec![order]).await?.pop())
}
