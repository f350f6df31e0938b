//! The catalogue's validated values (api.md §6): names, prices and ratings.

use std::str::FromStr;

use bigdecimal::BigDecimal;

fn bounded_text(raw: &str, max: usize, required: bool) -> Result<String, String> {
    let trimmed = raw.trim();
    if required && trimmed.is_empty() {
        return Err("This field may not be blank.".into());
    }
    super::at_most(trimmed, max)?;
    if trimmed.chars().any(char::is_control) {
        return Err("Control characters are not allowed.".into());
    }
    Ok(trimmed.to_owned())
}

macro_rules! text_type {
    ($(#[$doc:meta])* $name:ident, $max:expr, $required:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name(String);

        impl $name {
            pub const MAX: usize = $max;

            pub fn parse(raw: &str) -> Result<Self, String> {
                bounded_text(raw, $max, $required).map(Self)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
    };
}

text_type!(
    /// 1–50 characters, unique among categories regardless of case.
    CategoryName, 50, true
);
text_type!(
    /// 1–50 characters.
    ProductName, 50, true
);
text_type!(
    /// At most 50 characters; may be empty.
    Brand, 50, false
);
text_type!(
    /// At most 200 characters; may be empty.
    ProductDescription, 200, false
);

/// A decimal written as digits with an optional point and fraction: no exponent, no sign
/// other than a leading minus, nothing a float would round.
fn plain_decimal(raw: &str) -> Option<BigDecimal> {
    let digits = raw.strip_prefix('-').unwrap_or(raw);
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let well_formed = !whole.is_empty()
        && whole.bytes().all(|b| b.is_ascii_digit())
        && fraction.bytes().all(|b| b.is_ascii_digit())
        && !(digits.contains('.') && fraction.is_empty());
    well_formed.then(|| BigDecimal::from_str(raw).ok()).flatten()
}

/// The most a cart line or an order may come to: what an order's `line_total` and `total`
/// columns hold (MySQL DECIMAL(12,2)). A price times a quantity the stock allows can be more.
pub const MAX_ORDER_AMOUNT: &str = "9999999999.99";

/// Whether `amount` fits an order's line or total.
pub fn fits_an_order(amount: &BigDecimal) -> bool {
    BigDecimal::from_str(MAX_ORDER_AMOUNT).is_ok_and(|max| *amount <= max)
}

/// An amount of money: 0 to 99 999 999.99, at most two decimal places (MySQL DECIMAL(10,2)).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Price(BigDecimal);

impl Price {
    pub const MAX: &'static str = "99999999.99";
    /// What the schema states: the plain decimals `parse` takes.
    pub const PATTERN: &'static str = r"^[0-9]{1,8}(\.[0-9]{1,2})?$";

    /// Whether `raw` has the shape `PATTERN` states: 1–8 digits, then optionally a point and
    /// 1–2 digits.
    pub fn matches_pattern(raw: &str) -> bool {
        let (whole, fraction) = match raw.split_once('.') {
            Some((whole, fraction)) => (whole, Some(fraction)),
            None => (raw, None),
        };
        let digits = |s: &str, most: usize| {
            (1..=most).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
        };
        digits(whole, 8) && fraction.is_none_or(|f| digits(f, 2))
    }

    pub fn parse(raw: &str) -> Result<Self, String> {
        let value = plain_decimal(raw.trim())
            .ok_or_else(|| "A valid number is required, such as \"12.50\".".to_owned())?;
        if value.sign() == bigdecimal::num_bigint::Sign::Minus {
            return Err("Ensure this value is greater than or equal to 0.".into());
        }
        if value.fractional_digit_count() > 2 && value.with_scale(2) != value {
            return Err("Ensure that there are no more than 2 decimal places.".into());
        }
        if value > BigDecimal::from_str(Self::MAX).unwrap_or_default() {
            return Err(format!("Ensure this value is less than or equal to {}.", Self::MAX));
        }
        Ok(Self(value.with_scale(2)))
    }

    /// A value read from the database, where the column's type already bounds it.
    pub fn from_stored(value: BigDecimal) -> Self {
        Self(value.with_scale(2))
    }

    pub fn value(&self) -> &BigDecimal {
        &self.0
    }
}

/// Money as the API writes it: a string with exactly two decimal places.
pub fn money_text(value: &BigDecimal) -> String {
    format!("{:.2}", value.with_scale_round(2, bigdecimal::RoundingMode::HalfEven))
}

/// A rating from 0.1 to 5.0 in steps of 0.1 (MySQL DECIMAL(2,1)); finer input is rounded
/// to the nearest tenth, as the JSON number a client sends may not be exact.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Rating(BigDecimal);

impl Rating {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let value = plain_decimal(raw.trim())
            .ok_or_else(|| "A valid number is required, such as 4.5.".to_owned())?;
        let value = value.with_scale_round(1, bigdecimal::RoundingMode::HalfUp);
        let tenth = BigDecimal::from_str("0.1").unwrap_or_default();
        if value < tenth || value > 5 {
            return Err("Ensure this value is between 0.1 and 5.0.".into());
        }
        Ok(Self(value.with_scale(1)))
    }

    pub fn default_rating() -> Self {
        Self(BigDecimal::from(5).with_scale(1))
    }

    pub fn value(&self) -> &BigDecimal {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_are_exact_decimals_with_two_places() {
        assert_eq!(money_text(Price::parse("12.5").unwrap().value()), "12.50");
        assert_eq!(money_text(Price::parse("0").unwrap().value()), "0.00");
        assert_eq!(money_text(Price::parse("99999999.99").unwrap().value()), "99999999.99");
        assert_eq!(money_text(Price::parse("1.100").unwrap().value()), "1.10");
        for bad in ["-1", "1.234", "1e3", "abc", "", "100000000", "1.", ".5", "NaN", "+1"] {
            assert!(Price::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn ratings_run_from_a_tenth_to_five() {
        assert_eq!(Rating::parse("4.5").unwrap().value().to_string(), "4.5");
        assert_eq!(Rating::parse("5").unwrap().value().to_string(), "5.0");
        assert_eq!(Rating::parse("4.55").unwrap().value().to_string(), "4.6");
        for bad in ["0", "0.04", "5.1", "-1", "x"] {
            assert!(Rating::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn names_are_trimmed_bounded_and_required() {
        assert_eq!(CategoryName::parse("  Books ").unwrap().as_str(), "Books");
        assert!(CategoryName::parse("   ").is_err());
        assert!(ProductName::parse(&"x".repeat(51)).is_err());
        assert!(Brand::parse("").is_ok());
        assert!(ProductDescription::parse(&"d".repeat(201)).is_err());
    }
}
