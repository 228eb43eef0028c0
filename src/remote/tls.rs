//! Process-wide transport settings for libgit2: which CAs to trust, and how long to wait.
//!
//! Hub users behind corporate proxies already point `REQUESTS_CA_BUNDLE` or `SSL_CERT_FILE` at
//! their CA bundle for huggingface_hub; we honour the same variables so they need nothing new.
//! libgit2 keeps these settings globally, so they are applied once per change, under a lock.

use std::path::PathBuf;
use std::sync::{Mutex, Once};

use crate::error::{HfGitError, Result};

static TRUSTED_BUNDLES: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
static TIMEOUTS: Once = Once::new();

const CONNECT_TIMEOUT_MS: i32 = 15_000;
const READ_TIMEOUT_MS: i32 = 120_000;

/// Trust the bundles named by `REQUESTS_CA_BUNDLE` and `SSL_CERT_FILE`, whichever are set.
///
/// libgit2 can only add certificates to its trust store, never drop them, so every bundle a
/// variable has named during the process stays trusted; a bundle is loaded once, when first seen.
pub fn apply_environment_ca_bundle() -> Result<()> {
    let named: Vec<PathBuf> = ["REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"]
        .iter()
        .filter_map(std::env::var_os)
        .filter(|value| !value.is_empty())
        .map(PathBuf::from)
        .collect();
    let mut trusted = TRUSTED_BUNDLES.lock().unwrap_or_else(|p| p.into_inner());
    for bundle in named {
        if trusted.contains(&bundle) {
            continue;
        }
        if !bundle.is_file() {
            return Err(HfGitError::invalid(format!(
                "CA bundle {} (from REQUESTS_CA_BUNDLE or SSL_CERT_FILE) does not exist",
                bundle.display()
            )));
        }
        // SAFETY: libgit2 is initialised by git2 before any option call, and the lock above
        // keeps two threads from loading certificates at once.
        unsafe { git2::opts::set_ssl_cert_file(&bundle) }?;
        trusted.push(bundle);
    }
    Ok(())
}

/// Bound how long a dead or silent server can hold an operation.
pub fn apply_timeouts() {
    TIMEOUTS.call_once(|| {
        // SAFETY: called once, before this crate starts any transfer.
        unsafe {
            let _ = git2::opts::set_server_connect_timeout_in_milliseconds(CONNECT_TIMEOUT_MS);
            let _ = git2::opts::set_server_timeout_in_milliseconds(READ_TIMEOUT_MS);
        }
    });
}
