//! A calendar date as RFC 3339 `full-date` (`YYYY-MM-DD`), documented with the standard
//! `format: date` (poem-openapi's own `NaiveDate` says `naive-date`, which no client knows).

use chrono::NaiveDate;
use poem_openapi::registry::MetaSchema;
use poem_openapi::types::{ParseError, ParseFromJSON, ParseFromParameter, ParseResult, ToJSON};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Date(pub NaiveDate);

impl Date {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let well_formed = raw.len() == 10
            && raw.bytes().enumerate().all(|(i, b)| {
                if i == 4 || i == 7 {
                    b == b'-'
                } else {
                    b.is_ascii_digit()
                }
            });
        well_formed
            .then(|| NaiveDate::parse_from_str(raw, "%Y-%m-%d").ok())
            .flatten()
            .map(Date)
            .ok_or_else(|| "Date has wrong format. Use YYYY-MM-DD.".to_owned())
    }
}

crate::scalar_type!(Date, "string_date", || MetaSchema::new_with_format("string", "date"));

impl ParseFromJSON for Date {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        match value {
            Some(Value::String(raw)) => Date::parse(&raw).map_err(ParseError::custom),
            other => Err(ParseError::expected_type(other.unwrap_or_default())),
        }
    }
}

impl ParseFromParameter for Date {
    fn parse_from_parameter(value: &str) -> ParseResult<Self> {
        Date::parse(value).map_err(ParseError::custom)
    }
}

impl ToJSON for Date {
    fn to_json(&self) -> Option<Value> {
        Some(Value::String(self.0.format("%Y-%m-%d").to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// `format: date` is RFC 3339's full-date: four, two and two digits naming a real day.
        #[test]
        fn dates_agree_with_full_date_and_print_back(raw in prop_oneof![
            "[0-9]{4}-[0-9]{2}-[0-9]{2}",
            "[0-9+-]{8,12}",
            any::<String>(),
        ]) {
            let shaped = regex::Regex::new("^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
                .map(|r| r.is_match(&raw))
                .unwrap_or(false);
            let real = NaiveDate::parse_from_str(&raw, "%Y-%m-%d").is_ok();
            let parsed = Date::parse(&raw);
            prop_assert_eq!(parsed.is_ok(), shaped && real, "{:?}", raw);
            if let Ok(date) = parsed {
                prop_assert_eq!(date.to_json(), Some(Value::String(raw.clone())));
            }
        }
    }

    #[test]
    fn only_full_dates() {
        assert!(Date::parse("2026-12-01").is_ok());
        assert!(Date::parse("2024-02-29").is_ok());
        for bad in
            ["2026-13-01", "2025-02-29", "01/12/2026", "12026-12-01", "2026-1-01", "+026-12-01", ""]
        {
            assert!(Date::parse(bad).is_err(), "{bad}");
        }
    }
}
