/// 3–150 ASCII letters, digits or underscores, stored lower-case. Nothing is trimmed: what
/// the OpenAPI pattern refuses, this refuses too.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Username(String);

impl Username {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let trimmed = raw;
        let len = trimmed.chars().count();
        if len < 3 {
            return Err("Ensure this field has at least 3 characters.".into());
        }
        super::at_most(trimmed, 150)?;
        if !trimmed.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err("Username can only contain letters, numbers and underscores.".into());
        }
        Ok(Self(trimmed.to_ascii_lowercase()))
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
        assert_eq!(Username::parse("Alice_01").unwrap().as_str(), "alice_01");
        assert!(Username::parse(" alice ").is_err());
    }

    #[test]
    fn rejects_bad_usernames() {
        for bad in ["ab", "", "has space", "dash-no", "ünï", &"a".repeat(151)] {
            assert!(Username::parse(bad).is_err(), "{bad}");
        }
        assert!(Username::parse(&"a".repeat(150)).is_ok());
    }
}
