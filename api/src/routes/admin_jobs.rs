//! `/api/v1/admin/jobs/`: jobs an admin starts by hand.

use std::sync::Arc;

use poem::web::Data;
use poem::Request;
use poem_openapi::param::Header;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};

use dispatch_core::jobs::Followed;

use crate::error::ApiResult;
use crate::extract::prefer::wait_and_applied;
use crate::extract::AuthUser;
use crate::routes::ApiTags;
use crate::schemas::{Job, JobAccepted};
use crate::state::AppState;

pub struct AdminJobsApi;

#[derive(ApiResponse)]
pub enum DailyMailResponse {
    /// The run finished while the client waited (`Prefer: wait=N`); its `result` counts the
    /// users it claimed (`enqueued`), each now with a `send_mail` job.
    #[oai(status = 200)]
    Finished(Json<Job>, #[oai(header = "Preference-Applied")] String),
    /// The run is queued; follow the job.
    #[oai(status = 202)]
    Accepted(
        Json<JobAccepted>,
        #[oai(header = "Location")] String,
        #[oai(header = "Preference-Applied")] Option<String>,
    ),
}

#[OpenApi(tag = "ApiTags::Admin")]
impl AdminJobsApi {
    /// Run the daily mail now (admins only)
    ///
    /// Starts the same `daily_mail` job the schedule (`DISPATCH_DAILY_MAIL_CRON`) starts:
    /// every active user who joined at least `DISPATCH_WELCOME_MAIL_AFTER` ago and has not
    /// had the welcome mail is claimed and gets one `send_mail` job, visible to the calling
    /// admin. Each user is mailed once however often this is called, even at the same time.
    /// Answers 202 with the job; with `Prefer: wait=N` (N ≤ 30), 200 with the finished job.
    #[oai(path = "/api/v1/admin/jobs/daily-mail/", method = "post")]
    async fn daily_mail(
        &self,
        state: Data<&Arc<AppState>>,
        request: &Request,
        auth: AuthUser,
        /// `wait=N`: hold the response up to N seconds for the outcome.
        #[oai(name = "Prefer")]
        _prefer: Header<Option<String>>,
    ) -> ApiResult<DailyMailResponse> {
        let (wait, applied) = wait_and_applied(request);
        Ok(match state.daily_mail.start(&auth, wait).await? {
            Followed::Finished(job) => {
                DailyMailResponse::Finished(Json(job.into()), applied.unwrap_or_default())
            }
            Followed::Accepted { job } => {
                let (body, location) = JobAccepted::answer(job);
                DailyMailResponse::Accepted(body, location, applied)
            }
        })
    }
}
