//! Id columns (`CHAR(36)`) as `Uuid`s, in both directions. Every id is written from a `Uuid`;
//! stored text that is not one (a row edited by hand) fails its query with a deserialisation
//! error, a fault that is logged and answered as one, never read as another id.

use std::fmt;
use std::io::Write;

use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::mysql::{Mysql, MysqlValue};
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::Text;
use uuid::Uuid;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, AsExpression, FromSqlRow,
)]
#[diesel(sql_type = Text)]
pub struct Id(pub Uuid);

impl Id {
    /// A fresh random id, for a new row.
    pub fn random() -> Self {
        Self(Uuid::new_v4())
    }
}

impl From<Uuid> for Id {
    fn from(id: Uuid) -> Self {
        Self(id)
    }
}

impl From<Id> for Uuid {
    fn from(id: Id) -> Self {
        id.0
    }
}

impl std::ops::Deref for Id {
    type Target = Uuid;

    fn deref(&self) -> &Uuid {
        &self.0
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

impl FromSql<Text, Mysql> for Id {
    fn from_sql(value: MysqlValue<'_>) -> deserialize::Result<Self> {
        let text = std::str::from_utf8(value.as_bytes())?;
        if text.len() != uuid::fmt::Hyphenated::LENGTH {
            return Err(format!("a stored id is not a hyphenated UUID: {text:?}").into());
        }
        Ok(Self(Uuid::try_parse(text)?))
    }
}

impl ToSql<Text, Mysql> for Id {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Mysql>) -> serialize::Result {
        write!(out, "{}", self.0.hyphenated())?;
        Ok(IsNull::No)
    }
}
