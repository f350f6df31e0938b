//! `/api/v1/admin/users/`: the admin dashboard's users table. Admins only: anyone else
//! gets 403.

use std::sync::Arc;

use dispatch_core::admin_users::{parse_changes, RawAdminChanges, UserSort};
use poem::web::Data;
use poem::Request;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use uuid::Uuid;

use crate::error::ApiResult;
use crate::extract::ordering::{ordering_or_default, OrderingParam};
use crate::extract::pagination::{Page, PageParam, Paging};
use crate::extract::{AdminUser, JsonBody};
use crate::routes::ApiTags;
use crate::schemas::{EmailText, NameText, User};
use crate::state::AppState;

pub struct AdminUsersApi;

/// What an admin may change on a user; omitted (or null) fields keep their value.
#[derive(Debug, Object)]
#[oai(example)]
pub struct AdminUserPatch {
    /// false deactivates: logins answer 403 and the user's tokens stop working.
    #[oai(nullable)]
    pub is_active: Option<bool>,
    #[oai(nullable)]
    pub is_superuser: Option<bool>,
    /// Assignments allowed per day.
    #[oai(nullable, validator(minimum(value = "0"), maximum(value = "100000")))]
    pub daily_task_limit: Option<u32>,
    /// At most 150 characters.
    #[oai(nullable)]
    pub first_name: Option<NameText>,
    /// At most 150 characters.
    #[oai(nullable)]
    pub last_name: Option<NameText>,
    #[oai(nullable)]
    pub email: Option<EmailText>,
}

impl poem_openapi::types::Example for AdminUserPatch {
    fn example() -> Self {
        Self {
            is_active: Some(false),
            is_superuser: None,
            daily_task_limit: Some(3),
            first_name: None,
            last_name: None,
            email: None,
        }
    }
}

#[derive(ApiResponse)]
pub enum UserDeleted {
    /// Deleted, with their tokens, tasks and assignments.
    #[oai(status = 204)]
    NoContent,
}

#[OpenApi(tag = "ApiTags::Admin")]
impl AdminUsersApi {
    /// All users (admins only)
    ///
    /// Paginated; `count` is the total number of users matching. `search` is a
    /// case-insensitive substring of the username, email or names; `ordering` on username
    /// (default), email, first_name, last_name, date_joined, last_login, is_active, each
    /// optionally prefixed by `-`.
    #[oai(path = "/api/v1/admin/users/", method = "get")]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        state: Data<&Arc<AppState>>,
        request: &Request,
        // First: a non-admin is refused before the query is read.
        admin: AdminUser,
        /// 1-based page number.
        page: Query<Option<PageParam>>,
        /// Items per page (default 20; larger values are clamped to 100).
        page_size: Query<Option<PageParam>>,
        /// Case-insensitive substring of the username, email, first or last name.
        search: Query<Option<String>>,
        /// Sort keys, e.g. `-date_joined,username`.
        ordering: Query<Option<OrderingParam<UserSort>>>,
    ) -> ApiResult<Json<Page<User>>> {
        let paging = Paging::parse(page.0, page_size.0)?;
        let ordering = ordering_or_default(ordering.0);
        let search = search.0.filter(|s| !s.is_empty());
        let listed =
            state.admin_users.list(&admin.0, search.as_deref(), &ordering, paging.window()).await?;
        Ok(Json(Page::of(request, paging, listed)?))
    }

    /// One user (admins only)
    ///
    /// The user's public shape, whoever they are.
    #[oai(path = "/api/v1/admin/users/:id/", method = "get")]
    async fn get(
        &self,
        state: Data<&Arc<AppState>>,
        admin: AdminUser,
        /// The user's id.
        id: Path<Uuid>,
    ) -> ApiResult<Json<User>> {
        Ok(Json(state.admin_users.find(&admin.0, id.0).await?.into()))
    }

    /// Change a user (admins only)
    ///
    /// Activate or deactivate, grant or revoke admin, set the daily task limit, names or
    /// email. Deactivation takes effect on every instance at once: logins answer 403, tokens
    /// stop working and open task streams close. Deactivating, demoting or deleting the
    /// last active admin is a 409 `last-admin`; an email in use is a 409.
    #[oai(path = "/api/v1/admin/users/:id/", method = "patch")]
    async fn patch(
        &self,
        state: Data<&Arc<AppState>>,
        // Before the id and the body: a non-admin is refused before either is read.
        admin: AdminUser,
        /// The user's id.
        id: Path<Uuid>,
        body: JsonBody<AdminUserPatch>,
    ) -> ApiResult<Json<User>> {
        let body = body.0;
        let changes = parse_changes(RawAdminChanges {
            is_active: body.is_active,
            is_superuser: body.is_superuser,
            daily_task_limit: body.daily_task_limit,
            first_name: body.first_name.as_deref(),
            last_name: body.last_name.as_deref(),
            email: body.email.as_ref().map(|e| e.0.as_str()),
        })?;
        let user = state.admin_users.update(&admin.0, id.0, changes).await?;
        Ok(Json(user.into()))
    }

    /// Delete a user (admins only)
    ///
    /// The last active admin cannot be deleted (409 `last-admin`).
    #[oai(path = "/api/v1/admin/users/:id/", method = "delete")]
    async fn delete(
        &self,
        state: Data<&Arc<AppState>>,
        admin: AdminUser,
        /// The user's id.
        id: Path<Uuid>,
    ) -> ApiResult<UserDeleted> {
        state.admin_users.delete(&admin.0, id.0).await?;
        Ok(UserDeleted::NoContent)
    }
}
