use crate::domain::Username;

/// A plaintext password that met the rules. It never implements `Serialize` or shows itself in
/// `Debug`, so it cannot end up in a log line, a job payload or Redis by accident.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    /// 8–128 characters, not all digits, not the username (ignoring case).
    pub fn parse(raw: &str, username: Option<&Username>) -> Result<Self, String> {
        let len = raw.chars().count();
        if len < 8 {
            return Err("This password is too short. It must contain at least 8 characters.".into());
        }
        super::at_most(raw, 128)?;
        if raw.chars().all(|c| c.is_ascii_digit()) {
            return Err("This password is entirely numeric.".into());
        }
        if username.is_some_and(|u| raw.eq_ignore_ascii_case(u.as_str())) {
            return Err("The password is too similar to the username.".into());
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(********)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enforces_the_rules() {
        let user = Username::parse("alice_smith").unwrap();
        assert!(Password::parse("short1", None).is_err());
        assert!(Password::parse("12345678901", None).is_err());
        assert!(Password::parse("ALICE_SMITH", Some(&user)).is_err());
        assert!(Password::parse(&"x".repeat(129), None).is_err());
        assert!(Password::parse("correct horse", Some(&user)).is_ok());
        assert_eq!(
            format!("{:?}", Password::parse("secret-pass", None).unwrap()),
            "Password(********)"
        );
    }
}
