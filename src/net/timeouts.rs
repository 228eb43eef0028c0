//! How long a connection may take to open, and how long the server may stay silent.
//!
//! huggingface_hub reads two variables (`constants.py`), both in seconds, both meaning "connect
//! and read" (it passes one number to httpx): `HF_HUB_DOWNLOAD_TIMEOUT` for downloads and other
//! requests, and `HF_HUB_ETAG_TIMEOUT` for the small metadata requests made before a download.
//! hfgit reads them the same way where they fit:
//!
//! - `HF_HUB_DOWNLOAD_TIMEOUT` sets both timeouts of every transfer: Git LFS downloads and
//!   uploads, and git's smart HTTP (clone, fetch, push);
//! - `HF_HUB_ETAG_TIMEOUT` sets both timeouts of the metadata requests: the Git LFS batch API,
//!   verify and multipart-completion calls, and Hub API calls. Unset, they follow
//!   `HF_HUB_DOWNLOAD_TIMEOUT`.
//!
//! Unset (or 0, as in huggingface_hub), connecting may take [`CONNECT`] and the server may stay
//! silent for [`READ`] (git: [`GIT_READ`], a server may think a while before it sends a pack).
//! These defaults are longer than huggingface_hub's 10 s because a batch answer about a hundred
//! objects, or the reply to a multi-gigabyte upload, can take longer than that. A read timeout
//! bounds one wait for data, not the whole transfer: a large object takes as long as it needs.

use std::time::Duration;

use super::{seconds_from_env, InvalidSetting};

/// Default time to open a connection (resolve, TCP, and the proxy's CONNECT).
pub const CONNECT: Duration = Duration::from_secs(15);
/// Default time the server may stay silent during an HTTP request of the LFS or Hub API client.
pub const READ: Duration = Duration::from_secs(60);
/// Default time the server may stay silent during git's smart HTTP.
pub const GIT_READ: Duration = Duration::from_secs(120);

pub const DOWNLOAD_VARIABLE: &str = "HF_HUB_DOWNLOAD_TIMEOUT";
pub const METADATA_VARIABLE: &str = "HF_HUB_ETAG_TIMEOUT";

/// A connect and a read timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    pub connect: Duration,
    pub read: Duration,
}

/// The timeouts of the LFS and Hub API client: transfers, and metadata requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpTimeouts {
    pub transfer: Timeouts,
    pub metadata: Timeouts,
}

impl HttpTimeouts {
    /// Read `HF_HUB_DOWNLOAD_TIMEOUT` and `HF_HUB_ETAG_TIMEOUT`.
    pub fn from_environment() -> Result<Self, InvalidSetting> {
        let download = seconds_from_env(DOWNLOAD_VARIABLE)?;
        let metadata = seconds_from_env(METADATA_VARIABLE)?.or(download);
        let both = |value: Option<Duration>| match value {
            Some(limit) => Timeouts {
                connect: limit,
                read: limit,
            },
            None => Timeouts {
                connect: CONNECT,
                read: READ,
            },
        };
        Ok(Self {
            transfer: both(download),
            metadata: both(metadata),
        })
    }
}

/// The timeouts of git's smart HTTP: `HF_HUB_DOWNLOAD_TIMEOUT`, else [`CONNECT`] and [`GIT_READ`].
pub fn git_from_environment() -> Result<Timeouts, InvalidSetting> {
    // Not used by git, but a bad value is reported whichever traffic reads it first.
    seconds_from_env(METADATA_VARIABLE)?;
    Ok(match seconds_from_env(DOWNLOAD_VARIABLE)? {
        Some(limit) => Timeouts {
            connect: limit,
            read: limit,
        },
        None => Timeouts {
            connect: CONNECT,
            read: GIT_READ,
        },
    })
}
