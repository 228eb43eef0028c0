//! Progress and cancellation shared between an operation and whoever watches it.
//!
//! The operation (on a worker thread) writes the latest figures into a [`Monitor`]; the watcher
//! (the Python bridge, on the caller's thread) polls it at its own pace, so progress costs the
//! worker one uncontended lock per libgit2 callback and never waits on Python. The same monitor
//! carries the cancellation flag that libgit2's callbacks return to abort, and the notices: things
//! the user should hear that are not errors (a git-lfs setting that changed what was downloaded),
//! which the Python bindings log at INFO on the `hfgit` logger.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// What an operation is doing now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Phase {
    #[default]
    Starting,
    /// Receiving objects from the server (clone, pull).
    Receiving,
    /// Indexing received deltas.
    Resolving,
    /// Writing files into the work tree.
    Checkout,
    /// Staging files and writing objects (commit).
    Staging,
    /// Building the pack to send (push).
    Packing,
    /// Sending objects to the server (push).
    Sending,
    /// Uploading Git LFS objects (push, before any ref moves).
    LfsUpload,
    /// Downloading Git LFS objects (clone, pull, lfs_pull).
    LfsDownload,
    /// Hashing files into the LFS store (commit).
    LfsClean,
    /// Asking the LFS server which objects it has (prune with `verify_remote`).
    LfsVerify,
    /// Waiting out a rate limit of the Hub: `done` of `total` seconds waited.
    RateLimited,
    Done,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Starting => "starting",
            Self::Receiving => "receiving",
            Self::Resolving => "resolving",
            Self::Checkout => "checkout",
            Self::Staging => "staging",
            Self::Packing => "packing",
            Self::Sending => "sending",
            Self::LfsUpload => "lfs-upload",
            Self::LfsDownload => "lfs-download",
            Self::LfsClean => "lfs-clean",
            Self::LfsVerify => "lfs-verify",
            Self::RateLimited => "rate-limited",
            Self::Done => "done",
        }
    }
}

/// The latest figures of one operation: `done` of `total` items in `phase`, `bytes` transferred,
/// and of those, `deduplicated` bytes that storage already had (Xet uploads; else 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Snapshot {
    pub phase: Phase,
    pub done: u64,
    pub total: u64,
    pub bytes: u64,
    pub deduplicated: u64,
}

#[derive(Debug, Default)]
pub struct Monitor {
    latest: Mutex<Snapshot>,
    /// The last figures of phases that ended since the watcher last looked, so a phase shorter
    /// than the polling interval still shows up with its final numbers.
    ended: Mutex<Vec<Snapshot>>,
    cancelled: AtomicBool,
    notices: Mutex<Vec<String>>,
    warnings: Mutex<Vec<String>>,
}

/// How many ended phases are kept for a watcher that is slow to look.
const ENDED_PHASES_KEPT: usize = 32;
/// How many notices one operation keeps; they are a few lines about settings, not a log.
const NOTICES_KEPT: usize = 32;

impl Monitor {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn report(&self, phase: Phase, done: u64, total: u64, bytes: u64) {
        self.report_snapshot(Snapshot {
            phase,
            done,
            total,
            bytes,
            deduplicated: 0,
        });
    }

    /// [`Self::report`] with every figure, the deduplicated bytes included.
    pub fn report_snapshot(&self, snapshot: Snapshot) {
        let mut latest = self.latest.lock().unwrap_or_else(|p| p.into_inner());
        if latest.phase != snapshot.phase && latest.phase != Phase::Starting {
            let mut ended = self.ended.lock().unwrap_or_else(|p| p.into_inner());
            if ended.len() < ENDED_PHASES_KEPT {
                ended.push(*latest);
            }
        }
        *latest = snapshot;
    }

    pub fn snapshot(&self) -> Snapshot {
        *self.latest.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The final figures of phases that ended since the last call, oldest first.
    pub fn take_ended(&self) -> Vec<Snapshot> {
        std::mem::take(&mut *self.ended.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Tell the user something that is not an error. The text must hold no token (it is shown
    /// as it is); a repeated notice is kept once.
    pub fn notice(&self, message: impl Into<String>) {
        let message = message.into();
        let mut notices = self.notices.lock().unwrap_or_else(|p| p.into_inner());
        if notices.len() < NOTICES_KEPT && !notices.contains(&message) {
            notices.push(message);
        }
    }

    /// The notices given since the last call, oldest first.
    pub fn take_notices(&self) -> Vec<String> {
        std::mem::take(&mut *self.notices.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Tell the user something that went wrong and is being dealt with (a rate-limit wait): like
    /// a notice, but logged at WARNING, and as soon as the watcher looks, not when the operation
    /// ends. The same rules apply: no token in the text, a repeat not yet taken is kept once.
    pub fn warning(&self, message: impl Into<String>) {
        let message = message.into();
        let mut warnings = self.warnings.lock().unwrap_or_else(|p| p.into_inner());
        if warnings.len() < NOTICES_KEPT && !warnings.contains(&message) {
            warnings.push(message);
        }
    }

    /// The warnings given since the last call, oldest first.
    pub fn take_warnings(&self) -> Vec<String> {
        std::mem::take(&mut *self.warnings.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Ask the operation to stop at its next callback.
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::SeqCst);
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::SeqCst)
    }

    /// What libgit2 callbacks return: `true` to go on.
    pub fn keep_going(&self) -> bool {
        !self.is_cancelled()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_returns_the_latest_report() {
        let monitor = Monitor::new();
        monitor.report(Phase::Receiving, 1, 10, 100);
        monitor.report(Phase::Receiving, 2, 10, 200);
        assert_eq!(
            monitor.snapshot(),
            Snapshot {
                phase: Phase::Receiving,
                done: 2,
                total: 10,
                bytes: 200,
                deduplicated: 0,
            }
        );
    }

    #[test]
    fn a_phase_that_ended_between_looks_is_still_seen_with_its_final_figures() {
        let monitor = Monitor::new();
        monitor.report(Phase::LfsUpload, 1, 1, 2048);
        monitor.report(Phase::Sending, 3, 3, 10);
        assert_eq!(
            monitor.take_ended(),
            vec![Snapshot {
                phase: Phase::LfsUpload,
                done: 1,
                total: 1,
                bytes: 2048,
                deduplicated: 0,
            }]
        );
        assert!(monitor.take_ended().is_empty());
        assert_eq!(monitor.snapshot().phase, Phase::Sending);
    }

    #[test]
    fn notices_are_taken_once_in_order_without_repeats() {
        let monitor = Monitor::new();
        monitor.notice("first");
        monitor.notice("second");
        monitor.notice("first");
        assert_eq!(monitor.take_notices(), vec!["first", "second"]);
        assert!(monitor.take_notices().is_empty());
    }

    #[test]
    fn cancel_turns_keep_going_off() {
        let monitor = Monitor::new();
        assert!(monitor.keep_going());
        monitor.cancel();
        assert!(!monitor.keep_going());
    }
}
