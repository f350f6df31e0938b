//! With the user cache off, every authenticated request reads its user from MySQL, and the
//! reads that arrive together go to it as one batch. Each request must still be answered
//! with its own user, and a user deleted meanwhile must lose access at once.

use dispatch_tests::{TestApp, TestEnv};
use reqwest::Method;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batched_user_reads_answer_each_request_with_its_own_user() {
    let mut env = TestEnv::new();
    env.set("DISPATCH_USER_CACHE_TTL", "0");
    let app = TestApp::spawn_env(env, true).await;
    let admin = app.admin("root").await;
    let users = app.users("batch_reader_", 12).await;
    let deleted = &users[0];
    let (status, body) = app
        .call(
            Method::DELETE,
            &format!("/api/v1/admin/users/{}/", deleted.id),
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(status, 204, "{body}");

    // Four reads per user, all at once: more than one batch's worth, mixed across users.
    let app = &app;
    let reads = (0..4).flat_map(|_| users.iter()).map(|user| async move {
        let answer = app
            .call(
                Method::GET,
                "/api/v1/auth/profile/",
                Some(&user.token),
                None,
            )
            .await;
        (user, answer)
    });
    for (user, (status, body)) in futures::future::join_all(reads).await {
        if user.id == deleted.id {
            assert_eq!(status, 401, "{body}");
        } else {
            assert_eq!(status, 200, "{body}");
            assert_eq!(body["id"], user.id.as_str(), "{body}");
            assert_eq!(body["username"], user.username.as_str(), "{body}");
        }
    }
}
