//! When to try a request again, and how long to wait first.
//!
//! The same policy as huggingface_hub's `http_backoff`, which the Hub's servers are used to:
//! 408, 429 and 5xx answers and broken connections are retried with a doubling wait, an integer
//! `Retry-After` overrides the wait, and every other 4xx is final at once.

use std::time::{Duration, Instant};

use super::tracker::Tracker;
use crate::lfs::error::LfsError;

/// A server's `Retry-After` is obeyed up to this long, so a confused proxy cannot park a push.
pub(crate) const RETRY_AFTER_CAP: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy)]
pub(crate) struct RetryPolicy {
    pub max_attempts: u32,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
}

impl RetryPolicy {
    /// The wait after failed attempt number `attempt` (1-based).
    pub(crate) fn delay_after(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(wait) = retry_after {
            return wait.min(RETRY_AFTER_CAP);
        }
        let doublings = attempt.saturating_sub(1).min(31);
        self.initial_backoff
            .saturating_mul(1u32 << doublings)
            .min(self.max_backoff)
    }
}

/// Why one attempt at a request failed.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The server answered with a status other than 2xx.
    Status {
        status: u16,
        message: String,
        retry_after: Option<Duration>,
    },
    /// No usable answer: the connection failed, broke or timed out.
    Transport {
        detail: String,
        retryable: bool,
        certificate: bool,
    },
    /// Final without a retry: cancelled, a local file problem, a protocol violation.
    Fatal(LfsError),
}

impl From<LfsError> for Failure {
    fn from(error: LfsError) -> Self {
        Self::Fatal(error)
    }
}

pub(crate) fn is_retryable_status(status: u16) -> bool {
    status == 408 || status == 429 || (500..=599).contains(&status)
}

/// `Retry-After` in whole seconds; HTTP dates are ignored, as huggingface_hub ignores them.
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if value.is_empty() || !value.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    // Anything too long for u64 is far beyond the cap anyway.
    Some(
        value
            .parse::<u64>()
            .map_or(RETRY_AFTER_CAP, Duration::from_secs),
    )
}

impl Failure {
    pub(crate) fn is_retryable(&self) -> bool {
        match self {
            Self::Status { status, .. } => is_retryable_status(*status),
            Self::Transport { retryable, .. } => *retryable,
            Self::Fatal(_) => false,
        }
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The error to show for this failure of a request made while `during`. `token_endpoint`
    /// says the request carried (or would have carried) the token, so 401/403 mean the token.
    pub(crate) fn into_error(self, during: &str, token_endpoint: bool) -> LfsError {
        match self {
            Self::Status {
                status, message, ..
            } if token_endpoint && (status == 401 || status == 403) => {
                // The variants' text goes on with ". Check ...": no doubled full stop.
                let message = message.trim_end_matches(['.', ' ']);
                let message = if message.is_empty() {
                    format!("{status} while {during}")
                } else {
                    message.to_owned()
                };
                if status == 403 {
                    LfsError::Forbidden { message }
                } else {
                    LfsError::Authentication { message }
                }
            }
            Self::Status {
                status, message, ..
            } => LfsError::Server {
                status,
                during: during.to_owned(),
                message: if message.is_empty() {
                    "no details given".to_owned()
                } else {
                    message
                },
            },
            Self::Transport {
                detail,
                certificate: true,
                ..
            } => LfsError::Certificate {
                during: during.to_owned(),
                detail,
            },
            Self::Transport { detail, .. } => LfsError::Network {
                during: during.to_owned(),
                detail,
            },
            Self::Fatal(error) => error,
        }
    }
}

/// Run `attempt` until it succeeds, fails for good, or `policy.max_attempts` are used up.
pub(crate) fn with_retries<T>(
    policy: &RetryPolicy,
    tracker: &Tracker<'_>,
    mut attempt: impl FnMut() -> Result<T, Failure>,
) -> Result<T, Failure> {
    let mut number = 1;
    loop {
        tracker.check()?;
        match attempt() {
            Ok(value) => return Ok(value),
            Err(failure) if failure.is_retryable() && number < policy.max_attempts.max(1) => {
                let wait = policy.delay_after(number, failure.retry_after());
                sleep_unless_stopped(wait, tracker)?;
                number += 1;
            }
            Err(failure) => return Err(failure),
        }
    }
}

/// Sleep for `wait`, but wake within a tenth of a second of a cancellation.
fn sleep_unless_stopped(wait: Duration, tracker: &Tracker<'_>) -> Result<(), LfsError> {
    const SLICE: Duration = Duration::from_millis(100);
    let deadline = Instant::now() + wait;
    loop {
        tracker.check()?;
        let now = Instant::now();
        if now >= deadline {
            return Ok(());
        }
        std::thread::sleep((deadline - now).min(SLICE));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progress::{Monitor, Phase};

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 5,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(8),
        }
    }

    #[test]
    fn backoff_doubles_from_the_initial_wait_up_to_the_maximum() {
        let waits: Vec<u64> = (1..=7)
            .map(|attempt| policy().delay_after(attempt, None).as_secs())
            .collect();
        assert_eq!(waits, [1, 2, 4, 8, 8, 8, 8]);
        assert_eq!(policy().delay_after(u32::MAX, None), Duration::from_secs(8));
    }

    #[test]
    fn integer_retry_after_overrides_the_backoff_up_to_a_minute() {
        assert_eq!(
            policy().delay_after(1, parse_retry_after("3")),
            Duration::from_secs(3)
        );
        assert_eq!(
            policy().delay_after(4, parse_retry_after(" 0 ")),
            Duration::ZERO
        );
        assert_eq!(
            policy().delay_after(1, parse_retry_after("3600")),
            RETRY_AFTER_CAP
        );
        assert_eq!(
            policy().delay_after(1, parse_retry_after("99999999999999999999999")),
            RETRY_AFTER_CAP
        );
    }

    #[test]
    fn retry_after_dates_and_junk_are_ignored() {
        for value in ["Wed, 21 Oct 2015 07:28:00 GMT", "", "1.5", "-1", "5s"] {
            assert_eq!(parse_retry_after(value), None, "{value:?}");
        }
        assert_eq!(
            policy().delay_after(3, parse_retry_after("soon")),
            Duration::from_secs(4)
        );
    }

    #[test]
    fn only_timeouts_rate_limits_and_server_errors_are_retried() {
        for status in [408, 429, 500, 502, 503, 504, 599] {
            assert!(is_retryable_status(status), "{status}");
        }
        for status in [400, 401, 403, 404, 410, 413, 422, 301, 200] {
            assert!(!is_retryable_status(status), "{status}");
        }
    }

    fn status(code: u16) -> Failure {
        Failure::Status {
            status: code,
            message: format!("m{code}"),
            retry_after: Some(Duration::ZERO),
        }
    }

    #[test]
    fn retries_stop_after_max_attempts() {
        let monitor = Monitor::new();
        let tracker = Tracker::new(&monitor, Phase::LfsUpload, 1);
        let mut calls = 0;
        let result: Result<(), Failure> = with_retries(&policy(), &tracker, || {
            calls += 1;
            Err(status(503))
        });
        assert_eq!(calls, 5);
        let error = result.unwrap_err().into_error("uploading x", false);
        assert!(
            matches!(error, LfsError::Server { status: 503, .. }),
            "{error}"
        );
    }

    #[test]
    fn a_client_error_is_not_retried() {
        let monitor = Monitor::new();
        let tracker = Tracker::new(&monitor, Phase::LfsUpload, 1);
        let mut calls = 0;
        let result: Result<(), Failure> = with_retries(&policy(), &tracker, || {
            calls += 1;
            Err(status(404))
        });
        assert_eq!(calls, 1);
        assert!(result.is_err());
    }

    #[test]
    fn success_after_transient_failures() {
        let monitor = Monitor::new();
        let tracker = Tracker::new(&monitor, Phase::LfsUpload, 1);
        let quick = RetryPolicy {
            initial_backoff: Duration::from_millis(1),
            ..policy()
        };
        let mut calls = 0;
        let result = with_retries(&quick, &tracker, || {
            calls += 1;
            if calls < 3 {
                Err(Failure::Transport {
                    detail: "reset".into(),
                    retryable: true,
                    certificate: false,
                })
            } else {
                Ok(calls)
            }
        });
        assert_eq!(result.unwrap(), 3);
    }

    #[test]
    fn cancellation_interrupts_the_wait() {
        let monitor = Monitor::new();
        let tracker = Tracker::new(&monitor, Phase::LfsUpload, 1);
        let slow = RetryPolicy {
            initial_backoff: Duration::from_secs(30),
            ..policy()
        };
        let started = Instant::now();
        let result: Result<(), Failure> = with_retries(&slow, &tracker, || {
            monitor.cancel();
            Err(Failure::Transport {
                detail: "reset".into(),
                retryable: true,
                certificate: false,
            })
        });
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(matches!(
            result.unwrap_err(),
            Failure::Fatal(LfsError::Cancelled)
        ));
    }

    #[test]
    fn status_401_on_a_token_endpoint_is_an_authentication_error_and_403_a_refusal() {
        let error = status(401).into_error("requesting a batch", true);
        assert!(matches!(error, LfsError::Authentication { ref message } if message == "m401"));
        let forbidden = status(403).into_error("requesting a batch", true);
        assert!(matches!(forbidden, LfsError::Forbidden { ref message } if message == "m403"));
        let storage = status(403).into_error("uploading x", false);
        assert!(matches!(storage, LfsError::Server { status: 403, .. }));
    }
}
