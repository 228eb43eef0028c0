//! The Git LFS transfer client: the batch API, basic and multipart transfers, over HTTP.
//!
//! The network half of LFS, built to behave towards the Hub as git-lfs and huggingface_hub do:
//!
//! - `remote`: where the LFS API of a git remote lives, and the rule that keeps the token off
//!   presigned storage URLs;
//! - `batch`: ask about 100 objects at a time and check the answer's shape;
//! - `upload` / `multipart` / `download` / `ranged`: the transfers themselves, streamed from and to
//!   files with bounded buffers, on a small pool of threads (`pool`); big downloads in several
//!   Range requests at once, resumable across runs (`ranged`);
//! - `mode` / `xet`: the `xet` transfer, offered when the build has it (cargo feature `xet`) and
//!   the user did not force `basic`; the objects then go to Xet storage through the Hub's crates;
//! - `retry`: 408/429/5xx and broken connections are retried with backoff, other 4xx are final;
//! - `lease`: presigned hrefs expire, so every attempt and every part gets one that will not
//!   before it starts, and a 401/403 from storage is answered with one fresh batch;
//! - `client`: one HTTP attempt on a shared agent that trusts the same CA bundles as libgit2, with
//!   the proxy, User-Agent and timeouts of [`crate::net`]; `forward` sends plain-http requests to
//!   a proxy in absolute form.
//!
//! No async runtime: each transfer is a blocking request on one of `concurrency` threads, which is
//! all a handful of parallel uploads needs, and keeps cancellation a matter of checking a flag.

mod batch;
mod client;
mod download;
mod forward;
mod lease;
mod mode;
mod multipart;
mod pool;
mod presence;
mod ranged;
mod remote;
mod retry;
mod tracker;
mod upload;
#[cfg(feature = "xet")]
mod xet;
#[cfg(feature = "xet")]
pub use xet::local_cas;

#[cfg(test)]
mod wire_tests;

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Duration;

pub use mode::{LfsTransferMode, TRANSFER_ENV};
pub use presence::present_on_server;
pub(crate) use remote::short_url;
pub use remote::LfsRemote;
// The one HTTP stack of the crate: the Hub API client (`crate::hub::api`) sends through it too.
pub(crate) use client::{transport_failure, HttpClient, Method, Outgoing, Payload};
pub(crate) use retry::{with_retries, Failure, RetryPolicy};
pub(crate) use tracker::Tracker;

use crate::lfs::error::LfsError;
use crate::lfs::pointer::Pointer;
use crate::lfs::store::LfsStore;
use crate::lfs::work_tree_copies::ObjectSource;
use crate::progress::{Monitor, Phase};
use download::DownloadPlan;
use upload::Context;

pub use ranged::DEFAULT_MAX_WHOLE_DOWNLOAD;

/// The environment variable that sets [`TransferConfig::max_whole_download`] when the caller
/// leaves it unset: a size in bytes.
pub const MAX_WHOLE_DOWNLOAD_ENV: &str = "HFGIT_LFS_MAX_WHOLE_DOWNLOAD";
/// The most transfers one run may have in flight (`lfs_concurrency`): each is a thread with its
/// own connection, and past a few dozen a link gains nothing while the threads cost memory.
pub const MAX_CONCURRENCY: usize = 256;

/// The smallest whole-download limit the variable may set: below it, an object would be asked
/// for in ranges too small to move at any speed (and its resume record would list them all).
pub const MIN_WHOLE_DOWNLOAD: u64 = 1024 * 1024;

/// How a transfer run behaves.
#[derive(Debug, Clone)]
pub struct TransferConfig {
    /// Transfers (whole objects or parts) in flight at once; git-lfs's default is 8.
    pub concurrency: usize,
    /// The ref the objects are for (`refs/heads/main`); sent in the batch request when known.
    pub ref_name: Option<String>,
    /// Attempts per request, the first included.
    pub max_attempts: u32,
    /// Wait after the first failed attempt; doubled after each further one.
    pub initial_backoff: Duration,
    /// The longest wait between attempts (a server's `Retry-After` may ask for up to 60 s).
    pub max_backoff: Duration,
    /// Objects bigger than this many bytes are downloaded only in Range requests of at most this
    /// size, whatever else is chosen: the Hub serves objects over 50 GB in no other way. `None`:
    /// [`MAX_WHOLE_DOWNLOAD_ENV`] if set, else [`DEFAULT_MAX_WHOLE_DOWNLOAD`] (50·10⁹).
    pub max_whole_download: Option<u64>,
    /// How long one request may wait in all for the Hub's rate limits (429) to lift; `None`:
    /// `HFGIT_RATE_LIMIT_MAX_WAIT` seconds, else 5 minutes (see [`crate::net::rate_limit`]).
    pub rate_limit_max_wait: Option<Duration>,
    /// Which upload transfer to ask for; `None`: `HFGIT_LFS_TRANSFER`, else `auto`.
    pub transfer: Option<LfsTransferMode>,
}

impl Default for TransferConfig {
    fn default() -> Self {
        Self {
            concurrency: 8,
            ref_name: None,
            max_attempts: 5,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(8),
            max_whole_download: None,
            rate_limit_max_wait: None,
            transfer: None,
        }
    }
}

impl TransferConfig {
    pub(crate) fn policy(&self) -> Result<RetryPolicy, LfsError> {
        let rate_limit_max_wait = match self.rate_limit_max_wait {
            Some(cap) => cap,
            None => crate::net::rate_limit::max_wait_from_env()?,
        };
        Ok(RetryPolicy {
            max_attempts: self.max_attempts,
            initial_backoff: self.initial_backoff,
            max_backoff: self.max_backoff,
            rate_limit_max_wait,
        })
    }

    pub(crate) fn transfer_mode(&self) -> Result<LfsTransferMode, LfsError> {
        match self.transfer {
            Some(mode) => Ok(mode),
            None => LfsTransferMode::from_env(),
        }
    }

    /// Threads for the run's transfers: `concurrency`, checked.
    fn workers(&self) -> Result<usize, LfsError> {
        if (1..=MAX_CONCURRENCY).contains(&self.concurrency) {
            return Ok(self.concurrency);
        }
        Err(LfsError::from(crate::net::InvalidSetting {
            name: "lfs_concurrency",
            detail: format!(
                "lfs_concurrency must be from 1 to {MAX_CONCURRENCY} transfers at once, not {}",
                self.concurrency
            ),
        }))
    }

    /// The whole-download limit in force: the field, the environment, or the Hub's 50 GB.
    fn max_whole_download(&self) -> Result<u64, LfsError> {
        if let Some(limit) = self.max_whole_download {
            return Ok(limit.max(1));
        }
        let invalid = |value: &str| {
            LfsError::from(crate::net::InvalidSetting {
                name: MAX_WHOLE_DOWNLOAD_ENV,
                detail: format!(
                    "{MAX_WHOLE_DOWNLOAD_ENV} must be a whole number of bytes from \
                     {MIN_WHOLE_DOWNLOAD} (1 MiB) to {max}, such as 50000000000 (the Hub's \
                     limit and the default), not {value:?}",
                    max = u64::MAX
                ),
            })
        };
        match std::env::var(MAX_WHOLE_DOWNLOAD_ENV) {
            Err(std::env::VarError::NotPresent) => Ok(DEFAULT_MAX_WHOLE_DOWNLOAD),
            Ok(text) if text.trim().is_empty() => Ok(DEFAULT_MAX_WHOLE_DOWNLOAD),
            Ok(text) => text
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|limit| *limit >= MIN_WHOLE_DOWNLOAD)
                .ok_or_else(|| invalid(&text)),
            Err(std::env::VarError::NotUnicode(value)) => Err(invalid(&value.to_string_lossy())),
        }
    }
}

/// One object to upload.
#[derive(Debug, Clone)]
pub struct UploadItem {
    pub pointer: Pointer,
    /// The object's file in the local store (`.git/lfs/objects/...`).
    pub source: PathBuf,
    /// A repo path that points at the object, for messages.
    pub path: String,
}

/// One object to download.
#[derive(Debug, Clone)]
pub struct DownloadItem {
    pub pointer: Pointer,
    /// A repo path that points at the object, for messages.
    pub path: String,
}

/// What a run did, counted per distinct object.
#[derive(Debug, Default, Clone)]
pub struct TransferSummary {
    /// Objects sent or received.
    pub transferred: usize,
    /// Objects that needed nothing: already on the server (upload), already in the store
    /// (download), or empty.
    pub skipped: usize,
    /// Total size of the transferred objects.
    pub bytes: u64,
    /// Bytes sent to storage: `bytes` for basic/multipart; for Xet only the chunks the CAS did not
    /// have yet (compressed), plus the shard.
    pub sent_bytes: u64,
    /// Bytes of the Xet-uploaded objects the CAS already had (deduplicated, never sent).
    pub deduplicated_bytes: u64,
}

/// Upload every object the server does not have yet; see the module docs for how.
///
/// Objects are counted once per oid, whatever the number of paths pointing at them. Empty objects
/// are never uploaded: their pointer is the empty file.
pub fn upload(
    remote: &LfsRemote,
    items: Vec<UploadItem>,
    config: &TransferConfig,
    monitor: &Monitor,
) -> Result<TransferSummary, LfsError> {
    upload_restoring(remote, items, None, config, monitor)
}

/// [`upload`]; an object the server asks for whose `source` is missing (pruned from the store)
/// is first asked of `restorer`, and only if that cannot put it back is it reported missing.
pub fn upload_restoring(
    remote: &LfsRemote,
    items: Vec<UploadItem>,
    restorer: Option<&dyn ObjectSource>,
    config: &TransferConfig,
    monitor: &Monitor,
) -> Result<TransferSummary, LfsError> {
    let items = distinct(items, |item| item.pointer);
    let tracker = Tracker::new(monitor, Phase::LfsUpload, items.len() as u64);
    let (empty, items): (Vec<_>, Vec<_>) =
        items.into_iter().partition(|item| item.pointer.size == 0);
    empty.iter().for_each(|_| tracker.object_skipped());
    let workers = config.workers()?;
    let ctx = Context {
        remote,
        policy: config.policy()?,
        tracker: &tracker,
        ref_name: config.ref_name.as_deref(),
        transfer: config.transfer_mode()?,
    };
    if !items.is_empty() {
        upload::upload_all(&ctx, &items, restorer, workers)?;
    }
    Ok(summary(&tracker))
}

/// Download every object missing from `store`. Each lands there only after its size and SHA-256
/// matched the pointer; objects already present are not requested. Big objects come in several
/// Range requests at once, and a download interrupted before resumes from what it left in
/// `.git/lfs/incomplete/` (see the `ranged` module).
pub fn download(
    remote: &LfsRemote,
    items: Vec<DownloadItem>,
    store: &LfsStore,
    config: &TransferConfig,
    monitor: &Monitor,
) -> Result<TransferSummary, LfsError> {
    let plan = DownloadPlan {
        workers: config.workers()?,
        max_whole_download: config.max_whole_download()?,
    };
    let items = distinct(items, |item| item.pointer);
    let tracker = Tracker::new(monitor, Phase::LfsDownload, items.len() as u64);
    let (present, items): (Vec<_>, Vec<_>) = items
        .into_iter()
        .partition(|item| store.contains(&item.pointer.oid, item.pointer.size));
    present.iter().for_each(|_| tracker.object_skipped());
    let ctx = Context {
        remote,
        policy: config.policy()?,
        tracker: &tracker,
        ref_name: config.ref_name.as_deref(),
        transfer: LfsTransferMode::Basic,
    };
    if !items.is_empty() {
        download::download_all(&ctx, &items, store, plan)?;
    }
    Ok(summary(&tracker))
}

/// The first item of each pointer, in the order given.
fn distinct<T>(items: Vec<T>, pointer: impl Fn(&T) -> Pointer) -> Vec<T> {
    let mut seen = HashSet::new();
    items
        .into_iter()
        .filter(|item| seen.insert(pointer(item)))
        .collect()
}

fn summary(tracker: &Tracker<'_>) -> TransferSummary {
    let (transferred, skipped, bytes) = tracker.counts();
    let (sent_bytes, deduplicated_bytes) = tracker.storage_counts();
    TransferSummary {
        transferred,
        skipped,
        bytes,
        sent_bytes,
        deduplicated_bytes,
    }
}
