//! `page` / `page_size` and the `{count, next, previous, results}` envelope every list has.

use dispatch_core::listing::{Listed, Window};
use poem::Request;
use poem_openapi::registry::MetaSchema;
use poem_openapi::types::{
    ParseError, ParseFromJSON, ParseFromParameter, ParseResult, ToJSON, Type,
};
use poem_openapi::Object;

use crate::error::ApiError;

pub const DEFAULT_PAGE_SIZE: u64 = 20;
pub const MAX_PAGE_SIZE: u64 = 100;

/// Pages beyond this cannot hold rows (MySQL offsets are signed 64-bit); they are simply empty.
const MAX_OFFSET: u64 = i64::MAX as u64;

#[derive(Debug, Clone, Copy)]
pub struct Paging {
    pub page: u64,
    pub page_size: u64,
}

impl Paging {
    pub fn parse(page: Option<PageParam>, page_size: Option<PageParam>) -> Result<Self, ApiError> {
        let page = page.map_or(1, |p| p.0);
        let page_size = page_size.map(|p| p.0);
        if page == 0 {
            return Err(ApiError::field("page", "Pages are numbered from 1."));
        }
        let page_size = match page_size {
            None => DEFAULT_PAGE_SIZE,
            Some(0) => return Err(ApiError::field("page_size", "Must be at least 1.")),
            Some(n) => n.min(MAX_PAGE_SIZE),
        };
        Ok(Self { page, page_size })
    }

    /// Rows before this page; saturates for absurd page numbers instead of overflowing.
    pub fn offset(&self) -> i64 {
        (self.page - 1).saturating_mul(self.page_size).min(MAX_OFFSET) as i64
    }

    pub fn limit(&self) -> i64 {
        self.page_size as i64
    }

    pub fn window(&self) -> Window {
        Window { offset: self.offset(), limit: self.limit() }
    }
}

#[derive(Debug, Object)]
pub struct Page<T: ParseFromJSON + ToJSON + Type + Send + Sync> {
    /// Items across all pages.
    pub count: u64,
    /// The next page's URL, or null on the last page.
    #[oai(nullable)]
    pub next: Option<String>,
    /// The previous page's URL, or null on the first page.
    #[oai(nullable)]
    pub previous: Option<String>,
    pub results: Vec<T>,
}

fn page_url(request: &Request, page: u64) -> String {
    // Routing takes off the trailing slash every list path is published with; links carry
    // the published path.
    let path = request.uri().path().trim_end_matches('/');
    let mut pairs: Vec<(String, String)> = request
        .uri()
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .filter(|(k, _)| k != "page")
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default();
    pairs.push(("page".into(), page.to_string()));
    let query = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
    format!("{path}/?{query}")
}

impl<T: ParseFromJSON + ToJSON + Type + Send + Sync> Page<T> {
    /// The page of a list use case's answer, each view in its response shape.
    pub fn of<V>(request: &Request, paging: Paging, listed: Listed<V>) -> Result<Self, ApiError>
    where
        T: From<V>,
    {
        let results = listed.items.into_iter().map(T::from).collect();
        Self::build(request, paging, listed.count, results)
    }

    /// A page past the end of a non-empty list is a 404, as clients of DRF expect.
    pub fn build(
        request: &Request,
        paging: Paging,
        count: u64,
        results: Vec<T>,
    ) -> Result<Self, ApiError> {
        if paging.page > 1 && paging.offset() as u64 >= count {
            return Err(ApiError::NotFound);
        }
        let has_next = paging.page.saturating_mul(paging.page_size) < count;
        Ok(Self {
            count,
            next: has_next.then(|| page_url(request, paging.page + 1)),
            previous: (paging.page > 1).then(|| page_url(request, paging.page - 1)),
            results,
        })
    }
}

/// `page` and `page_size` as query parameters: whole numbers from 1 up to 2^53 − 1 (the
/// largest every JSON client represents exactly), as their schema says.
#[derive(Debug, Clone, Copy)]
pub struct PageParam(pub u64);

const MAX_PAGE_PARAM: u64 = (1 << 53) - 1;

crate::scalar_type!(PageParam, "integer_page", || {
    let mut schema = MetaSchema::new_with_format("integer", "int64");
    schema.minimum = Some(1.0);
    schema.maximum = Some(MAX_PAGE_PARAM as f64);
    schema
});

impl ParseFromParameter for PageParam {
    fn parse_from_parameter(value: &str) -> ParseResult<Self> {
        match value.parse::<u64>() {
            Ok(n) if (1..=MAX_PAGE_PARAM).contains(&n) => Ok(PageParam(n)),
            _ => Err(ParseError::custom(format!(
                "Must be a whole number from 1 to {MAX_PAGE_PARAM}."
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The published schema: an integer from 1 to 2^53 − 1.
        #[test]
        fn page_parameters_agree_with_their_schema(raw in prop_oneof![
            "[0-9]{1,17}",
            "-?[0-9]{0,3}(\\.[0-9])?",
            any::<String>(),
        ]) {
            let allowed = raw.bytes().all(|b| b.is_ascii_digit())
                && raw.parse::<u64>().is_ok_and(|n| (1..=MAX_PAGE_PARAM).contains(&n));
            prop_assert_eq!(PageParam::parse_from_parameter(&raw).is_ok(), allowed, "{:?}", raw);
        }

        #[test]
        fn any_page_gives_a_window_or_a_field_error(page in any::<u64>(), size in any::<u64>()) {
            match Paging::parse(Some(PageParam(page)), Some(PageParam(size))) {
                Ok(paging) => {
                    prop_assert!(paging.offset() >= 0);
                    prop_assert!((1..=MAX_PAGE_SIZE as i64).contains(&paging.limit()));
                }
                Err(e) => prop_assert!(matches!(e, ApiError::Validation(_))),
            }
        }
    }
}
