//! The Hub's rate limits on git's smart HTTP: a 429 fails the whole libgit2 call, so the call is
//! made again, as a whole, once the wait is over.
//!
//! A fetch (clone, pull, the fetch of a push with `rebase=True`, listing refs) is always safe to
//! make again. A push is, until its refs went out: a 429 to the ref advertisement is retried, a
//! 429 to the pack itself is not (the operation marks that point, see [`retrying_rate_limits`]).
//! The waits follow [`crate::net::rate_limit`]; over HTTPS libgit2 shows no headers, so without a
//! `RateLimit` or `Retry-After` to go by the wait doubles from one second.

use std::cell::Cell;
use std::time::Duration;

use crate::error::{HfGitError, Result};
use crate::net::rate_limit::{max_wait_from_env, seconds, wait_out, RateLimitBudget};
use crate::progress::Monitor;

/// The error for a 429 from `target` that asked for `requested` (if it said).
pub(super) fn rate_limited(target: String, requested: Option<Duration>) -> HfGitError {
    let asked = match requested {
        Some(wait) => format!(" and asks to wait {} s", seconds(wait)),
        None => String::new(),
    };
    HfGitError::RateLimited {
        target,
        retry_after: requested,
        detail: format!("the server answered 429 Too Many Requests{asked}"),
    }
}

/// Run `attempt` again while it fails with [`HfGitError::RateLimited`], waiting as the server
/// asks, up to `HFGIT_RATE_LIMIT_MAX_WAIT` in all; past that, the error says how long to wait.
///
/// `attempt` gets a flag that starts `true` on every attempt; it sets it to `false` once trying
/// again would not be safe (a push whose refs are being sent), and its rate-limit error is then
/// returned as it is. The waits end within a tenth of a second of a cancellation.
pub fn retrying_rate_limits<T>(
    monitor: &Monitor,
    mut attempt: impl FnMut(&Cell<bool>) -> Result<T>,
) -> Result<T> {
    let mut budget = RateLimitBudget::new(max_wait_from_env()?);
    loop {
        let may_retry = Cell::new(true);
        match attempt(&may_retry) {
            Err(HfGitError::RateLimited {
                target,
                retry_after,
                ..
            }) if may_retry.get() => match budget.next_wait(retry_after) {
                Ok(wait) => {
                    let during = format!("talking to {target}");
                    if !wait_out(monitor, wait, &during, || monitor.is_cancelled()) {
                        return Err(HfGitError::Cancelled);
                    }
                }
                Err(give_up) => {
                    return Err(HfGitError::RateLimited {
                        target,
                        retry_after,
                        detail: give_up.detail(""),
                    });
                }
            },
            outcome => return outcome,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

    fn limited(wait_ms: Option<u64>) -> HfGitError {
        rate_limited(
            "http://127.0.0.1/alice/model".into(),
            wait_ms.map(Duration::from_millis),
        )
    }

    #[test]
    fn a_rate_limited_attempt_is_made_again_after_the_wait() {
        let monitor = Monitor::new();
        let mut calls = 0;
        let result = retrying_rate_limits(&monitor, |_| {
            calls += 1;
            if calls < 3 {
                Err(limited(Some(10)))
            } else {
                Ok(calls)
            }
        });
        assert_eq!(result.unwrap(), 3);
        let warnings = monitor.take_warnings();
        assert!(
            warnings[0].contains("talking to http://127.0.0.1/alice/model"),
            "{warnings:?}"
        );
    }

    #[test]
    fn an_attempt_that_is_no_longer_safe_to_repeat_is_not_repeated() {
        let monitor = Monitor::new();
        let mut calls = 0;
        let result: Result<()> = retrying_rate_limits(&monitor, |may_retry| {
            calls += 1;
            may_retry.set(false);
            Err(limited(Some(10)))
        });
        assert_eq!(calls, 1);
        let error = result.unwrap_err();
        assert!(
            error.to_string().contains("answered 429 Too Many Requests"),
            "{error}"
        );
    }

    #[test]
    fn other_errors_and_cancellation_end_the_retries() {
        let monitor = Monitor::new();
        let result: Result<()> = retrying_rate_limits(&monitor, |_| {
            Err(HfGitError::Network {
                detail: "reset".into(),
            })
        });
        assert!(matches!(result, Err(HfGitError::Network { .. })));

        let started = Instant::now();
        let result: Result<()> = retrying_rate_limits(&monitor, |_| {
            monitor.cancel();
            Err(limited(Some(60_000)))
        });
        assert!(matches!(result, Err(HfGitError::Cancelled)));
        assert!(started.elapsed() < Duration::from_secs(2));
    }
}
