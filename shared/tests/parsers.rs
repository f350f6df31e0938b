//! Every domain parser under arbitrary input: no panic, a canonical form that parses back to
//! itself, and agreement with the JSON Schema the API publishes for the same field.

use dispatch_shared::domain::{
    money_text, Email, Ordering, Password, PersonName, Price, Rating, TaskDescription, TaskTitle,
    Username, TITLE_MAX,
};
use dispatch_shared::idempotency::IdempotencyKey;
use dispatch_shared::repo::tasks::TaskSort;
use proptest::prelude::*;
use regex::Regex;

fn schema(pattern: &str) -> Regex {
    Regex::new(pattern).expect("a published pattern compiles")
}

/// Text that is sometimes close to valid: ASCII words, digits, separators, unicode.
fn near_text() -> impl Strategy<Value = String> {
    prop_oneof!["[A-Za-z0-9_]{0,160}", "[ -~]{0,300}", "\\PC{0,200}", any::<String>(),]
}

proptest! {
    #[test]
    fn usernames_agree_with_their_schema_and_are_canonical(raw in near_text()) {
        let published = schema("^[A-Za-z0-9_]+$");
        let allowed = published.is_match(&raw) && (3..=150).contains(&raw.chars().count());
        let parsed = Username::parse(&raw);
        prop_assert_eq!(parsed.is_ok(), allowed, "{:?}", raw);
        if let Ok(name) = parsed {
            prop_assert_eq!(name.as_str(), raw.to_ascii_lowercase());
            prop_assert_eq!(Username::parse(name.as_str()).ok(), Some(name.clone()));
        }
    }

    #[test]
    fn emails_never_panic_and_are_canonical(raw in prop_oneof![
        "[a-zA-Z0-9._%+-]{1,20}@[a-zA-Z0-9-]{1,20}(\\.[a-zA-Z]{2,6}){0,2}",
        any::<String>(),
    ]) {
        // A plain address with a dotted domain is always accepted.
        let plain = schema("^[a-zA-Z0-9]+@[a-zA-Z0-9]+\\.[a-zA-Z]{2,6}$").is_match(&raw);
        prop_assert!(!plain || Email::parse(&raw).is_ok(), "{:?}", raw);
        if let Ok(email) = Email::parse(&raw) {
            prop_assert_eq!(email.as_str(), email.as_str().to_lowercase());
            prop_assert!(email.as_str().contains('@'));
            prop_assert_eq!(Email::parse(email.as_str()).ok(), Some(email.clone()));
        }
    }

    #[test]
    fn passwords_agree_with_their_schema(raw in prop_oneof!["[0-9]{6,12}", near_text()]) {
        // minLength 8, maxLength 128, pattern "[^0-9]" (not all digits).
        let length = raw.chars().count();
        let allowed = (8..=128).contains(&length) && schema("[^0-9]").is_match(&raw);
        prop_assert_eq!(Password::parse(&raw, None).is_ok(), allowed, "{:?}", raw);
    }

    #[test]
    fn a_password_equal_to_the_username_is_refused_in_any_case(name in "[a-z_]{8,20}") {
        let username = Username::parse(&name).expect("a valid username");
        prop_assert!(Password::parse(&name.to_ascii_uppercase(), Some(&username)).is_err());
    }

    #[test]
    fn person_names_keep_the_published_limit(raw in near_text()) {
        // maxLength 150 on what was sent; surrounding space is trimmed.
        match PersonName::parse(&raw) {
            Ok(name) => {
                prop_assert!(raw.chars().count() <= 150);
                prop_assert_eq!(name.as_str(), raw.trim());
                prop_assert_eq!(PersonName::parse(name.as_str()).ok(), Some(name.clone()));
            }
            Err(_) => prop_assert!(
                raw.chars().count() > 150 || raw.trim().chars().any(char::is_control)
            ),
        }
    }

    #[test]
    fn titles_are_trimmed_bounded_and_canonical(raw in near_text()) {
        let words = schema("^[A-Za-z0-9_]{1,100}$").is_match(&raw);
        prop_assert!(!words || TaskTitle::parse(&raw).is_ok(), "{:?}", raw);
        if let Ok(title) = TaskTitle::parse(&raw) {
            prop_assert!(!title.as_str().is_empty());
            prop_assert!(title.as_str().chars().count() <= TITLE_MAX);
            prop_assert_eq!(TaskTitle::parse(title.as_str()).ok(), Some(title.clone()));
        }
    }

    #[test]
    fn descriptions_never_panic(raw in any::<String>()) {
        let _ = TaskDescription::parse(&raw);
    }

    #[test]
    fn prices_agree_with_their_pattern_and_print_back(raw in prop_oneof![
        "[0-9]{1,10}(\\.[0-9]{0,3})?",
        "-?[0-9]{0,3}[.,eE+]?[0-9]{0,3}",
        any::<String>(),
    ]) {
        let matches = schema(Price::PATTERN).is_match(&raw);
        prop_assert_eq!(Price::matches_pattern(&raw), matches, "{:?}", raw);
        if matches {
            let price = Price::parse(&raw).expect("what the pattern allows parses");
            let text = money_text(price.value());
            prop_assert_eq!(Price::parse(&text).ok(), Some(price));
        }
    }

    #[test]
    fn ratings_are_tenths_within_bounds(raw in prop_oneof![
        "[0-9]{1,2}(\\.[0-9]{1,4})?",
        any::<String>(),
    ]) {
        // One decimal from 0.1 to 5.0 is always a rating.
        let tenth = schema("^([0-4]\\.[0-9]|5\\.0)$").is_match(&raw) && raw != "0.0";
        prop_assert!(!tenth || Rating::parse(&raw).is_ok(), "{:?}", raw);
        if let Ok(rating) = Rating::parse(&raw) {
            let text = rating.value().to_string();
            prop_assert!(text.len() == 3, "{}", text);
            prop_assert_eq!(Rating::parse(&text).ok(), Some(rating));
        }
    }

    #[test]
    fn orderings_agree_with_their_pattern(raw in prop_oneof![
        "-?(title|date_created|last_updated|nope)(,-?(title|date_created|last_updated|nope)){0,3}",
        any::<String>(),
    ]) {
        let published = schema(&Ordering::<TaskSort>::pattern());
        prop_assert_eq!(
            Ordering::<TaskSort>::parse(&raw).is_ok(),
            published.is_match(&raw),
            "{:?}",
            raw
        );
    }

    #[test]
    fn idempotency_keys_agree_with_their_rule(raw in prop_oneof!["[ -~]{0,300}", any::<String>()]) {
        // 1–255 printable ASCII characters.
        let printable = raw.bytes().all(|b| (0x20..=0x7e).contains(&b));
        let allowed = (1..=255).contains(&raw.len()) && printable;
        prop_assert_eq!(IdempotencyKey::parse(&raw).is_ok(), allowed, "{:?}", raw);
    }
}
