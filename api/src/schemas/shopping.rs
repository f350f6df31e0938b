//! Cart and order bodies. Money is a string with two decimal places.

use chrono::{DateTime, Utc};
use dispatch_core::shopping::{CartView, OrderView};
use poem_openapi::Object;
use uuid::Uuid;

use super::{example_time, MoneyText, ProductImage};

/// What a cart line shows of its product.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct CartProduct {
    pub id: Uuid,
    pub name: String,
    pub price: MoneyText,
    #[oai(nullable)]
    pub image: Option<ProductImage>,
}

#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct CartItem {
    pub id: Uuid,
    pub product: CartProduct,
    pub quantity: u32,
    pub line_total: MoneyText,
}

/// The caller's cart; `count` is the number of units, `total` their price.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct Cart {
    pub id: Uuid,
    pub items: Vec<CartItem>,
    pub count: u64,
    pub total: MoneyText,
    pub updated: DateTime<Utc>,
    pub created: DateTime<Utc>,
}

impl poem_openapi::types::Example for CartProduct {
    fn example() -> Self {
        Self { id: Uuid::nil(), name: "Dune".into(), price: MoneyText("12.50".into()), image: None }
    }
}

impl poem_openapi::types::Example for CartItem {
    fn example() -> Self {
        Self {
            id: Uuid::nil(),
            product: CartProduct::example(),
            quantity: 2,
            line_total: MoneyText("25.00".into()),
        }
    }
}

impl poem_openapi::types::Example for OrderItem {
    fn example() -> Self {
        Self {
            product_id: Uuid::nil(),
            name: "Dune".into(),
            unit_price: MoneyText("12.50".into()),
            quantity: 2,
            line_total: MoneyText("25.00".into()),
        }
    }
}

impl poem_openapi::types::Example for Cart {
    fn example() -> Self {
        Self {
            id: Uuid::nil(),
            items: vec![CartItem::example()],
            count: 2,
            total: MoneyText("25.00".into()),
            updated: example_time(),
            created: example_time(),
        }
    }
}

#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct NewCartItem {
    pub product_id: Uuid,
    /// At least 1; added to the line if the product is already in the cart.
    #[oai(validator(minimum(value = "1"), maximum(value = "4294967295")))]
    pub quantity: u32,
}

impl poem_openapi::types::Example for NewCartItem {
    fn example() -> Self {
        Self { product_id: Uuid::nil(), quantity: 1 }
    }
}

#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct CartItemPatch {
    /// At least 1, at most the stock.
    #[oai(validator(minimum(value = "1"), maximum(value = "4294967295")))]
    pub quantity: u32,
}

impl poem_openapi::types::Example for CartItemPatch {
    fn example() -> Self {
        Self { quantity: 3 }
    }
}

/// A line as bought: the product's name and price at that moment.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct OrderItem {
    pub product_id: Uuid,
    pub name: String,
    pub unit_price: MoneyText,
    pub quantity: u32,
    pub line_total: MoneyText,
}

#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct Order {
    pub id: Uuid,
    pub items: Vec<OrderItem>,
    pub total: MoneyText,
    pub created_at: DateTime<Utc>,
}

impl poem_openapi::types::Example for Order {
    fn example() -> Self {
        Self {
            id: Uuid::nil(),
            items: vec![<OrderItem as poem_openapi::types::Example>::example()],
            total: MoneyText("25.00".into()),
            created_at: example_time(),
        }
    }
}

impl From<CartView> for Cart {
    fn from(v: CartView) -> Self {
        Self {
            id: v.id,
            items: v
                .items
                .into_iter()
                .map(|line| CartItem {
                    id: line.id,
                    product: CartProduct {
                        id: line.product.id,
                        name: line.product.name,
                        price: MoneyText(line.product.price),
                        image: line.product.image.map(Into::into),
                    },
                    quantity: line.quantity,
                    line_total: MoneyText(line.line_total),
                })
                .collect(),
            count: v.count,
            total: MoneyText(v.total),
            updated: v.updated,
            created: v.created,
        }
    }
}

impl From<OrderView> for Order {
    fn from(v: OrderView) -> Self {
        Self {
            id: v.id,
            items: v
                .items
                .into_iter()
                .map(|i| OrderItem {
                    product_id: i.product_id,
                    name: i.name,
                    unit_price: MoneyText(i.unit_price),
                    quantity: i.quantity,
                    line_total: MoneyText(i.line_total),
                })
                .collect(),
            total: MoneyText(v.total),
            created_at: v.created_at,
        }
    }
}
