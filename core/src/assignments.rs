//! Assigning tasks to users per date, within each assignee's daily limit. A caller sees
//! the assignments of their tasks and to them; admins see all.

use chrono::NaiveDate;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use dispatch_shared::db::id::Id;
use dispatch_shared::db::DbPool;
pub use dispatch_shared::models::AssignmentView;
use dispatch_shared::models::{now_naive, AssignmentRow};
use dispatch_shared::repo::assignments::{self, AssignOutcome, Visibility};
pub use dispatch_shared::repo::assignments::{AssignmentFilter, AssignmentSort};
use dispatch_shared::repo::tasks;
use uuid::Uuid;

use crate::listing::{Listed, Ordering, Window};
use crate::{Caller, Failure};

#[derive(Debug, thiserror::Error)]
pub enum AssignmentError {
    /// No such task or assignment, or not one the caller may touch.
    #[error("not found")]
    NotFound,
    #[error("no active user has this id")]
    AssigneeUnavailable,
    #[error("this task is already assigned to this user on {date}")]
    AlreadyAssigned { date: NaiveDate },
    #[error("the user already has {limit} task(s) assigned on {date}, their daily limit")]
    DailyLimitReached { limit: u32, date: NaiveDate },
    #[error(transparent)]
    Failure(#[from] Failure),
}
crate::failures_convert_into!(AssignmentError);

pub struct NewAssignment {
    pub task_id: Uuid,
    pub user_id: Uuid,
    pub date: NaiveDate,
}

#[derive(Clone)]
pub struct Assignments {
    db: DbPool,
    /// The limit of users who have none of their own.
    default_daily_limit: u32,
}

impl Assignments {
    pub fn new(db: DbPool, default_daily_limit: u32) -> Self {
        Self { db, default_daily_limit }
    }

    pub async fn create(
        &self,
        caller: &Caller,
        new: NewAssignment,
    ) -> Result<AssignmentView, AssignmentError> {
        let mut conn = self.db.get().await?;
        let task = tasks::find_any(&mut conn, new.task_id).await?;
        // Someone else's task is, to this caller, no task at all.
        if !task.is_some_and(|t| t.owner() == caller.id || caller.is_admin) {
            return Err(AssignmentError::NotFound);
        }
        let row = AssignmentRow {
            id: Id::random(),
            task_id: Id(new.task_id),
            user_id: Id(new.user_id),
            date: new.date,
            created_at: now_naive(),
        };
        let outcome = assignments::assign(&mut conn, &row, self.default_daily_limit).await;
        match outcome {
            Ok(AssignOutcome::Created) => Ok(row.view()),
            Ok(AssignOutcome::AssigneeUnavailable) => Err(AssignmentError::AssigneeUnavailable),
            Ok(AssignOutcome::Duplicate) => {
                Err(AssignmentError::AlreadyAssigned { date: new.date })
            }
            Ok(AssignOutcome::LimitReached { limit }) => {
                Err(AssignmentError::DailyLimitReached { limit, date: new.date })
            }
            // The task (or the user) was deleted meanwhile.
            Err(DieselError::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _)) => {
                Err(AssignmentError::NotFound)
            }
            Err(e) => Err(e.into()),
        }
    }

    pub async fn list(
        &self,
        caller: &Caller,
        filter: &AssignmentFilter,
        ordering: &Ordering<AssignmentSort>,
        window: Window,
    ) -> Result<Listed<AssignmentView>, Failure> {
        let mut conn = self.db.get().await?;
        let (rows, count) = assignments::list(
            &mut conn,
            caller.sees(Visibility::All, Visibility::InvolvedUser),
            filter,
            ordering,
            window,
        )
        .await?;
        Ok(Listed::of(rows, count, |r| r.view()))
    }

    /// The task's owner, the assignee or an admin may delete; to anyone else it does not
    /// exist.
    pub async fn delete(&self, caller: &Caller, id: Uuid) -> Result<(), AssignmentError> {
        let mut conn = self.db.get().await?;
        let Some((assignment, task_owner)) =
            assignments::find_with_task_owner(&mut conn, id).await?
        else {
            return Err(AssignmentError::NotFound);
        };
        let me = Id(caller.id);
        if !(caller.is_admin || assignment.user_id == me || task_owner == me) {
            return Err(AssignmentError::NotFound);
        }
        if !assignments::delete(&mut conn, id).await? {
            return Err(AssignmentError::NotFound);
        }
        Ok(())
    }
}
