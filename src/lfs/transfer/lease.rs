//! Actions that expire: asked for again before any attempt that would use them too late, and
//! once more when storage refuses one.
//!
//! Storage hrefs are presigned and die after the batch answer's `expires_in` (900 s on the Hub).
//! A transfer that retries, or a multipart upload whose parts take longer than that, would
//! otherwise send its later attempts to a dead URL and fail with 403. So every attempt (every
//! retry, every part) first checks the expiry, as git-lfs does before each transfer, and asks the
//! batch API for a fresh action when fewer than [`EXPIRY_MARGIN`] remain. A 401 or 403 from
//! storage also means "ask again" (git-lfs treats a 403 on upload as an expired URL): the batch API
//! is asked once, and the request is made again with what it answers; a second refusal is final.
//!
//! One [`Lease`] may serve several threads (the parts of one object): the first thread to find the
//! action stale renews it, and the others use the renewed value instead of asking again.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::retry::{with_retries, Failure, RetryPolicy};
use super::tracker::Tracker;
use crate::lfs::error::LfsError;

/// An action this close to expiry is asked for again, as git-lfs does.
pub(crate) const EXPIRY_MARGIN: Duration = Duration::from_secs(5);

/// A value from a batch answer (an action, a set of part URLs) and when it expires.
pub(crate) struct Lease<T> {
    current: Mutex<Leased<T>>,
}

/// One version of a leased value; `generation` counts the renewals before it.
pub(crate) struct Leased<T> {
    pub generation: u64,
    pub value: Arc<T>,
    pub expires_at: Option<Instant>,
}

impl<T> Clone for Leased<T> {
    fn clone(&self) -> Self {
        Self {
            generation: self.generation,
            value: Arc::clone(&self.value),
            expires_at: self.expires_at,
        }
    }
}

impl<T> Leased<T> {
    fn expiring(&self) -> bool {
        self.expires_at
            .is_some_and(|deadline| Instant::now() + EXPIRY_MARGIN >= deadline)
    }
}

/// How a lease is renewed: given the value in hand, the batch API's new value and its expiry.
pub(crate) type Renew<'r, T> = dyn Fn(&T) -> Result<(T, Option<Instant>), LfsError> + 'r;

impl<T> Lease<T> {
    pub(crate) fn new(value: T, expires_at: Option<Instant>) -> Self {
        Self {
            current: Mutex::new(Leased {
                generation: 0,
                value: Arc::new(value),
                expires_at,
            }),
        }
    }

    pub(crate) fn current(&self) -> Leased<T> {
        self.current
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The value to use for an attempt starting now: the current one, or a renewed one if the
    /// current one expires within [`EXPIRY_MARGIN`]. A renewed value is used even if it is itself
    /// short-lived, so a server handing out 3-second URLs costs one batch call per attempt, not a
    /// loop.
    pub(crate) fn fresh(&self, renew: &Renew<'_, T>) -> Result<Leased<T>, LfsError> {
        let now = self.current();
        if now.expiring() {
            self.renew(now.generation, renew)
        } else {
            Ok(now)
        }
    }

    /// Replace generation `seen` with what `renew` answers. When another thread already replaced
    /// it, its value is returned and the batch API is not asked again. The lock is held while
    /// asking, so the threads that need the same renewal wait for the one request.
    pub(crate) fn renew(&self, seen: u64, renew: &Renew<'_, T>) -> Result<Leased<T>, LfsError> {
        let mut current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        if current.generation == seen {
            let (value, expires_at) = renew(&current.value)?;
            *current = Leased {
                generation: seen + 1,
                value: Arc::new(value),
                expires_at,
            };
        }
        Ok(current.clone())
    }
}

/// Whether storage refused the request in a way a fresh action may cure.
pub(crate) fn is_refusal(failure: &Failure) -> bool {
    matches!(
        failure,
        Failure::Status {
            status: 401 | 403,
            ..
        }
    )
}

/// Run `attempt` with the lease's value under `policy`'s retries: every attempt gets a value that
/// is not about to expire, and the first 401/403 is answered with one renewal and an immediate
/// new attempt.
pub(crate) fn with_lease<T, R>(
    policy: &RetryPolicy,
    tracker: &Tracker<'_>,
    lease: &Lease<T>,
    renew: &Renew<'_, T>,
    mut attempt: impl FnMut(&Leased<T>) -> Result<R, Failure>,
) -> Result<R, Failure> {
    let mut refused = false;
    with_retries(policy, tracker, || {
        let mut leased = lease.fresh(renew)?;
        loop {
            match attempt(&leased) {
                Err(failure) if is_refusal(&failure) && !refused => {
                    refused = true;
                    tracker.check()?;
                    leased = lease.renew(leased.generation, renew)?;
                }
                other => return other,
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progress::{Monitor, Phase};
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(2),
            rate_limit_max_wait: Duration::from_secs(300),
        }
    }

    fn status(code: u16) -> Failure {
        Failure::Status {
            status: code,
            message: String::new(),
            retry_after: None,
        }
    }

    #[test]
    fn an_action_about_to_expire_is_renewed_before_the_attempt_and_only_once_per_generation() {
        let lease = Lease::new(1u32, Some(Instant::now() + Duration::from_secs(2)));
        let asked = AtomicUsize::new(0);
        let renew = |old: &u32| {
            asked.fetch_add(1, Ordering::SeqCst);
            Ok((old + 1, Some(Instant::now() + Duration::from_secs(600))))
        };
        let first = lease.fresh(&renew).unwrap();
        assert_eq!((*first.value, first.generation), (2, 1));
        // A second thread that saw generation 0 gets the renewed value, not another request.
        let late = lease.renew(0, &renew).unwrap();
        assert_eq!(*late.value, 2);
        assert_eq!(lease.fresh(&renew).unwrap().generation, 1);
        assert_eq!(asked.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_short_lived_renewal_is_used_rather_than_renewed_again() {
        let lease = Lease::new(0u32, Some(Instant::now()));
        let renew = |old: &u32| Ok((old + 1, Some(Instant::now())));
        assert_eq!(*lease.fresh(&renew).unwrap().value, 1);
        assert_eq!(*lease.fresh(&renew).unwrap().value, 2);
    }

    #[test]
    fn a_refusal_is_answered_with_one_renewal_then_is_final() {
        let monitor = Monitor::new();
        let tracker = Tracker::new(&monitor, Phase::LfsUpload, 1);
        let lease = Lease::new(0u32, None);
        let renew = |old: &u32| Ok((old + 1, None));
        let mut seen = Vec::new();
        let result: Result<(), Failure> = with_lease(&policy(), &tracker, &lease, &renew, |v| {
            seen.push(*v.value);
            Err(status(403))
        });
        assert!(matches!(result, Err(Failure::Status { status: 403, .. })));
        assert_eq!(seen, [0, 1]);

        let lease = Lease::new(0u32, None);
        let result = with_lease(&policy(), &tracker, &lease, &renew, |v| {
            if *v.value == 0 {
                Err(status(401))
            } else {
                Ok(*v.value)
            }
        });
        assert_eq!(result.unwrap(), 1);
    }

    #[test]
    fn retries_after_a_renewal_keep_the_renewed_value() {
        let monitor = Monitor::new();
        let tracker = Tracker::new(&monitor, Phase::LfsDownload, 1);
        let lease = Lease::new(0u32, None);
        let renew = |old: &u32| Ok((old + 10, None));
        let mut seen = Vec::new();
        let result: Result<(), Failure> = with_lease(&policy(), &tracker, &lease, &renew, |v| {
            seen.push(*v.value);
            Err(if seen.len() == 1 {
                status(403)
            } else {
                status(503)
            })
        });
        assert!(matches!(result, Err(Failure::Status { status: 503, .. })));
        assert_eq!(seen, [0, 10, 10, 10, 10, 10]);
    }
}
