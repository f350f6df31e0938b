//! Which job kinds a worker runs and how many of each at once, so operators scale CPU-bound
//! resizing apart from I/O-bound registration and mail (as Celery's `-Q` allows).

use crate::jobs::JobKind;

use super::{err, ConfigError};

/// `DISPATCH_WORKER_KINDS` / `--kinds`: a comma-separated list of kind names, or all.
pub fn parse_kinds(variable: &'static str, raw: &str) -> Result<Vec<JobKind>, ConfigError> {
    let mut kinds = Vec::new();
    for name in raw.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let kind = name.parse::<JobKind>().map_err(|_| {
            let known: Vec<&str> = JobKind::ALL.iter().map(|k| k.as_str()).collect();
            err(variable, format!("unknown job kind {name:?}; known kinds: {}", known.join(", ")))
        })?;
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    if kinds.is_empty() {
        return Err(err(variable, "name at least one job kind"));
    }
    Ok(kinds)
}

/// How many jobs of each kind one worker runs at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerConcurrency {
    /// For kinds without a number of their own.
    pub default: usize,
    /// Resizing is CPU-bound: by default one at a time per core.
    pub cpu_bound: usize,
    /// Registrations taken together share one transaction (a statement for all their rows,
    /// up to 16 jobs), and a worker keeps one such transaction per core at the database: by
    /// default 16 per core, so that every transaction can leave full while the jobs of the
    /// next are fetched (measured on 2 cores: 2,800 jobs/s with 4 in flight, 5,500 with 16;
    /// on a faster day 8,000–9,200 with 16, 9,800–12,300 with 32, 12,000–13,000 with 48 or
    /// 64). `None` once a bare number set every kind.
    pub registrations: Option<usize>,
    pub per_kind: Vec<(JobKind, usize)>,
}

impl WorkerConcurrency {
    pub fn for_kind(&self, kind: JobKind) -> usize {
        self.per_kind.iter().find(|(k, _)| *k == kind).map(|(_, n)| *n).unwrap_or(match kind {
            JobKind::ResizeImage => self.cpu_bound,
            JobKind::RegisterUser => self.registrations.unwrap_or(self.default),
            _ => self.default,
        })
    }

    /// `8`, `resize_image=2,send_mail=32`, or both (`8,resize_image=2`). A bare number sets
    /// every kind without a number of its own, except resizing, which stays at `cores`.
    /// Without one, kinds run `2 × cores` at once, registrations `16 × cores`.
    pub fn parse(
        variable: &'static str,
        raw: Option<&str>,
        cores: usize,
    ) -> Result<Self, ConfigError> {
        let mut concurrency = Self {
            default: cores * 2,
            cpu_bound: cores,
            registrations: Some(cores * 16),
            per_kind: Vec::new(),
        };
        let Some(raw) = raw else {
            return Ok(concurrency);
        };
        let number = |text: &str| -> Result<usize, ConfigError> {
            match text.trim().parse::<usize>() {
                Ok(0) => Err(err(variable, "must be at least 1")),
                Ok(n) => Ok(n),
                Err(_) => Err(err(
                    variable,
                    format!("expected a whole number or kind=number pairs, got {text:?}"),
                )),
            }
        };
        for part in raw.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            match part.split_once('=') {
                None => {
                    concurrency.default = number(part)?;
                    concurrency.registrations = None;
                }
                Some((name, value)) => {
                    let kind = parse_kinds(variable, name)?[0];
                    concurrency.per_kind.retain(|(k, _)| *k != kind);
                    concurrency.per_kind.push((kind, number(value)?));
                }
            }
        }
        Ok(concurrency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrency_takes_a_number_pairs_or_both() {
        let c = WorkerConcurrency::parse("V", None, 2).unwrap();
        assert_eq!((c.for_kind(JobKind::SendMail), c.for_kind(JobKind::ResizeImage)), (4, 2));
        assert_eq!(c.for_kind(JobKind::RegisterUser), 32);
        let c = WorkerConcurrency::parse("V", Some("8"), 2).unwrap();
        assert_eq!((c.for_kind(JobKind::SendMail), c.for_kind(JobKind::ResizeImage)), (8, 2));
        assert_eq!(c.for_kind(JobKind::RegisterUser), 8);
        let c = WorkerConcurrency::parse("V", Some("resize_image=3, send_mail=32"), 2).unwrap();
        assert_eq!(c.for_kind(JobKind::ResizeImage), 3);
        assert_eq!(c.for_kind(JobKind::SendMail), 32);
        assert_eq!(c.for_kind(JobKind::RegisterUser), 32);
        let c = WorkerConcurrency::parse("V", Some("6,register_user=1"), 2).unwrap();
        assert_eq!((c.for_kind(JobKind::DailyMail), c.for_kind(JobKind::RegisterUser)), (6, 1));
        for bad in ["0", "x", "resize=2", "send_mail=0", "send_mail="] {
            let e = WorkerConcurrency::parse("V", Some(bad), 2).unwrap_err();
            assert_eq!(e.variable, "V", "{bad}");
        }
    }

    #[test]
    fn kinds_are_known_names() {
        assert_eq!(
            parse_kinds("K", "resize_image, send_mail,resize_image").unwrap(),
            vec![JobKind::ResizeImage, JobKind::SendMail]
        );
        let e = parse_kinds("K", "resize_image,thumbnails").unwrap_err();
        assert!(e.message.contains("thumbnails"), "{e}");
        assert!(parse_kinds("K", " , ").is_err());
    }
}
