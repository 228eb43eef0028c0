//! A small pool of worker threads fed through a bounded channel.
//!
//! The caller's thread produces jobs (it makes the batch requests), the workers run them. The
//! channel holds at most one job per worker, so batch requests are made only as fast as the
//! transfers drain them: a push of ten thousand objects does not ask for ten thousand presigned
//! URLs that would expire before their turn. Scoped threads let jobs borrow the caller's data.

use std::any::Any;
use std::panic::{self, AssertUnwindSafe};
use std::sync::mpsc;
use std::sync::Mutex;

use super::tracker::Tracker;
use crate::lfs::error::LfsError;

/// Run `produce` on this thread and every job it submits on one of `workers` threads.
///
/// `submit` returns `false` once the run is stopping (cancelled or failed); the producer should
/// then return. The first error from either side is the result.
pub(crate) fn run_pool<J: Send>(
    workers: usize,
    tracker: &Tracker<'_>,
    produce: impl FnOnce(&mut dyn FnMut(J) -> bool) -> Result<(), LfsError>,
    work: impl Fn(J) -> Result<(), LfsError> + Sync,
) -> Result<(), LfsError> {
    let workers = workers.max(1);
    let (sender, receiver) = mpsc::sync_channel::<J>(workers);
    let receiver = Mutex::new(receiver);
    let panicked: Mutex<Option<Box<dyn Any + Send>>> = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let next = receiver.lock().unwrap_or_else(|p| p.into_inner()).recv();
                let Ok(job) = next else { break };
                // After a failure, keep draining so the producer is never left blocked.
                if tracker.should_stop() {
                    continue;
                }
                match panic::catch_unwind(AssertUnwindSafe(|| work(job))) {
                    Ok(Ok(())) => {}
                    Ok(Err(error)) => tracker.fail(error),
                    Err(payload) => {
                        // A worker that died would leave the producer blocked on a full channel:
                        // stop the run instead, and re-raise the panic once every thread is done.
                        panicked
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .get_or_insert(payload);
                        tracker.fail(LfsError::Cancelled);
                    }
                }
            });
        }
        let produced = {
            let sender = sender;
            let mut submit = |job: J| !tracker.should_stop() && sender.send(job).is_ok();
            produce(&mut submit)
        };
        if let Err(error) = produced {
            tracker.fail(error);
        }
    });
    if let Some(payload) = panicked.into_inner().unwrap_or_else(|p| p.into_inner()) {
        panic::resume_unwind(payload);
    }
    match tracker.take_error() {
        Some(error) => Err(error),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progress::{Monitor, Phase};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[test]
    fn every_job_runs_and_no_more_than_the_worker_count_at_once() {
        let monitor = Monitor::new();
        let tracker = Tracker::new(&monitor, Phase::LfsUpload, 0);
        let running = AtomicUsize::new(0);
        let peak = AtomicUsize::new(0);
        let sum = AtomicUsize::new(0);
        run_pool(
            3,
            &tracker,
            |submit| {
                for job in 1..=50 {
                    assert!(submit(job));
                }
                Ok(())
            },
            |job: usize| {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(2));
                sum.fetch_add(job, Ordering::SeqCst);
                running.fetch_sub(1, Ordering::SeqCst);
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(sum.load(Ordering::SeqCst), 50 * 51 / 2);
        assert!(peak.load(Ordering::SeqCst) <= 3);
    }

    #[test]
    fn first_job_error_stops_the_producer_and_is_returned() {
        let monitor = Monitor::new();
        let tracker = Tracker::new(&monitor, Phase::LfsUpload, 0);
        let submitted = AtomicUsize::new(0);
        let result = run_pool(
            2,
            &tracker,
            |submit| {
                for job in 0..10_000 {
                    if !submit(job) {
                        return Ok(());
                    }
                    submitted.fetch_add(1, Ordering::SeqCst);
                }
                Ok(())
            },
            |job: usize| {
                if job == 3 {
                    Err(LfsError::Protocol {
                        detail: "job 3".into(),
                    })
                } else {
                    Ok(())
                }
            },
        );
        assert!(matches!(result, Err(LfsError::Protocol { detail }) if detail == "job 3"));
        assert!(submitted.load(Ordering::SeqCst) < 10_000);
    }

    #[test]
    fn a_panicking_job_stops_the_run_and_panics_in_the_caller() {
        let monitor = Monitor::new();
        let tracker = Tracker::new(&monitor, Phase::LfsUpload, 0);
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
            run_pool(
                1,
                &tracker,
                |submit| {
                    for job in 0..1000 {
                        if !submit(job) {
                            break;
                        }
                    }
                    Ok(())
                },
                |job: usize| {
                    assert_ne!(job, 2, "job two fails");
                    Ok(())
                },
            )
        }));
        assert!(outcome.is_err());
    }

    #[test]
    fn producer_error_is_returned() {
        let monitor = Monitor::new();
        let tracker = Tracker::new(&monitor, Phase::LfsDownload, 0);
        let result = run_pool(
            2,
            &tracker,
            |_submit| Err(LfsError::Cancelled),
            |_job: usize| Ok(()),
        );
        assert!(matches!(result, Err(LfsError::Cancelled)));
    }
}
