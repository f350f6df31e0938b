//! `send_mail`: one mail to one user. The user's row says which job owns the mail and
//! whether it went out, so a second delivery of the job sends nothing new.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MailKind {
    Welcome,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SendMailPayload {
    pub user_id: Uuid,
    pub mail: MailKind,
}
