//! Independent jobs over a slice, on a few threads: a commit hashes files on every core instead
//! of leaving the others idle. Workers take the next job from a shared counter, progress is
//! reported as jobs finish, and a cancelled operation stops them between jobs.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::error::{HfGitError, Result};
use crate::progress::{Monitor, Phase};

/// Where the jobs report: the operation's monitor and the phase they belong to.
pub struct Progress<'a> {
    pub monitor: &'a Monitor,
    pub phase: Phase,
}

/// Run `work` on every item with one thread per core (at most one per `min_per_worker` items).
/// Each thread first builds its own state with `init` (a repository handle, say, which cannot
/// be shared); `bytes_of` says how many bytes a finished job accounts for. Results come back in
/// no particular order; the first error, or [`HfGitError::Cancelled`], fails the whole run.
pub fn map_in_parallel<T, S, R>(
    items: &[T],
    min_per_worker: usize,
    progress: &Progress<'_>,
    init: impl Fn() -> Result<S> + Sync,
    work: impl Fn(&mut S, &T) -> Result<R> + Sync,
    bytes_of: impl Fn(&R) -> u64 + Sync,
) -> Result<Vec<R>>
where
    T: Sync,
    R: Send,
{
    if items.is_empty() {
        return Ok(Vec::new());
    }
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(items.len().div_ceil(min_per_worker.max(1)));
    let next = AtomicUsize::new(0);
    let done = AtomicU64::new(0);
    let bytes = AtomicU64::new(0);
    let total = items.len() as u64;
    let results: Mutex<Vec<Result<R>>> = Mutex::new(Vec::with_capacity(items.len()));
    let monitor = progress.monitor;
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                let mut finished_here = Vec::new();
                let state = init().map(|state| {
                    let mut state = state;
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(i) else { break };
                        if monitor.is_cancelled() {
                            break;
                        }
                        let outcome = work(&mut state, item);
                        if let Ok(result) = &outcome {
                            bytes.fetch_add(bytes_of(result), Ordering::Relaxed);
                        }
                        finished_here.push(outcome);
                        let finished = done.fetch_add(1, Ordering::Relaxed) + 1;
                        monitor.report(
                            progress.phase,
                            finished,
                            total,
                            bytes.load(Ordering::Relaxed),
                        );
                    }
                });
                if let Err(err) = state {
                    next.store(items.len(), Ordering::Relaxed); // the other workers stop too
                    finished_here.push(Err(err));
                }
                results
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .append(&mut finished_here);
            });
        }
    });
    if monitor.is_cancelled() {
        return Err(HfGitError::Cancelled);
    }
    results
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .into_iter()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn progress(monitor: &Monitor) -> Progress<'_> {
        Progress {
            monitor,
            phase: Phase::Staging,
        }
    }

    #[test]
    fn every_item_is_worked_once_and_progress_ends_at_the_total() {
        let monitor = Monitor::default();
        let items: Vec<u64> = (1..=1000).collect();

        let mut doubled = map_in_parallel(
            &items,
            16,
            &progress(&monitor),
            || Ok(()),
            |(), n| Ok(n * 2),
            |n| *n,
        )
        .unwrap();

        doubled.sort_unstable();
        assert_eq!(doubled, (1..=1000).map(|n| n * 2).collect::<Vec<_>>());
        let seen = monitor.snapshot();
        assert_eq!((seen.done, seen.total), (1000, 1000));
        assert_eq!(seen.bytes, (1..=1000u64).map(|n| n * 2).sum::<u64>());
    }

    #[test]
    fn an_error_in_any_job_or_in_a_workers_setup_fails_the_run() {
        let monitor = Monitor::default();
        let items: Vec<u32> = (0..100).collect();
        let failing_job = map_in_parallel(
            &items,
            1,
            &progress(&monitor),
            || Ok(()),
            |(), n| {
                if *n == 57 {
                    Err(HfGitError::invalid("57"))
                } else {
                    Ok(*n)
                }
            },
            |_| 0,
        );
        assert!(failing_job.is_err());
        let failing_setup = map_in_parallel(
            &items,
            1,
            &progress(&monitor),
            || Err::<(), _>(HfGitError::invalid("no handle")),
            |(), n| Ok(*n),
            |_| 0,
        );
        assert!(failing_setup.is_err());
    }

    #[test]
    fn a_cancelled_operation_stops_between_jobs() {
        let monitor = Monitor::default();
        monitor.cancel();
        let items = [1, 2, 3];
        let outcome = map_in_parallel(
            &items,
            1,
            &progress(&monitor),
            || Ok(()),
            |(), n| Ok(*n),
            |_| 0,
        );
        assert!(matches!(outcome, Err(HfGitError::Cancelled)));
    }
}
