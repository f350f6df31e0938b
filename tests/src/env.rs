use std::collections::HashMap;
use std::sync::Arc;

use dispatch_shared::config::Settings;
use uuid::Uuid;

pub const MYSQL_SERVER: &str = "mysql://root@127.0.0.1:3306";

fn redis_url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

fn mysql_server() -> String {
    std::env::var("TEST_MYSQL_SERVER").unwrap_or_else(|_| MYSQL_SERVER.into())
}

/// A fresh database name and Redis namespace, and the variables that point a process at them.
pub struct TestEnv {
    pub id: String,
    pub database_url: String,
    pub redis_url: String,
    pub namespace: String,
    vars: HashMap<String, String>,
}

impl TestEnv {
    pub fn new() -> Self {
        let id = Uuid::new_v4().simple().to_string()[..16].to_owned();
        let database_url = format!("{}/dispatch_test_{id}", mysql_server());
        let namespace = format!("dispatch_test_{id}");
        let mut vars = HashMap::new();
        vars.insert("DATABASE_URL".into(), database_url.clone());
        vars.insert("REDIS_URL".into(), redis_url());
        vars.insert("DISPATCH_REDIS_NAMESPACE".into(), namespace.clone());
        vars.insert("DISPATCH_BIND".into(), "127.0.0.1:0".into());
        vars.insert("DISPATCH_WORKER_METRICS_BIND".into(), "off".into());
        vars.insert("DISPATCH_WORKER_CONCURRENCY".into(), "8".into());
        vars.insert("DISPATCH_DB_POOL_SIZE".into(), "8".into());
        // Tests register hundreds of users from one address; the limit's own test lowers it.
        vars.insert("DISPATCH_REGISTRATION_LIMIT".into(), "1000000".into());
        // Mail only when a test asks for it, and never into the working tree.
        vars.insert("DISPATCH_DAILY_MAIL_CRON".into(), "off".into());
        let temp_dir = |what: &str| {
            let dir = std::env::temp_dir().join(format!("dispatch_test_{id}_{what}"));
            dir.to_string_lossy().into_owned()
        };
        vars.insert("DISPATCH_MEDIA_ROOT".into(), temp_dir("media"));
        vars.insert("DISPATCH_MAIL_DIR".into(), temp_dir("mail"));
        vars.insert(
            "DISPATCH_JWT_SECRET".into(),
            format!("test-secret-{id}-0123456789abcdef0123456789"),
        );
        Self { id, database_url, redis_url: redis_url(), namespace, vars }
    }

    pub fn set(&mut self, key: &str, value: &str) -> &mut Self {
        self.vars.insert(key.into(), value.into());
        self
    }

    /// Where the worker writes `.eml` files when no SMTP server is set.
    pub fn mail_dir(&self) -> std::path::PathBuf {
        self.vars.get("DISPATCH_MAIL_DIR").map(std::path::PathBuf::from).unwrap_or_default()
    }

    pub fn vars(&self) -> &HashMap<String, String> {
        &self.vars
    }

    pub fn settings(&self) -> Arc<Settings> {
        let vars = self.vars.clone();
        let settings = Settings::from_source(&move |k: &str| vars.get(k).cloned())
            .unwrap_or_else(|e| panic!("test settings are invalid: {e}"));
        Arc::new(settings)
    }

    pub async fn redis(&self) -> redis::aio::MultiplexedConnection {
        redis::Client::open(self.redis_url.as_str())
            .expect("redis url")
            .get_multiplexed_async_connection()
            .await
            .expect("Redis must be running on 127.0.0.1:6379 for the tests")
    }

    /// This test's database, migrated, and a connection to it.
    pub async fn migrated_connection(&self) -> diesel_async::AsyncMysqlConnection {
        dispatch_shared::db::migrate(&self.database_url)
            .await
            .expect("MariaDB must be running on 127.0.0.1:3306 (root, no password) for the tests");
        self.connection().await
    }

    /// A new connection to this test's database.
    pub async fn connection(&self) -> diesel_async::AsyncMysqlConnection {
        use diesel_async::AsyncConnection;
        diesel_async::AsyncMysqlConnection::establish(&self.database_url)
            .await
            .expect("test database")
    }

    /// Runs `sql` against this test's database.
    pub async fn execute(&self, sql: &str) -> usize {
        use diesel_async::RunQueryDsl;
        let mut conn = self.connection().await;
        diesel::sql_query(sql).execute(&mut conn).await.expect("sql")
    }

    pub async fn count_rows(&self, table: &str) -> i64 {
        self.count_matching(table, "TRUE").await
    }

    /// `SELECT COUNT(*) FROM table WHERE condition` in this test's database.
    pub async fn count_matching(&self, table: &str, condition: &str) -> i64 {
        use diesel_async::RunQueryDsl;
        #[derive(diesel::QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let mut conn = self.connection().await;
        let count: Count =
            diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {table} WHERE {condition}"))
                .get_result(&mut conn)
                .await
                .expect("count");
        count.n
    }

    /// How many statements on this test's database that begin with `prefix` are running now
    /// (from the process list, which is always current: `INNODB_TRX` is a cache that
    /// frequent readers keep from refreshing).
    pub async fn statements_running(&self, prefix: &str) -> i64 {
        self.count_matching(
            "information_schema.PROCESSLIST",
            &format!("DB = DATABASE() AND INFO LIKE '{prefix}%'"),
        )
        .await
    }

    /// Kills every MySQL connection to this test's database but the caller's (what a MySQL
    /// restart does to the pools); returns how many were killed.
    pub async fn kill_connections(&self) -> usize {
        use diesel_async::RunQueryDsl;
        #[derive(diesel::QueryableByName)]
        struct Id {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            id: i64,
        }
        let mut conn = self.connection().await;
        let ids: Vec<Id> = diesel::sql_query(
            "SELECT CAST(ID AS SIGNED) AS id FROM information_schema.PROCESSLIST \
             WHERE DB = DATABASE() AND ID <> CONNECTION_ID()",
        )
        .load(&mut conn)
        .await
        .expect("processlist");
        for Id { id } in &ids {
            // A connection may end by itself meanwhile.
            let _ = diesel::sql_query(format!("KILL {id}")).execute(&mut conn).await;
        }
        ids.len()
    }

    /// Waits until at least `count` rows of `table` match `condition`.
    pub async fn await_rows(
        &self,
        table: &str,
        condition: &str,
        count: usize,
        within: std::time::Duration,
    ) {
        let what = format!("{count} rows of {table} where {condition}");
        crate::wait_until(within, &what, || async {
            (self.count_matching(table, condition).await as usize >= count).then_some(())
        })
        .await;
    }

    /// Waits until `accepted` registrations have succeeded, then checks that each made one
    /// user and that no job is left unfinished.
    pub async fn await_all_registered(&self, accepted: usize, within: std::time::Duration) {
        let succeeded = "kind = 'register_user' AND status = 'succeeded'";
        self.await_rows("jobs", succeeded, accepted, within).await;
        assert_eq!(self.count_rows("users").await as usize, accepted);
        assert_eq!(self.count_matching("jobs", "status <> 'succeeded'").await, 0);
    }

    /// Waits until no active user is left without the welcome mail and no mail job is still
    /// to run.
    pub async fn await_all_mailed(&self, timeout: std::time::Duration) {
        crate::wait_until(timeout, "every active user to be mailed", || async {
            let unmailed =
                self.count_matching("users", "is_active AND welcome_mail_sent_at IS NULL").await;
            let pending = self
                .count_matching(
                    "jobs",
                    "kind IN ('daily_mail', 'send_mail') AND status IN ('queued', 'running')",
                )
                .await;
            (unmailed == 0 && pending == 0).then_some(())
        })
        .await;
    }

    /// Deletes every key of this test's namespace (what a Redis flush does to one test).
    pub async fn flush_namespace(&self) {
        flush_namespace(&self.redis_url, &self.namespace).await;
    }
}

async fn flush_namespace(redis_url: &str, namespace: &str) {
    let Ok(client) = redis::Client::open(redis_url) else {
        return;
    };
    let Ok(mut conn) = client.get_multiplexed_async_connection().await else {
        return;
    };
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("*{namespace}*"))
        .query_async(&mut conn)
        .await
        .unwrap_or_default();
    if !keys.is_empty() {
        let _: redis::RedisResult<i64> = redis::cmd("DEL").arg(keys).query_async(&mut conn).await;
    }
}

impl Default for TestEnv {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TestEnv {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(self.mail_dir());
        if let Some(media) = self.vars.get("DISPATCH_MEDIA_ROOT") {
            let _ = std::fs::remove_dir_all(media);
        }
        let database_url = self.database_url.clone();
        let redis_url = self.redis_url.clone();
        let namespace = self.namespace.clone();
        // Drop cannot await; clean up on a runtime of our own, off the test's runtime.
        let cleanup = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build()
            else {
                return;
            };
            runtime.block_on(async move {
                let _ = dispatch_shared::db::drop_database(&database_url).await;
                flush_namespace(&redis_url, &namespace).await;
            });
        });
        let _ = cleanup.join();
    }
}
