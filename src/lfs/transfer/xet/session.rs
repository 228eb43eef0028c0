//! The process's one tokio runtime for Xet, made on the first Xet transfer, and a session on it
//! per transfer.
//!
//! The crates run every transfer on a multi-threaded tokio runtime. A process that never pushes
//! through Xet never starts one; the first Xet transfer builds it and every later one reuses it
//! (the crates' sessions are attached to it with `with_tokio_handle`, so they never make their
//! own). Each transfer gets its own session, so the shard cache follows the environment of that
//! moment: `HF_XET_CACHE`, else `$HF_HOME/xet`, else `~/.cache/huggingface/xet`, where
//! huggingface_hub keeps it too. hfgit drives the crates with `block_on` from its own threads,
//! which are never runtime threads.
//!
//! Memory. The crates cut a file into xorbs of up to 64 MiB and hold each one whole: the one being
//! uploaded (one per upload stream), the next one serialized and waiting for a stream, and the
//! one being serialized (raw and serialized copies). Peak memory is about
//! (upload streams + 3) x 64 MiB over the process's own, and the crates' adaptive concurrency
//! raises the streams to as many as 64 on a fast link (a 1 GiB push peaked at 442-555 MiB on a
//! local CAS). So unless the user says otherwise through the crates' own variables
//! (`HF_XET_CLIENT_AC_*_UPLOAD_CONCURRENCY`, `HF_XET_FIXED_UPLOAD_CONCURRENCY`,
//! `HF_XET_HIGH_PERFORMANCE`/`HF_XET_HP`), hfgit uploads one xorb at a time
//! ([`UPLOAD_STREAMS`]), serializing the next while it goes. And it reads files in blocks of
//! 1 MiB rather than the crates' 8 MB ([`READ_BLOCK`], unless `HF_XET_DATA_INGESTION_BLOCK_SIZE`
//! is set): freed 8 MB blocks pile up in the allocator's per-thread arenas (glibc's sliding mmap
//! threshold), 30-40 MiB on a 1 GiB push. Chunk boundaries, hence deduplication, do not depend
//! on the block size (the chunker carries its state across blocks). And it chunks one file at a
//! time ([`FILES_AT_ONCE`], unless `HF_XET_DATA_MAX_CONCURRENT_FILE_INGESTION` is set) rather
//! than 8: each file being chunked holds its own xorb under construction (up to 64 MiB), and with
//! one upload stream the chunking of several files gains nothing. Measured on a 1 GiB push to
//! LocalHub's CAS: 555-614 MiB peak with the crates' defaults, 299-324 MiB with one stream,
//! 261-278 MiB with one stream and 1 MiB blocks; four files of 256 MiB, 499 MiB with 8 files
//! chunked at once and 278 MiB with one (benches/RESULTS.md).
//!
//! Retries. The crates retry a failed CAS request 5 times from 3 s apart, doubling: a CAS that is
//! down held a push silent for 278 s before `auto` could fall back to basic. When a fallback
//! exists (`auto`), and unless the user set the crates' `HF_XET_CLIENT_RETRY_*` variables, hfgit
//! gives each request [`RETRY_ATTEMPTS`] retries from [`RETRY_FIRST_DELAY`] apart (at most
//! [`RETRY_LONGEST_DELAY`] each): a passing 503 is still absorbed, and a CAS that stays down is
//! left within about 10 s for the LFS path, which has its own retries.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use tokio::runtime::Runtime;
use xet::xet_session::{XetConfig, XetSession, XetSessionBuilder};

use crate::lfs::error::LfsError;

static RUNTIME: OnceLock<Result<Runtime, String>> = OnceLock::new();

/// Xorbs uploaded at once, unless the environment says otherwise (see the module's notes).
const UPLOAD_STREAMS: usize = 1;

/// The size of the blocks files are read in, unless the environment says otherwise.
const READ_BLOCK: u64 = 1 << 20;

/// Files chunked at once, unless the environment says otherwise.
const FILES_AT_ONCE: usize = 1;

/// The crates' variables that set how many files are chunked at once (the second is its older
/// name; high-performance mode raises it too).
const FILES_AT_ONCE_VARS: [&str; 4] = [
    "HF_XET_DATA_MAX_CONCURRENT_FILE_INGESTION",
    "HF_XET_MAX_CONCURRENT_FILE_INGESTION",
    "HF_XET_HIGH_PERFORMANCE",
    "HF_XET_HP",
];

/// The crates' variables that set the read block size (the second is its older name).
const READ_BLOCK_VARS: [&str; 2] = [
    "HF_XET_DATA_INGESTION_BLOCK_SIZE",
    "HF_XET_INGESTION_BLOCK_SIZE",
];

/// The crates' variables that set the upload concurrency; any of them set leaves it to them.
const CONCURRENCY_VARS: [&str; 6] = [
    "HF_XET_CLIENT_AC_INITIAL_UPLOAD_CONCURRENCY",
    "HF_XET_CLIENT_AC_MIN_UPLOAD_CONCURRENCY",
    "HF_XET_CLIENT_AC_MAX_UPLOAD_CONCURRENCY",
    "HF_XET_FIXED_UPLOAD_CONCURRENCY",
    "HF_XET_HIGH_PERFORMANCE",
    "HF_XET_HP",
];

/// Retries of one CAS request before a push that may fall back gives Xet up.
const RETRY_ATTEMPTS: usize = 3;
const RETRY_FIRST_DELAY: Duration = Duration::from_secs(1);
const RETRY_LONGEST_DELAY: Duration = Duration::from_secs(4);

/// The crates' variables that set their retries; any of them set leaves retries to them.
const RETRY_VARS: [&str; 3] = [
    "HF_XET_CLIENT_RETRY_MAX_ATTEMPTS",
    "HF_XET_CLIENT_RETRY_BASE_DELAY",
    "HF_XET_CLIENT_RETRY_MAX_DURATION",
];

/// The shared runtime; `Err` (kept, so later pushes fall back at once) when it cannot be made.
pub(super) fn runtime() -> Result<&'static Runtime, LfsError> {
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .thread_name("hfgit-xet")
                .enable_all()
                .build()
                .map_err(|err| err.to_string())
        })
        .as_ref()
        .map_err(|detail| LfsError::Network {
            during: "starting the Xet client".to_owned(),
            detail: detail.clone(),
        })
}

/// A session for one transfer, on the shared runtime; `can_fall_back` when a failure would send
/// the objects by another way (shorter retries).
pub(super) fn new_session(can_fall_back: bool) -> Result<(XetSession, &'static Runtime), LfsError> {
    let runtime = runtime()?;
    let config = configuration(|name| std::env::var_os(name), can_fall_back);
    let session = XetSessionBuilder::new_with_config(config)
        .with_cache_dir(cache_dir())
        .with_tokio_handle(runtime.handle().clone())
        .build()
        .map_err(|err| LfsError::Network {
            during: "starting the Xet client".to_owned(),
            detail: crate::auth::redact::redact_text(&err.to_string()),
        })?;
    Ok((session, runtime))
}

/// The crates' configuration from the environment (`HF_XET_*`), with one upload stream unless
/// one of [`CONCURRENCY_VARS`] is set, 1 MiB read blocks unless one of [`READ_BLOCK_VARS`] is, and
/// one file chunked at a time unless one of [`FILES_AT_ONCE_VARS`] is, and with a fallback, short
/// retries unless one of [`RETRY_VARS`] is.
fn configuration(
    var: impl Fn(&str) -> Option<std::ffi::OsString>,
    can_fall_back: bool,
) -> XetConfig {
    let mut config = XetConfig::new();
    if can_fall_back && !RETRY_VARS.iter().any(|name| var(name).is_some()) {
        config.client.retry_max_attempts = RETRY_ATTEMPTS;
        config.client.retry_base_delay = RETRY_FIRST_DELAY;
        config.client.retry_max_duration = RETRY_LONGEST_DELAY;
    }
    if !CONCURRENCY_VARS.iter().any(|name| var(name).is_some()) {
        config.client.ac_initial_upload_concurrency = UPLOAD_STREAMS;
        config.client.ac_min_upload_concurrency = UPLOAD_STREAMS;
        config.client.ac_max_upload_concurrency = UPLOAD_STREAMS;
    }
    if !READ_BLOCK_VARS.iter().any(|name| var(name).is_some()) {
        config.data.ingestion_block_size = READ_BLOCK.into();
    }
    if !FILES_AT_ONCE_VARS.iter().any(|name| var(name).is_some()) {
        config.data.max_concurrent_file_ingestion = FILES_AT_ONCE;
    }
    config
}

/// `HF_XET_CACHE`, else `$HF_HOME/xet`, else `~/.cache/huggingface/xet` (as huggingface_hub).
fn cache_dir() -> PathBuf {
    let var = |name: &str| std::env::var_os(name).filter(|value| !value.is_empty());
    if let Some(dir) = var("HF_XET_CACHE") {
        return PathBuf::from(dir);
    }
    if let Some(home) = var("HF_HOME") {
        return PathBuf::from(home).join("xet");
    }
    let cache = var("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| var("HOME").map(|home| PathBuf::from(home).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    cache.join("huggingface").join("xet")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_upload_stream_1_mib_reads_and_one_file_at_a_time_unless_the_user_set_the_crates_own_values(
    ) {
        let config = configuration(|_| None, true);
        assert_eq!(config.client.ac_max_upload_concurrency, UPLOAD_STREAMS);
        assert_eq!(config.client.ac_initial_upload_concurrency, UPLOAD_STREAMS);
        for name in CONCURRENCY_VARS {
            let config = configuration(|asked| (asked == name).then(|| "8".into()), true);
            assert_ne!(
                config.client.ac_max_upload_concurrency, UPLOAD_STREAMS,
                "{name} set: the crates' own setting stays"
            );
        }
        assert_eq!(config.data.ingestion_block_size.as_u64(), 1 << 20);
        for name in READ_BLOCK_VARS {
            let config = configuration(|asked| (asked == name).then(|| "8mb".into()), true);
            assert_ne!(
                config.data.ingestion_block_size.as_u64(),
                1 << 20,
                "{name} set"
            );
        }
    }

    #[test]
    fn a_push_that_can_fall_back_retries_briefly_unless_the_user_set_the_crates_retries() {
        let defaults = XetConfig::new();
        let brief = configuration(|_| None, true);
        assert_eq!(brief.client.retry_max_attempts, RETRY_ATTEMPTS);
        assert_eq!(brief.client.retry_base_delay, RETRY_FIRST_DELAY);
        let forced = configuration(|_| None, false);
        assert_eq!(
            forced.client.retry_max_attempts,
            defaults.client.retry_max_attempts
        );
        for name in RETRY_VARS {
            let config = configuration(|asked| (asked == name).then(|| "7".into()), true);
            assert_ne!(
                config.client.retry_base_delay, RETRY_FIRST_DELAY,
                "{name} set"
            );
        }
    }
}
