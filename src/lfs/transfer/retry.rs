//! When to try a request again, and how long to wait first.
//!
//! The same policy as huggingface_hub's `http_backoff`, which the Hub's servers are used to:
//! 408 and 5xx answers and broken connections are retried with a doubling wait, a `Retry-After`
//! overrides the wait (up to a minute), and every other 4xx is final at once. A 429 is the Hub's
//! rate limit, waited out as [`crate::net::rate_limit`] says: for as long as the server asks (its
//! `RateLimit` header, else `Retry-After`), up to `HFGIT_RATE_LIMIT_MAX_WAIT` in all, without
//! counting against the attempts.

use std::time::{Duration, Instant};

use super::tracker::Tracker;
use crate::lfs::error::LfsError;
use crate::net::rate_limit::{wait_out, GiveUp, RateLimitBudget};

/// A server's `Retry-After` on a 408 or 5xx is obeyed up to this long, so a confused proxy cannot
/// park a push; 429s have their own, longer cap.
pub(crate) const RETRY_AFTER_CAP: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy)]
pub(crate) struct RetryPolicy {
    pub max_attempts: u32,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    /// How long one request may wait in all for 429s to stop.
    pub rate_limit_max_wait: Duration,
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

/// A 429 answer: what was asked, what the server said, and how long it asked to wait.
#[derive(Debug, Clone)]
pub(crate) struct RateLimitAnswer {
    /// `METHOD scheme://host/path`, for the wait's announcement.
    pub request: String,
    pub message: String,
    /// `RateLimit`'s reset (+1 s) or `Retry-After`, when the server said.
    pub requested: Option<Duration>,
    /// Set once waiting would pass the cap.
    pub gave_up: Option<GiveUp>,
}

/// Why one attempt at a request failed.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The server answered with a status other than 2xx (and other than 429).
    Status {
        status: u16,
        message: String,
        retry_after: Option<Duration>,
    },
    /// The server answered 429 Too Many Requests.
    RateLimited(RateLimitAnswer),
    /// No usable answer: the connection failed, broke or timed out.
    Transport {
        detail: String,
        retryable: bool,
        certificate: bool,
    },
    /// The proxy's fault, not the server's: it refused the request or could not be reached.
    Proxy {
        proxy: String,
        detail: String,
        retryable: bool,
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

impl Failure {
    pub(crate) fn is_retryable(&self) -> bool {
        match self {
            Self::Status { status, .. } => is_retryable_status(*status),
            Self::RateLimited(answer) => answer.gave_up.is_none(),
            Self::Transport { retryable, .. } | Self::Proxy { retryable, .. } => *retryable,
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
            Self::RateLimited(answer) => {
                let gave_up = answer.gave_up.unwrap_or(GiveUp {
                    retry_after: answer.requested,
                    waited: Duration::ZERO,
                    max_wait: Duration::ZERO,
                });
                LfsError::RateLimited {
                    during: during.to_owned(),
                    retry_after: answer.requested,
                    detail: gave_up.detail(&answer.message),
                }
            }
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
            Self::Proxy { proxy, detail, .. } => LfsError::Proxy {
                proxy,
                detail: format!("{detail} (while {during})"),
            },
            Self::Fatal(error) => error,
        }
    }
}

/// Run `attempt` until it succeeds, fails for good, or `policy.max_attempts` are used up; 429s
/// are waited out on the side, within `policy.rate_limit_max_wait`.
pub(crate) fn with_retries<T>(
    policy: &RetryPolicy,
    tracker: &Tracker<'_>,
    mut attempt: impl FnMut() -> Result<T, Failure>,
) -> Result<T, Failure> {
    let mut number = 1;
    let mut budget = RateLimitBudget::new(policy.rate_limit_max_wait);
    loop {
        tracker.check()?;
        match attempt() {
            Ok(value) => return Ok(value),
            Err(Failure::RateLimited(mut answer)) => match budget.next_wait(answer.requested) {
                Ok(wait) => {
                    let during = format!("{}: {}", answer.request, answer.message);
                    if !wait_out(tracker.monitor(), wait, &during, || tracker.should_stop()) {
                        return Err(Failure::Fatal(LfsError::Cancelled));
                    }
                    tracker.resume_reporting();
                }
                Err(give_up) => {
                    answer.gave_up = Some(give_up);
                    return Err(Failure::RateLimited(answer));
                }
            },
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
            rate_limit_max_wait: Duration::from_secs(300),
        }
    }

    fn seconds(value: &str) -> Option<Duration> {
        crate::net::rate_limit::parse_retry_after(value, std::time::SystemTime::now())
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
    fn retry_after_overrides_the_backoff_up_to_a_minute() {
        assert_eq!(
            policy().delay_after(1, seconds("3")),
            Duration::from_secs(3)
        );
        assert_eq!(policy().delay_after(4, seconds(" 0 ")), Duration::ZERO);
        assert_eq!(policy().delay_after(1, seconds("3600")), RETRY_AFTER_CAP);
        assert_eq!(
            policy().delay_after(1, seconds("99999999999999999999999")),
            RETRY_AFTER_CAP
        );
        assert_eq!(
            policy().delay_after(3, seconds("soon")),
            Duration::from_secs(4)
        );
    }

    fn rate_limited(requested_ms: Option<u64>) -> Failure {
        Failure::RateLimited(RateLimitAnswer {
            request: "POST http://127.0.0.1/x".into(),
            message: "slow down".into(),
            requested: requested_ms.map(Duration::from_millis),
            gave_up: None,
        })
    }

    #[test]
    fn a_429_is_waited_out_without_using_up_attempts() {
        let monitor = Monitor::new();
        let tracker = Tracker::new(&monitor, Phase::LfsUpload, 1);
        let mut calls = 0;
        let result = with_retries(&policy(), &tracker, || {
            calls += 1;
            if calls <= 7 {
                Err(rate_limited(Some(1)))
            } else {
                Ok(calls)
            }
        });
        assert_eq!(result.unwrap(), 8);
        let warnings = monitor.take_warnings();
        assert!(
            warnings[0].contains("POST http://127.0.0.1/x: slow down"),
            "{warnings:?}"
        );
        assert_eq!(monitor.snapshot().phase, Phase::LfsUpload);
    }

    #[test]
    fn a_429_asking_for_more_than_the_cap_is_a_rate_limit_error_at_once() {
        let monitor = Monitor::new();
        let tracker = Tracker::new(&monitor, Phase::LfsUpload, 1);
        let capped = RetryPolicy {
            rate_limit_max_wait: Duration::from_secs(5),
            ..policy()
        };
        let started = Instant::now();
        let mut calls = 0;
        let result: Result<(), Failure> = with_retries(&capped, &tracker, || {
            calls += 1;
            Err(rate_limited(Some(121_000)))
        });
        assert!(started.elapsed() < Duration::from_secs(1));
        assert_eq!(calls, 1);
        let error = result.unwrap_err().into_error("asking the batch API", true);
        match &error {
            LfsError::RateLimited {
                retry_after,
                detail,
                ..
            } => {
                assert_eq!(*retry_after, Some(Duration::from_secs(121)));
                assert!(detail.contains("asks to wait 121 s"), "{detail}");
                assert!(
                    detail.contains("HFGIT_RATE_LIMIT_MAX_WAIT allows 5 s"),
                    "{detail}"
                );
                assert!(detail.contains("(slow down)"), "{detail}");
            }
            other => panic!("unexpected {other}"),
        }
        assert!(monitor.take_warnings().is_empty());
    }

    #[test]
    fn a_rate_limit_wait_stops_on_cancellation() {
        let monitor = Monitor::new();
        let tracker = Tracker::new(&monitor, Phase::LfsDownload, 1);
        let started = Instant::now();
        let result: Result<(), Failure> = with_retries(&policy(), &tracker, || {
            monitor.cancel();
            Err(rate_limited(Some(60_000)))
        });
        assert!(started.elapsed() < Duration::from_secs(2));
        assert!(matches!(
            result.unwrap_err(),
            Failure::Fatal(LfsError::Cancelled)
        ));
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
