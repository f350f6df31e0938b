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
