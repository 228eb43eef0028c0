//! Shared state of one transfer run: progress figures, the stop flag and the first failure.
//!
//! Every worker thread holds a reference to one [`Tracker`]. Byte counts flow in from the readers
//! and writers as data moves, so the monitor shows aggregate progress over all concurrent
//! transfers; a failed attempt takes its bytes back out before it is retried. The first error
//! stops everything: later errors (often just "stopped because another transfer failed") are
//! dropped, so the user sees the cause.

use std::io::{self, Read};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::lfs::error::LfsError;
use crate::progress::{Monitor, Phase, Snapshot};

pub(crate) struct Tracker<'m> {
    monitor: &'m Monitor,
    phase: Phase,
    total: AtomicU64,
    done: AtomicU64,
    bytes: AtomicU64,
    transferred: AtomicUsize,
    skipped: AtomicUsize,
    transferred_bytes: AtomicU64,
    /// Of `transferred_bytes`, what went through Xet, what of it the CAS had already, and what
    /// Xet sent (compressed chunks and the shard).
    xet_bytes: AtomicU64,
    xet_deduplicated: AtomicU64,
    xet_sent: AtomicU64,
    stopped: AtomicBool,
    first_error: Mutex<Option<LfsError>>,
    report_lock: Mutex<()>,
}

impl<'m> Tracker<'m> {
    pub(crate) fn new(monitor: &'m Monitor, phase: Phase, total: u64) -> Self {
        let tracker = Self {
            monitor,
            phase,
            total: AtomicU64::new(total),
            done: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            transferred: AtomicUsize::new(0),
            skipped: AtomicUsize::new(0),
            transferred_bytes: AtomicU64::new(0),
            xet_bytes: AtomicU64::new(0),
            xet_deduplicated: AtomicU64::new(0),
            xet_sent: AtomicU64::new(0),
            stopped: AtomicBool::new(false),
            first_error: Mutex::new(None),
            report_lock: Mutex::new(()),
        };
        tracker.report();
        tracker
    }

    /// `Err(Cancelled)` once the user cancelled or another transfer failed.
    pub(crate) fn check(&self) -> Result<(), LfsError> {
        if self.should_stop() {
            Err(LfsError::Cancelled)
        } else {
            Ok(())
        }
    }

    /// The monitor this run reports to.
    pub(crate) fn monitor(&self) -> &'m Monitor {
        self.monitor
    }

    /// Show this run's figures again, after a wait showed its own phase.
    pub(crate) fn resume_reporting(&self) {
        self.report();
    }

    pub(crate) fn should_stop(&self) -> bool {
        self.stopped.load(Ordering::SeqCst) || self.monitor.is_cancelled()
    }

    /// Record a failure; only the first one is kept, and it stops every other transfer.
    pub(crate) fn fail(&self, error: LfsError) {
        let mut first = self.first_error.lock().unwrap_or_else(|p| p.into_inner());
        if first.is_none() {
            *first = Some(error);
        }
        self.stopped.store(true, Ordering::SeqCst);
    }

    pub(crate) fn take_error(&self) -> Option<LfsError> {
        self.first_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
    }

    pub(crate) fn add_bytes(&self, count: u64) {
        self.bytes.fetch_add(count, Ordering::Relaxed);
        self.report();
    }

    /// Take back the bytes of an attempt that failed and will be made again.
    pub(crate) fn remove_bytes(&self, count: u64) {
        // Never below zero, even if reports raced.
        let _ = self
            .bytes
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |now| {
                Some(now.saturating_sub(count))
            });
        self.report();
    }

    pub(crate) fn object_transferred(&self, size: u64) {
        self.transferred.fetch_add(1, Ordering::Relaxed);
        self.transferred_bytes.fetch_add(size, Ordering::Relaxed);
        self.done.fetch_add(1, Ordering::Relaxed);
        self.report();
    }

    pub(crate) fn object_skipped(&self) {
        self.skipped.fetch_add(1, Ordering::Relaxed);
        self.done.fetch_add(1, Ordering::Relaxed);
        self.report();
    }

    /// Record what a Xet upload did: `bytes` of objects, `deduplicated` of them already stored,
    /// `sent` over the wire.
    #[cfg_attr(not(feature = "xet"), allow(dead_code))]
    pub(crate) fn xet_uploaded(&self, bytes: u64, deduplicated: u64, sent: u64) {
        self.xet_bytes.fetch_add(bytes, Ordering::Relaxed);
        self.xet_deduplicated
            .fetch_add(deduplicated, Ordering::Relaxed);
        self.xet_sent.fetch_add(sent, Ordering::Relaxed);
        self.report();
    }

    /// (bytes sent to storage, bytes storage already had): whole objects for basic/multipart,
    /// what Xet sent and deduplicated for Xet.
    pub(crate) fn storage_counts(&self) -> (u64, u64) {
        let total = self.transferred_bytes.load(Ordering::Relaxed);
        let xet = self.xet_bytes.load(Ordering::Relaxed);
        let sent = total.saturating_sub(xet) + self.xet_sent.load(Ordering::Relaxed);
        (sent, self.xet_deduplicated.load(Ordering::Relaxed))
    }

    /// (transferred, skipped, bytes of the transferred objects)
    pub(crate) fn counts(&self) -> (usize, usize, u64) {
        (
            self.transferred.load(Ordering::Relaxed),
            self.skipped.load(Ordering::Relaxed),
            self.transferred_bytes.load(Ordering::Relaxed),
        )
    }

    fn report(&self) {
        // The lock keeps one thread's older figures from landing after another's newer ones.
        let _guard = self.report_lock.lock().unwrap_or_else(|p| p.into_inner());
        self.monitor.report_snapshot(Snapshot {
            phase: self.phase,
            done: self.done.load(Ordering::Relaxed),
            total: self.total.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
            deduplicated: self.xet_deduplicated.load(Ordering::Relaxed),
        });
    }
}

/// A request body that counts what is sent and stops when the transfer is stopped.
///
/// ureq pulls at most its output buffer (128 KiB) per read, so cancellation is seen at least that
/// often while streaming.
pub(crate) struct CountingReader<'t, 'm, R> {
    inner: R,
    tracker: &'t Tracker<'m>,
    counted: u64,
}

impl<'t, 'm, R: Read> CountingReader<'t, 'm, R> {
    pub(crate) fn new(inner: R, tracker: &'t Tracker<'m>) -> Self {
        Self {
            inner,
            tracker,
            counted: 0,
        }
    }

    /// Bytes this reader has reported so far.
    pub(crate) fn counted(&self) -> u64 {
        self.counted
    }
}

impl<R: Read> Read for CountingReader<'_, '_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.tracker.should_stop() {
            return Err(io::Error::other("transfer stopped"));
        }
        let read = self.inner.read(buf)?;
        self.counted += read as u64;
        self.tracker.add_bytes(read as u64);
        Ok(read)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_failure_wins_and_stops_the_rest() {
        let monitor = Monitor::new();
        let tracker = Tracker::new(&monitor, Phase::LfsUpload, 3);
        assert!(tracker.check().is_ok());
        tracker.fail(LfsError::Protocol {
            detail: "first".into(),
        });
        tracker.fail(LfsError::Cancelled);
        assert!(matches!(tracker.check(), Err(LfsError::Cancelled)));
        assert!(
            matches!(tracker.take_error(), Some(LfsError::Protocol { detail }) if detail == "first")
        );
    }

    #[test]
    fn progress_aggregates_objects_and_bytes() {
        let monitor = Monitor::new();
        let tracker = Tracker::new(&monitor, Phase::LfsDownload, 4);
        tracker.add_bytes(10);
        tracker.add_bytes(5);
        tracker.remove_bytes(5);
        tracker.object_transferred(10);
        tracker.object_skipped();
        let snapshot = monitor.snapshot();
        assert_eq!(snapshot.phase, Phase::LfsDownload);
        assert_eq!((snapshot.done, snapshot.total, snapshot.bytes), (2, 4, 10));
        assert_eq!(tracker.counts(), (1, 1, 10));
    }

    #[test]
    fn counting_reader_stops_when_cancelled() {
        let monitor = Monitor::new();
        let tracker = Tracker::new(&monitor, Phase::LfsUpload, 1);
        let mut reader = CountingReader::new(&b"abcdef"[..], &tracker);
        let mut buf = [0u8; 4];
        assert_eq!(reader.read(&mut buf).unwrap(), 4);
        assert_eq!(reader.counted(), 4);
        monitor.cancel();
        assert!(reader.read(&mut buf).is_err());
        assert_eq!(monitor.snapshot().bytes, 4);
    }
}
