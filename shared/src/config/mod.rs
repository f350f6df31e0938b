//! Configuration from the environment (api.md §8). Every variable has a default that works
//! for local development, except the JWT secret in production mode.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

mod threads;
mod workers;

use crate::jobs::JobKind;
pub use threads::ApiThreads;
pub use workers::{parse_kinds, WorkerConcurrency};

#[derive(Debug, thiserror::Error)]
#[error("{variable}: {message}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    Development,
    Production,
}

#[derive(Clone)]
pub struct JwtSecret {
    bytes: Vec<u8>,
    pub generated: bool,
}

impl JwtSecret {
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
}

impl std::fmt::Debug for JwtSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JwtSecret(..)")
    }
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub environment: Environment,
    pub database_url: String,
    pub redis_url: String,
    /// Prefix of every Redis key and channel, so several deployments (or tests) share a server.
    pub redis_namespace: String,
    pub bind: SocketAddr,
    pub jwt_secret: JwtSecret,
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
    pub daily_task_limit: u32,
    pub media_root: PathBuf,
    pub smtp_url: Option<String>,
    pub mail_dir: PathBuf,
    pub mail_from: String,
    /// When the daily mail runs; `None` when `DISPATCH_DAILY_MAIL_CRON=off`.
    pub daily_mail_schedule: Option<cron::Schedule>,
    pub daily_mail_tz: chrono_tz::Tz,
    pub welcome_mail_after: Duration,
    /// Per kind; see `WorkerConcurrency::parse`.
    pub worker_concurrency: WorkerConcurrency,
    /// The kinds this worker runs (`DISPATCH_WORKER_KINDS`; `--kinds` overrides it).
    pub worker_kinds: Vec<JobKind>,
    pub worker_metrics_bind: Option<SocketAddr>,
    /// How often an idle worker polls besides being woken by new jobs.
    pub worker_poll: Duration,
    /// How long a worker's consumers may stay down (Redis unreachable, say) before the
    /// process exits non-zero for its supervisor to start a fresh one.
    pub worker_recovery_limit: Duration,
    pub job_retention: Duration,
    pub requeue_after: Duration,
    pub job_max_attempts: u32,
    pub job_lease: Duration,
    pub auto_migrate: bool,
    pub trusted_proxies: Vec<IpAddr>,
    /// The bearer token `/metrics` on the API's port asks for (`DISPATCH_METRICS_TOKEN`).
    /// In production mode without one, `/metrics` is not served there.
    pub metrics_token: Option<String>,
    /// Registrations one client address may attempt per minute.
    pub registrations_per_minute: u32,
    pub db_pool_size: u32,
    /// How long an instance may serve a user from memory; zero disables the cache.
    pub user_cache_ttl: Duration,
    /// The memory an instance gives the list pages it may answer again, in bytes; 0 keeps none.
    pub task_page_cache_bytes: u64,
}

/// Where the variables come from; tests pass a closure over a map instead of the process env.
pub trait Source {
    fn get(&self, key: &str) -> Option<String>;
}

pub struct ProcessEnv;

impl Source for ProcessEnv {
    fn get(&self, key: &str) -> Option<String> {
        std::env::var(key).ok().filter(|v| !v.trim().is_empty())
    }
}

impl<F: Fn(&str) -> Option<String>> Source for F {
    fn get(&self, key: &str) -> Option<String> {
        self(key)
    }
}

fn err(variable: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError { variable, message: message.into() }
}

fn text(src: &dyn Source, key: &'static str, default: &str) -> String {
    src.get(key).unwrap_or_else(|| default.to_owned())
}

fn parsed<T: FromStr>(
    src: &dyn Source,
    key: &'static str,
    default: T,
    expected: &str,
) -> Result<T, ConfigError> {
    match src.get(key) {
        None => Ok(default),
        Some(raw) => {
            raw.trim().parse().map_err(|_| err(key, format!("expected {expected}, got {raw:?}")))
        }
    }
}

/// A cron expression with seconds (`0 0 8 * * *`), or the classic five fields (`0 8 * * *`,
/// run at second 0), or `off`.
fn daily_mail_schedule(src: &dyn Source) -> Result<Option<cron::Schedule>, ConfigError> {
    const KEY: &str = "DISPATCH_DAILY_MAIL_CRON";
    let raw = text(src, KEY, "0 0 8 * * *");
    let raw = raw.trim();
    if raw.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    let expression =
        if raw.split_whitespace().count() == 5 { format!("0 {raw}") } else { raw.to_owned() };
    cron::Schedule::from_str(&expression)
        .map(Some)
        .map_err(|e| err(KEY, format!("not a cron expression ({e}): {raw:?}")))
}

fn duration(src: &dyn Source, key: &'static str, default: &str) -> Result<Duration, ConfigError> {
    let value = duration_or_zero(src, key, default)?;
    if value.is_zero() {
        return Err(err(key, "must be longer than zero"));
    }
    Ok(value)
}

/// A duration that means "after how long", where zero is meaningful ("at once").
fn duration_or_zero(
    src: &dyn Source,
    key: &'static str,
    default: &str,
) -> Result<Duration, ConfigError> {
    let raw = text(src, key, default);
    let value = humantime::parse_duration(raw.trim()).map_err(|e| {
        err(key, format!("expected a duration such as 30s, 15m, 24h or 14d, got {raw:?} ({e})"))
    })?;
    Ok(value)
}

/// At most 5 s: a deactivated user's tokens must stop working within that (api.md §3).
fn user_cache_ttl(src: &dyn Source) -> Result<Duration, ConfigError> {
    const KEY: &str = "DISPATCH_USER_CACHE_TTL";
    let raw = text(src, KEY, "3s");
    let value = if raw.trim() == "0" {
        Duration::ZERO
    } else {
        humantime::parse_duration(raw.trim())
            .map_err(|e| err(KEY, format!("expected a duration such as 3s, got {raw:?} ({e})")))?
    };
    if value > Duration::from_secs(5) {
        return Err(err(KEY, "must be at most 5s"));
    }
    Ok(value)
}

fn boolean(src: &dyn Source, key: &'static str, default: bool) -> Result<bool, ConfigError> {
    match src.get(key).map(|v| v.trim().to_ascii_lowercase()) {
        None => Ok(default),
        Some(v) if ["1", "true", "yes", "on"].contains(&v.as_str()) => Ok(true),
        Some(v) if ["0", "false", "no", "off"].contains(&v.as_str()) => Ok(false),
        Some(v) => Err(err(key, format!("expected true or false, got {v:?}"))),
    }
}

fn socket_addr(
    src: &dyn Source,
    key: &'static str,
    default: &str,
) -> Result<SocketAddr, ConfigError> {
    let raw = text(src, key, default);
    raw.trim()
        .parse()
        .map_err(|_| err(key, format!("expected host:port such as 127.0.0.1:8000, got {raw:?}")))
}

fn cores() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2)
}

impl Settings {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_source(&ProcessEnv)
    }

    pub fn from_source(src: &dyn Source) -> Result<Self, ConfigError> {
        let environment =
            match text(src, "DISPATCH_ENV", "development").to_ascii_lowercase().as_str() {
                "development" | "dev" => Environment::Development,
                "production" | "prod" => Environment::Production,
                other => {
                    return Err(err(
                        "DISPATCH_ENV",
                        format!("expected development or production, got {other:?}"),
                    ))
                }
            };

        let database_url = text(src, "DATABASE_URL", "mysql://root@127.0.0.1:3306/dispatch");
        if !database_url.starts_with("mysql://") {
            return Err(err(
                "DATABASE_URL",
                "expected a mysql://user[:password]@host:port/database URL",
            ));
        }
        crate::db::database_name(&database_url).map_err(|e| err("DATABASE_URL", e.to_string()))?;

        let redis_url = text(src, "REDIS_URL", "redis://127.0.0.1:6379");
        redis::Client::open(redis_url.as_str())
            .map_err(|e| err("REDIS_URL", format!("not a usable Redis URL: {e}")))?;

        let redis_namespace = text(src, "DISPATCH_REDIS_NAMESPACE", "dispatch");
        if !redis_namespace
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        {
            return Err(err(
                "DISPATCH_REDIS_NAMESPACE",
                "use letters, digits, '_', '-' or '.' only",
            ));
        }

        let jwt_secret = match src.get("DISPATCH_JWT_SECRET") {
            Some(secret) if secret.len() < 32 => {
                return Err(err("DISPATCH_JWT_SECRET", "must be at least 32 characters long"))
            }
            Some(secret) => JwtSecret { bytes: secret.into_bytes(), generated: false },
            None if environment == Environment::Production => {
                return Err(err("DISPATCH_JWT_SECRET", "is required when DISPATCH_ENV=production"))
            }
            None => {
                use rand::RngCore;
                let mut bytes = vec![0u8; 64];
                rand::rngs::OsRng.fill_bytes(&mut bytes);
                JwtSecret { bytes, generated: true }
            }
        };

        let daily_task_limit = parsed(src, "DISPATCH_DAILY_TASK_LIMIT", 5u32, "a whole number")?;
        let worker_concurrency = WorkerConcurrency::parse(
            "DISPATCH_WORKER_CONCURRENCY",
            src.get("DISPATCH_WORKER_CONCURRENCY").as_deref(),
            cores(),
        )?;
        let worker_kinds = match src.get("DISPATCH_WORKER_KINDS") {
            Some(raw) => parse_kinds("DISPATCH_WORKER_KINDS", &raw)?,
            None => JobKind::ALL.to_vec(),
        };

        let worker_metrics_bind =
            match text(src, "DISPATCH_WORKER_METRICS_BIND", "127.0.0.1:9100").as_str() {
                "off" => None,
                _ => Some(socket_addr(src, "DISPATCH_WORKER_METRICS_BIND", "127.0.0.1:9100")?),
            };

        let trusted_proxies = match src.get("DISPATCH_TRUSTED_PROXIES") {
            None => Vec::new(),
            Some(list) => list
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| {
                    s.parse::<IpAddr>().map_err(|_| {
                        err("DISPATCH_TRUSTED_PROXIES", format!("{s:?} is not an IP address"))
                    })
                })
                .collect::<Result<_, _>>()?,
        };

        let job_max_attempts = parsed(src, "DISPATCH_JOB_MAX_ATTEMPTS", 5u32, "a whole number")?;
        if job_max_attempts == 0 {
            return Err(err("DISPATCH_JOB_MAX_ATTEMPTS", "must be at least 1"));
        }
        let registrations_per_minute =
            parsed(src, "DISPATCH_REGISTRATION_LIMIT", 20u32, "a whole number")?;
        if registrations_per_minute == 0 {
            return Err(err("DISPATCH_REGISTRATION_LIMIT", "must be at least 1"));
        }
        let db_pool_size = parsed(src, "DISPATCH_DB_POOL_SIZE", 16u32, "a whole number")?;
        if db_pool_size == 0 {
            return Err(err("DISPATCH_DB_POOL_SIZE", "must be at least 1"));
        }

        Ok(Settings {
            environment,
            metrics_token: src.get("DISPATCH_METRICS_TOKEN").filter(|t| !t.is_empty()),
            registrations_per_minute,
            database_url,
            redis_url,
            redis_namespace,
            bind: socket_addr(src, "DISPATCH_BIND", "127.0.0.1:8000")?,
            jwt_secret,
            access_ttl: duration(src, "DISPATCH_ACCESS_TTL", "15m")?,
            refresh_ttl: duration(src, "DISPATCH_REFRESH_TTL", "14d")?,
            daily_task_limit,
            media_root: PathBuf::from(text(src, "DISPATCH_MEDIA_ROOT", "./var/media")),
            smtp_url: src.get("DISPATCH_SMTP_URL"),
            mail_dir: PathBuf::from(text(src, "DISPATCH_MAIL_DIR", "./var/mail")),
            mail_from: text(src, "DISPATCH_MAIL_FROM", "Dispatch <no-reply@localhost>"),
            daily_mail_schedule: daily_mail_schedule(src)?,
            daily_mail_tz: parsed(
                src,
                "DISPATCH_DAILY_MAIL_TZ",
                chrono_tz::Tz::UTC,
                "an IANA time zone such as UTC or Europe/Berlin",
            )?,
            welcome_mail_after: duration_or_zero(src, "DISPATCH_WELCOME_MAIL_AFTER", "24h")?,
            worker_concurrency,
            worker_kinds,
            worker_metrics_bind,
            worker_poll: duration(src, "DISPATCH_WORKER_POLL", "1s")?,
            worker_recovery_limit: duration(src, "DISPATCH_WORKER_RECOVERY_LIMIT", "2m")?,
            job_retention: duration(src, "DISPATCH_JOB_RETENTION", "24h")?,
            requeue_after: duration(src, "DISPATCH_REQUEUE_AFTER", "30s")?,
            job_max_attempts,
            job_lease: duration(src, "DISPATCH_JOB_LEASE", "30s")?,
            auto_migrate: boolean(src, "DISPATCH_AUTO_MIGRATE", true)?,
            trusted_proxies,
            db_pool_size,
            user_cache_ttl: user_cache_ttl(src)?,
            task_page_cache_bytes: parsed(
                src,
                "DISPATCH_TASK_PAGE_CACHE_MIB",
                64u64,
                "a whole number of MiB",
            )?
            .saturating_mul(1 << 20),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let map: HashMap<String, String> =
            vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Settings::from_source(&move |k: &str| map.get(k).cloned())
    }

    #[test]
    fn defaults_work_for_development() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.bind.to_string(), "127.0.0.1:8000");
        assert_eq!(s.access_ttl, Duration::from_secs(15 * 60));
        assert_eq!(s.refresh_ttl, Duration::from_secs(14 * 86400));
        assert_eq!(s.requeue_after, Duration::from_secs(30));
        assert!(s.jwt_secret.generated);
        assert!(s.auto_migrate);
    }

    #[test]
    fn wrong_values_name_the_variable() {
        for (key, value) in [
            ("DISPATCH_BIND", "nowhere"),
            ("DISPATCH_ACCESS_TTL", "soon"),
            ("DISPATCH_DAILY_TASK_LIMIT", "-1"),
            ("DISPATCH_AUTO_MIGRATE", "maybe"),
            ("DATABASE_URL", "postgres://x/y"),
            ("DISPATCH_WORKER_CONCURRENCY", "0"),
            ("DISPATCH_DAILY_MAIL_CRON", "every morning"),
            ("DISPATCH_DAILY_MAIL_TZ", "Mars/Olympus_Mons"),
        ] {
            let e = settings(&[(key, value)]).unwrap_err();
            assert_eq!(e.variable, key, "{e}");
        }
    }

    #[test]
    fn the_daily_mail_schedule_takes_six_or_five_fields_or_off() {
        use chrono::{Datelike, TimeZone, Timelike};
        let s = settings(&[("DISPATCH_DAILY_MAIL_TZ", "Europe/Berlin")]).unwrap();
        assert_eq!(s.daily_mail_tz, chrono_tz::Europe::Berlin);
        let after = s.daily_mail_tz.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap();
        let next = s.daily_mail_schedule.unwrap().after(&after).next().unwrap();
        assert_eq!((next.day(), next.hour()), (2, 8));

        let classic = settings(&[("DISPATCH_DAILY_MAIL_CRON", "30 6 * * *")]).unwrap();
        let next = classic
            .daily_mail_schedule
            .unwrap()
            .after(&chrono::Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap())
            .next()
            .unwrap();
        assert_eq!((next.hour(), next.minute(), next.second()), (6, 30, 0));

        let off = settings(&[("DISPATCH_DAILY_MAIL_CRON", "off")]).unwrap();
        assert!(off.daily_mail_schedule.is_none());
    }

    #[test]
    fn zero_is_allowed_only_where_it_means_at_once() {
        let s = settings(&[("DISPATCH_WELCOME_MAIL_AFTER", "0s")]).unwrap();
        assert_eq!(s.welcome_mail_after, Duration::ZERO);
        for key in ["DISPATCH_ACCESS_TTL", "DISPATCH_REQUEUE_AFTER", "DISPATCH_JOB_RETENTION"] {
            let e = settings(&[(key, "0s")]).unwrap_err();
            assert_eq!(e.variable, key, "{e}");
        }
    }

    #[test]
    fn production_requires_a_jwt_secret() {
        let e = settings(&[("DISPATCH_ENV", "production")]).unwrap_err();
        assert_eq!(e.variable, "DISPATCH_JWT_SECRET");
        let s = settings(&[
            ("DISPATCH_ENV", "production"),
            ("DISPATCH_JWT_SECRET", "0123456789abcdef0123456789abcdef"),
        ])
        .unwrap();
        assert!(!s.jwt_secret.generated);
    }

    #[test]
    fn the_task_page_cache_is_a_number_of_mib_and_zero_turns_it_off() {
        assert_eq!(settings(&[]).unwrap().task_page_cache_bytes, 64 << 20);
        let off = settings(&[("DISPATCH_TASK_PAGE_CACHE_MIB", "0")]).unwrap();
        assert_eq!(off.task_page_cache_bytes, 0);
        for bad in ["-1", "lots", "1.5", "64MiB"] {
            let e = settings(&[("DISPATCH_TASK_PAGE_CACHE_MIB", bad)]).unwrap_err();
            assert_eq!(e.variable, "DISPATCH_TASK_PAGE_CACHE_MIB", "{e}");
        }
    }
}
