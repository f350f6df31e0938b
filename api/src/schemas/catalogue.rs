//! Catalogue bodies (api.md §6). Money travels as a string with two decimal
//! places, never as a JSON number.

use chrono::{DateTime, Utc};
use dispatch_core::catalogue::categories::CategoryView;
use dispatch_core::catalogue::products::{ImageUrls, ProductView};
use dispatch_shared::domain::Price;
use poem_openapi::registry::MetaSchema;
use poem_openapi::types::{ParseError, ParseFromParameter, ParseResult};
use poem_openapi::{Enum, Object};
use serde_json::Value;
use uuid::Uuid;

use super::NonBlank;

use super::example_time;

/// An amount such as `"12.50"`: up to 8 digits, a point and up to 2 decimals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MoneyText(pub String);

crate::text_scalar!(MoneyText, "string_money", || {
    let mut schema = MetaSchema::new("string");
    schema.pattern = Some(Price::PATTERN.to_owned());
    schema.example = Some(Value::String("12.50".into()));
    schema
});

/// A money query parameter must have the shape the spec publishes; an empty one does not.
impl ParseFromParameter for MoneyText {
    fn parse_from_parameter(value: &str) -> ParseResult<Self> {
        if Price::matches_pattern(value) {
            Ok(MoneyText(value.to_owned()))
        } else {
            Err(ParseError::custom(
                "Enter an amount such as 12.50: up to 8 digits, then up to 2 decimals.",
            ))
        }
    }
}

#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct Category {
    pub id: Uuid,
    pub name: String,
}

impl From<CategoryView> for Category {
    fn from(v: CategoryView) -> Self {
        Self { id: v.id, name: v.name }
    }
}

impl poem_openapi::types::Example for Category {
    fn example() -> Self {
        Self { id: Uuid::nil(), name: "Books".into() }
    }
}

/// A category's name (POST, PUT and PATCH).
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct CategoryInput {
    /// 1–50 characters, unique regardless of case; surrounding blanks are trimmed.
    pub name: NonBlank<50>,
}

impl poem_openapi::types::Example for CategoryInput {
    fn example() -> Self {
        Self { name: "Books".into() }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum ImageStatus {
    Processing,
    Ready,
    Failed,
}

impl ImageStatus {
    fn from_stored(raw: &str) -> Option<Self> {
        match raw {
            "processing" => Some(Self::Processing),
            "ready" => Some(Self::Ready),
            "failed" => Some(Self::Failed),
            _ => None,
        }
    }
}

/// The stored image and its two sizes (long side 100 px and 500 px, never enlarged).
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct ProductImage {
    pub original: String,
    pub thumb: String,
    pub full: String,
}

impl poem_openapi::types::Example for ProductImage {
    fn example() -> Self {
        ImageUrls::new("3f0c…/9b1e…", "jpg").into()
    }
}

impl From<ImageUrls> for ProductImage {
    fn from(v: ImageUrls) -> Self {
        Self { original: v.original, thumb: v.thumb, full: v.full }
    }
}

#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct Product {
    pub id: Uuid,
    pub name: String,
    pub brand: String,
    pub description: String,
    pub category_id: Uuid,
    pub category_name: String,
    /// Two decimal places, as a string.
    pub price: MoneyText,
    pub quantity: u32,
    /// 0.1 to 5.0.
    pub rating: f64,
    pub created_at: DateTime<Utc>,
    /// Null until an image has been uploaded and resized.
    #[oai(nullable)]
    pub image: Option<ProductImage>,
    /// Null before any upload; `processing` while a new upload is resized (the previous
    /// image, if any, is shown meanwhile); `ready`; or `failed` (see the job's error).
    #[oai(nullable)]
    pub image_status: Option<ImageStatus>,
}

impl From<ProductView> for Product {
    fn from(v: ProductView) -> Self {
        Self {
            id: v.id,
            name: v.name,
            brand: v.brand,
            description: v.description,
            category_id: v.category_id,
            category_name: v.category_name,
            price: MoneyText(v.price),
            quantity: v.quantity,
            rating: v.rating,
            created_at: v.created_at,
            image: v.image.map(Into::into),
            image_status: v.image_status.as_deref().and_then(ImageStatus::from_stored),
        }
    }
}

impl poem_openapi::types::Example for Product {
    fn example() -> Self {
        Self {
            id: Uuid::nil(),
            name: "Dune".into(),
            brand: "Ace".into(),
            description: "A paperback.".into(),
            category_id: Uuid::nil(),
            category_name: "Books".into(),
            price: MoneyText("12.50".into()),
            quantity: 10,
            rating: 4.5,
            created_at: example_time(),
            image: None,
            image_status: None,
        }
    }
}

/// A new product, or every field of one (PUT).
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct NewProduct {
    /// 1–50 characters.
    pub name: NonBlank<50>,
    /// At most 50 characters (default empty).
    #[oai(nullable, validator(max_length = 50))]
    pub brand: Option<String>,
    /// At most 200 characters (default empty).
    #[oai(nullable, validator(max_length = 200))]
    pub description: Option<String>,
    pub category_id: Uuid,
    /// At least 0, at most 99999999.99, two decimal places at most.
    pub price: MoneyText,
    /// Units in stock (default 0).
    #[oai(nullable, validator(minimum(value = "0"), maximum(value = "4294967295")))]
    pub quantity: Option<u32>,
    /// 0.1 to 5.0 (default 5.0), rounded to a tenth.
    #[oai(nullable, validator(minimum(value = "0.1"), maximum(value = "5.0")))]
    pub rating: Option<f64>,
}

impl poem_openapi::types::Example for NewProduct {
    fn example() -> Self {
        Self {
            name: "Dune".into(),
            brand: Some("Ace".into()),
            description: Some("A paperback.".into()),
            category_id: Uuid::nil(),
            price: MoneyText("12.50".into()),
            quantity: Some(10),
            rating: Some(4.5),
        }
    }
}

/// Some fields of a product (PATCH); omitted fields keep their value.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct ProductPatch {
    #[oai(nullable)]
    pub name: Option<NonBlank<50>>,
    #[oai(nullable, validator(max_length = 50))]
    pub brand: Option<String>,
    #[oai(nullable, validator(max_length = 200))]
    pub description: Option<String>,
    #[oai(nullable)]
    pub category_id: Option<Uuid>,
    #[oai(nullable)]
    pub price: Option<MoneyText>,
    #[oai(nullable, validator(minimum(value = "0"), maximum(value = "4294967295")))]
    pub quantity: Option<u32>,
    #[oai(nullable, validator(minimum(value = "0.1"), maximum(value = "5.0")))]
    pub rating: Option<f64>,
}

impl poem_openapi::types::Example for ProductPatch {
    fn example() -> Self {
        Self {
            name: None,
            brand: None,
            description: None,
            category_id: None,
            price: Some(MoneyText("9.99".into())),
            quantity: Some(3),
            rating: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn money_parameters_agree_with_their_pattern(raw in prop_oneof![
            "[0-9]{0,10}(\\.[0-9]{0,3})?",
            any::<String>(),
        ]) {
            let pattern = published_pattern_matches(&raw);
            prop_assert_eq!(MoneyText::parse_from_parameter(&raw).is_ok(), pattern, "{:?}", raw);
        }
    }

    /// `Price::PATTERN`, evaluated with the regex crate.
    fn published_pattern_matches(raw: &str) -> bool {
        regex::Regex::new(Price::PATTERN).map(|r| r.is_match(raw)).unwrap_or(false)
    }
}
