//! What every list query shares: a page window, case-insensitive text filters, and the
//! client's ordering applied to a boxed diesel query.

/// `LIMIT`/`OFFSET` of one page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Window {
    pub offset: i64,
    pub limit: i64,
}

/// A `LIKE` pattern matching `needle` anywhere, with the pattern's own wildcards escaped
/// (MySQL's default escape character is the backslash). Case-insensitivity comes from the
/// column's collation.
pub fn contains_pattern(needle: &str) -> String {
    let mut pattern = String::with_capacity(needle.len() + 2);
    pattern.push('%');
    for c in needle.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// Applies an `Ordering`'s sorts to a boxed query, mapping each field to its column, then
/// breaks ties by `$tiebreak` so pages never overlap or skip rows. The tiebreak runs in the
/// last sort's direction: with an index on (…, column, id), MariaDB then reads a page in
/// index order and stops at the limit, where a mixed direction makes it sort every match.
///
/// ```ignore
/// apply_ordering!(query, ordering, dsl::id, { TaskSort::Title => dsl::title, ... })
/// ```
#[macro_export]
macro_rules! apply_ordering {
    ($query:expr, $ordering:expr, $tiebreak:expr, { $($field:path => $column:expr),+ $(,)? }) => {{
        let mut query = $query;
        let mut descending = false;
        for sort in $ordering.sorts() {
            descending = sort.descending;
            query = match sort.field {
                $($field => if sort.descending {
                    query.then_order_by($column.desc())
                } else {
                    query.then_order_by($column.asc())
                }),+
            };
        }
        if descending {
            query.then_order_by($tiebreak.desc())
        } else {
            query.then_order_by($tiebreak.asc())
        }
    }};
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_wildcards() {
        assert_eq!(contains_pattern("50%_off\\"), "%50\\%\\_off\\\\%");
        assert_eq!(contains_pattern(""), "%%");
    }
}
