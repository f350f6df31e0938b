//! A task's title, description and status (api.md §4).

/// The whitespace a title may not consist of alone. Deliberately the ASCII set that every
/// regex dialect agrees on, so the OpenAPI `pattern` and this check accept the same titles.
fn is_blank_char(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c')
}

/// The OpenAPI pattern for a title: at least one character that is not blank.
pub const TITLE_PATTERN: &str = r"[^ \t\n\r\x0b\x0c]";
pub const TITLE_MAX: usize = 100;
pub const DESCRIPTION_MAX: usize = 10_000;

/// 1–100 characters once surrounding blanks are trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskTitle(String);

impl TaskTitle {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let trimmed = raw.trim_matches(is_blank_char);
        if trimmed.is_empty() {
            return Err("This field may not be blank.".into());
        }
        super::at_most(trimmed, TITLE_MAX)?;
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Free text of at most 10 000 characters; may be empty.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TaskDescription(String);

impl TaskDescription {
    pub fn parse(raw: &str) -> Result<Self, String> {
        super::at_most(raw, DESCRIPTION_MAX)?;
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TaskStatus {
    #[default]
    ToDo,
    InProgress,
    Done,
}

impl TaskStatus {
    pub const ALL: [TaskStatus; 3] = [TaskStatus::ToDo, TaskStatus::InProgress, TaskStatus::Done];

    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::ToDo => "TO DO",
            TaskStatus::InProgress => "IN PROGRESS",
            TaskStatus::Done => "DONE",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == raw)
            .ok_or_else(|| format!("\"{raw}\" is not a valid choice."))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_are_trimmed_and_bounded() {
        assert_eq!(TaskTitle::parse("  Write  ").unwrap().as_str(), "Write");
        assert!(TaskTitle::parse(" \t\n").is_err());
        assert!(TaskTitle::parse("").is_err());
        assert!(TaskTitle::parse(&"é".repeat(100)).is_ok());
        assert!(TaskTitle::parse(&"é".repeat(101)).is_err());
        // Not ASCII blank, so a title, as the OpenAPI pattern says.
        assert!(TaskTitle::parse("\u{a0}").is_ok());
    }

    #[test]
    fn descriptions_are_bounded() {
        assert!(TaskDescription::parse("").is_ok());
        assert!(TaskDescription::parse(&"x".repeat(10_000)).is_ok());
        assert!(TaskDescription::parse(&"x".repeat(10_001)).is_err());
    }

    #[test]
    fn statuses_round_trip() {
        for status in TaskStatus::ALL {
            assert_eq!(TaskStatus::parse(status.as_str()), Ok(status));
        }
        assert!(TaskStatus::parse("done").is_err());
    }
}
