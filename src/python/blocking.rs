//! The one way long work leaves Python: a worker thread does it while the caller waits with the
//! GIL released, waking every 100 ms to deliver progress to a Python callback and to check for
//! Ctrl-C. An interrupt (or an exception from the callback) cancels the work through the
//! monitor, gives it a moment to stop and clean up, and is raised in the caller. The operation's
//! notices are logged at INFO on the `hfgit` logger when it ends, on the caller's thread; its
//! warnings (a rate-limit wait) at WARNING as soon as the next poll sees them.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;

use crate::error::HfGitError;
use crate::progress::{Monitor, Snapshot};

const POLL_INTERVAL: Duration = Duration::from_millis(100);
/// How long an interrupted operation may take to stop and remove what it wrote.
const STOP_GRACE: Duration = Duration::from_millis(800);

type WorkResult<T> = std::thread::Result<Result<T, HfGitError>>;

/// Run `work` off the GIL; `progress` (a callable taking phase, done, total, bytes, deduplicated)
/// sees its figures.
pub fn run_blocking<T, F>(
    py: Python<'_>,
    progress: Option<&Bound<'_, PyAny>>,
    work: F,
) -> PyResult<T>
where
    T: Send + 'static,
    F: FnOnce(&Monitor) -> Result<T, HfGitError> + Send + 'static,
{
    let monitor = Arc::new(Monitor::new());
    let (sender, receiver) = mpsc::channel::<WorkResult<T>>();
    let worker_monitor = Arc::clone(&monitor);
    std::thread::Builder::new()
        .name("hfgit-worker".into())
        .spawn(move || {
            let outcome = catch_unwind(AssertUnwindSafe(|| work(&worker_monitor)));
            let _ = sender.send(outcome);
        })
        .map_err(|e| PyRuntimeError::new_err(format!("could not start a worker thread: {e}")))?;

    let progress = progress.filter(|p| !p.is_none());
    let mut receiver = receiver;
    let mut last_reported: Option<Snapshot> = None;
    loop {
        let (back, received) = py.detach(move || {
            let received = receiver.recv_timeout(POLL_INTERVAL);
            (receiver, received)
        });
        receiver = back;
        match received {
            Ok(outcome) => {
                log_notices(py, &monitor)?;
                if let Some(callback) = progress {
                    report(callback, &monitor, &mut last_reported)?;
                }
                return finish(outcome);
            }
            Err(RecvTimeoutError::Disconnected) => {
                return Err(PyRuntimeError::new_err(
                    "hfgit worker ended without a result",
                ));
            }
            Err(RecvTimeoutError::Timeout) => {
                let interrupted = py
                    .check_signals()
                    .and_then(|()| log(py, "warning", monitor.take_warnings()))
                    .and_then(|()| match progress {
                        Some(callback) => report(callback, &monitor, &mut last_reported),
                        None => Ok(()),
                    });
                if let Err(err) = interrupted {
                    monitor.cancel();
                    wait_for_stop(py, receiver);
                    return Err(err);
                }
            }
        }
    }
}

fn report(
    callback: &Bound<'_, PyAny>,
    monitor: &Monitor,
    last: &mut Option<Snapshot>,
) -> PyResult<()> {
    for ended in monitor.take_ended() {
        if last.as_ref() != Some(&ended) {
            deliver(callback, &ended)?;
        }
    }
    let snapshot = monitor.snapshot();
    if last.as_ref() == Some(&snapshot) {
        return Ok(());
    }
    *last = Some(snapshot);
    deliver(callback, &snapshot)
}

fn deliver(callback: &Bound<'_, PyAny>, snapshot: &Snapshot) -> PyResult<()> {
    callback.call1((
        snapshot.phase.as_str(),
        snapshot.done,
        snapshot.total,
        snapshot.bytes,
        snapshot.deduplicated,
    ))?;
    Ok(())
}

/// Log what the operation wanted the user to know: its last warnings, then its notices.
fn log_notices(py: Python<'_>, monitor: &Monitor) -> PyResult<()> {
    log(py, "warning", monitor.take_warnings())?;
    log(py, "info", monitor.take_notices())
}

/// Log `messages` at `level` ("info", "warning") on the `hfgit` logger. A failing log handler is
/// Python's logging's own business (it reports through `Handler.handleError`); it never fails the
/// operation. A Ctrl-C that Python delivers while the logging code runs is the user's, though: it
/// is raised.
fn log(py: Python<'_>, level: &str, messages: Vec<String>) -> PyResult<()> {
    if messages.is_empty() {
        return Ok(());
    }
    let logger = py
        .import("logging")
        .and_then(|logging| logging.call_method1("getLogger", ("hfgit",)));
    let interrupted = |err: &PyErr| err.is_instance_of::<pyo3::exceptions::PyKeyboardInterrupt>(py);
    match logger {
        Ok(logger) => {
            for message in messages {
                if let Err(err) = logger.call_method1(level, ("%s", message)) {
                    if interrupted(&err) {
                        return Err(err);
                    }
                }
            }
        }
        Err(err) if interrupted(&err) => return Err(err),
        Err(_) => {}
    }
    Ok(())
}

fn finish<T>(outcome: WorkResult<T>) -> PyResult<T> {
    match outcome {
        Ok(result) => result.map_err(PyErr::from),
        Err(panic) => {
            let detail = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            Err(PyRuntimeError::new_err(format!(
                "hfgit internal error: {detail}"
            )))
        }
    }
}

/// After cancelling, let the worker finish its cleanup (bounded: a server that stopped
/// answering cannot hold the caller; the worker then cleans up when its read times out).
fn wait_for_stop<T: Send>(py: Python<'_>, receiver: Receiver<WorkResult<T>>) {
    py.detach(move || {
        let deadline = Instant::now() + STOP_GRACE;
        let _ = receiver.recv_timeout(deadline.saturating_duration_since(Instant::now()));
    });
}
