/// An optional first or last name: at most 150 characters, surrounding space trimmed.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct PersonName(String);

impl PersonName {
    pub fn parse(raw: &str) -> Result<Self, String> {
        // The limit applies to what was sent, as the OpenAPI maxLength says.
        super::at_most(raw, 150)?;
        let trimmed = raw.trim();
        if trimmed.chars().any(char::is_control) {
            return Err("Control characters are not allowed.".into());
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}
