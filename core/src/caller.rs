/// Who is asking, as the rules need it: the HTTP adapter builds it from a verified token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    pub id: uuid::Uuid,
    pub is_admin: bool,
}

/// A rule that only admins may use something.
#[derive(Debug, thiserror::Error)]
#[error("only admins may do this")]
pub struct NotAdmin;

impl Caller {
    /// What the caller may see of a list: `all` for an admin, otherwise `own` of their id.
    pub fn sees<T>(&self, all: T, own: impl FnOnce(uuid::Uuid) -> T) -> T {
        if self.is_admin {
            all
        } else {
            own(self.id)
        }
    }

    pub fn require_admin(&self) -> Result<(), NotAdmin> {
        if self.is_admin {
            Ok(())
        } else {
            Err(NotAdmin)
        }
    }
}
