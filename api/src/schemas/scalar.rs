//! `impl Type` for our own scalar parameter and field types: each states its name and its
//! inline schema (format, bounds), and the rest is the same for all of them.

/// `scalar_type!(Ty, "name", || schema)` implements `poem_openapi::types::Type` for `Ty`;
/// `scalar_type!([const N: usize] Ty<N>, name, || schema)` for a generic `Ty`.
#[macro_export]
macro_rules! scalar_type {
    ([$($generics:tt)*] $ty:ty, $name:expr, $schema:expr) => {
        impl<$($generics)*> poem_openapi::types::Type for $ty {
            const IS_REQUIRED: bool = true;
            type RawValueType = Self;
            type RawElementValueType = Self;

            fn name() -> std::borrow::Cow<'static, str> {
                $name.into()
            }

            fn schema_ref() -> poem_openapi::registry::MetaSchemaRef {
                let schema: fn() -> poem_openapi::registry::MetaSchema = $schema;
                poem_openapi::registry::MetaSchemaRef::Inline(Box::new(schema()))
            }

            fn as_raw_value(&self) -> Option<&Self::RawValueType> {
                Some(self)
            }

            fn raw_element_iter<'a>(
                &'a self,
            ) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
                Box::new(self.as_raw_value().into_iter())
            }
        }
    };
    ($ty:ty, $name:expr, $schema:expr) => {
        $crate::scalar_type!([] $ty, $name, $schema);
    };
}

/// `text_scalar!(Ty, "name", || schema)`: `scalar_type!` for a newtype over `String`, with
/// what every such type has besides: it is read from a JSON string and nothing else, written
/// as one, and read as a `&str`.
#[macro_export]
macro_rules! text_scalar {
    ([$($generics:tt)*] $ty:ty, $name:expr, $schema:expr) => {
        $crate::scalar_type!([$($generics)*] $ty, $name, $schema);

        impl<$($generics)*> poem_openapi::types::ParseFromJSON for $ty {
            fn parse_from_json(
                value: Option<serde_json::Value>,
            ) -> poem_openapi::types::ParseResult<Self> {
                match value {
                    Some(serde_json::Value::String(raw)) => Ok(Self(raw)),
                    other => Err(poem_openapi::types::ParseError::expected_type(
                        other.unwrap_or_default(),
                    )),
                }
            }
        }

        impl<$($generics)*> poem_openapi::types::ToJSON for $ty {
            fn to_json(&self) -> Option<serde_json::Value> {
                Some(serde_json::Value::String(self.0.clone()))
            }
        }

        impl<$($generics)*> std::ops::Deref for $ty {
            type Target = str;

            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl<$($generics)*> From<&str> for $ty {
            fn from(value: &str) -> Self {
                Self(value.to_owned())
            }
        }
    };
    ($ty:ty, $name:expr, $schema:expr) => {
        $crate::text_scalar!([] $ty, $name, $schema);
    };
}
