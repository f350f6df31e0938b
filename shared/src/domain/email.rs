use std::str::FromStr;

/// A syntactically valid address, stored lower-case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, String> {
        // Not trimmed: a request that the OpenAPI `format: email` refuses is refused here.
        let trimmed = raw.to_lowercase();
        if trimmed.chars().any(char::is_whitespace) {
            return Err("Enter a valid email address.".into());
        }
        if trimmed.len() > 254 {
            return Err("Ensure this field has no more than 254 characters.".into());
        }
        let parsed = email_address::EmailAddress::from_str(&trimmed)
            .map_err(|_| "Enter a valid email address.".to_string())?;
        // A bare local host name is valid by the RFC but never a deliverable user address.
        if !parsed.domain().contains('.') {
            return Err("Enter a valid email address.".into());
        }
        Ok(Self(trimmed))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_and_lowercases() {
        assert_eq!(Email::parse("Bob@Example.COM").unwrap().as_str(), "bob@example.com");
    }

    #[test]
    fn rejects_bad_addresses() {
        for bad in ["", "bob", "bob@", "@example.com", "bob@localhost", "a b@c.de"] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }
}
