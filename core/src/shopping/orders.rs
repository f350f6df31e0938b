//! Orders: the caller's own; admins see everyone's.

use dispatch_shared::db::DbPool;
use dispatch_shared::domain::money_text;
use dispatch_shared::models::{utc, OrderItemRow, OrderRow};
use dispatch_shared::repo::orders::{self, OrderScope};
use uuid::Uuid;

use super::{OrderItemView, OrderView, ShoppingError};
use crate::listing::{Listed, Window};
use crate::{Caller, Failure};

pub(crate) fn order_view(order: OrderRow, items: Vec<OrderItemRow>) -> OrderView {
    OrderView {
        id: order.uuid(),
        items: items
            .into_iter()
            .map(|i| OrderItemView {
                product_id: i.product_uuid(),
                name: i.name,
                unit_price: money_text(&i.unit_price),
                quantity: i.quantity,
                line_total: money_text(&i.line_total),
            })
            .collect(),
        total: money_text(&order.total),
        created_at: utc(order.created_at),
    }
}

#[derive(Clone)]
pub struct Orders {
    db: DbPool,
}

impl Orders {
    pub fn new(db: DbPool) -> Self {
        Self { db }
    }

    pub async fn list(
        &self,
        caller: &Caller,
        window: Window,
    ) -> Result<Listed<OrderView>, Failure> {
        let mut conn = self.db.get().await?;
        let (rows, count) =
            orders::list(&mut conn, caller.sees(OrderScope::All, OrderScope::Of), window).await?;
        Ok(Listed::of(rows, count, |(order, items)| order_view(order, items)))
    }

    pub async fn find(&self, caller: &Caller, id: Uuid) -> Result<OrderView, ShoppingError> {
        let mut conn = self.db.get().await?;
        let (order, items) =
            orders::find(&mut conn, caller.sees(OrderScope::All, OrderScope::Of), id)
                .await?
                .ok_or(ShoppingError::NotFound)?;
        Ok(order_view(order, items))
    }
}
