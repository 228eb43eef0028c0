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

use std::path::PathBuf;
use std::sync::OnceLock;

use tokio::runtime::Runtime;
use xet::xet_session::{XetSession, XetSessionBuilder};

use crate::lfs::error::LfsError;

static RUNTIME: OnceLock<Result<Runtime, String>> = OnceLock::new();

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

/// A session for one transfer, on the shared runtime.
pub(super) fn new_session() -> Result<(XetSession, &'static Runtime), LfsError> {
    let runtime = runtime()?;
    let session = XetSessionBuilder::new()
        .with_cache_dir(cache_dir())
        .with_tokio_handle(runtime.handle().clone())
        .build()
        .map_err(|err| LfsError::Network {
            during: "starting the Xet client".to_owned(),
            detail: crate::auth::redact::redact_text(&err.to_string()),
        })?;
    Ok((session, runtime))
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
