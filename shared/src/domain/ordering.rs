//! `ordering=field,-other` (api.md §1), parsed once for every list endpoint. Each list names
//! its sortable fields by implementing `SortField`; an unknown field is an error.

/// The fields a list can be sorted by.
pub trait SortField: Copy + PartialEq + Send + Sync + 'static {
    /// Names clients may use, with the field each names.
    const FIELDS: &'static [(&'static str, Self)];
    /// The ordering when the client gives none.
    const DEFAULT: &'static [Sort<Self>];
}

/// Declares the fields a list can be sorted by: the enum, the name clients use for each, and
/// the ordering when the client gives none.
///
/// ```ignore
/// sort_fields! {
///     pub enum TaskSort { DateCreated = "date_created", Title = "title" }
///     default [desc DateCreated]
/// }
/// ```
#[macro_export]
macro_rules! sort_fields {
    (
        $(#[$meta:meta])* $vis:vis enum $name:ident { $($variant:ident = $field:literal),+ $(,)? }
        default [$($direction:ident $default:ident),+ $(,)?]
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        $vis enum $name { $($variant),+ }

        impl $crate::domain::SortField for $name {
            const FIELDS: &'static [(&'static str, Self)] = &[$(($field, $name::$variant)),+];
            const DEFAULT: &'static [$crate::domain::Sort<Self>] =
                &[$($crate::domain::Sort::$direction($name::$default)),+];
        }
    };
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Sort<F> {
    pub field: F,
    pub descending: bool,
}

impl<F> Sort<F> {
    pub const fn asc(field: F) -> Self {
        Self { field, descending: false }
    }

    pub const fn desc(field: F) -> Self {
        Self { field, descending: true }
    }
}

/// A validated list of sort keys, most significant first, each field at most once.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Ordering<F>(Vec<Sort<F>>);

impl<F: SortField> Default for Ordering<F> {
    fn default() -> Self {
        Self(F::DEFAULT.to_vec())
    }
}

impl<F: SortField> Ordering<F> {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let mut sorts: Vec<Sort<F>> = Vec::new();
        for part in raw.split(',') {
            let (descending, name) = match part.strip_prefix('-') {
                Some(name) => (true, name),
                None => (false, part),
            };
            let Some(field) = F::FIELDS.iter().find(|(known, _)| *known == name).map(|(_, f)| *f)
            else {
                return Err(format!(
                    "Unknown ordering field \"{name}\"; use one of: {}.",
                    Self::names().join(", ")
                ));
            };
            if !sorts.iter().any(|s| s.field == field) {
                sorts.push(Sort { field, descending });
            }
        }
        Ok(Self(sorts))
    }

    /// Whether this is the list's ordering when the client gives none.
    pub fn is_default(&self) -> bool {
        self.0.as_slice() == F::DEFAULT
    }

    pub fn names() -> Vec<&'static str> {
        F::FIELDS.iter().map(|(name, _)| *name).collect()
    }

    /// The regular expression (for the OpenAPI schema) that matches exactly what `parse`
    /// accepts.
    pub fn pattern() -> String {
        let one = format!("-?({})", Self::names().join("|"));
        format!("^{one}(,{one})*$")
    }

    pub fn sorts(&self) -> &[Sort<F>] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Field {
        Name,
        Price,
    }

    impl SortField for Field {
        const FIELDS: &'static [(&'static str, Self)] =
            &[("name", Field::Name), ("price", Field::Price)];
        const DEFAULT: &'static [Sort<Self>] = &[Sort::asc(Field::Name)];
    }

    #[test]
    fn parses_directions_and_several_fields() {
        let o = Ordering::<Field>::parse("-price,name").unwrap();
        assert_eq!(o.sorts(), &[Sort::desc(Field::Price), Sort::asc(Field::Name)]);
        assert_eq!(
            Ordering::<Field>::parse("name,-name").unwrap().sorts(),
            &[Sort::asc(Field::Name)]
        );
        assert_eq!(Ordering::<Field>::default().sorts(), &[Sort::asc(Field::Name)]);
    }

    #[test]
    fn refuses_unknown_and_empty_fields() {
        for bad in ["colour", "", "name,", "--name", "name;price", " name"] {
            assert!(Ordering::<Field>::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Ordering::<Field>::pattern(), "^-?(name|price)(,-?(name|price))*$");
    }
}
