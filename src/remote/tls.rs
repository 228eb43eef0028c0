//! Process-wide transport settings for libgit2: which CAs to trust, how long to wait, and the
//! User-Agent.
//!
//! Hub users behind corporate proxies already point `REQUESTS_CA_BUNDLE` or `SSL_CERT_FILE` at
//! their CA bundle for huggingface_hub; we honour the same variables so they need nothing new.
//! libgit2 keeps these settings globally, so they are applied once per change, under a lock.

use std::ffi::{c_int, CString};
use std::path::PathBuf;
use std::sync::Mutex;

use crate::error::{HfGitError, Result};

static TRUSTED_BUNDLES: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
/// Serialises the writes of libgit2's global settings below.
static SETTINGS: Mutex<()> = Mutex::new(());

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

/// Bound how long a dead or silent server can hold an operation: `HF_HUB_DOWNLOAD_TIMEOUT`, else
/// 15 s to connect and 120 s of silence (see [`crate::net::timeouts`]). Read again for every
/// operation, as the environment may have changed.
pub fn apply_timeouts() -> Result<()> {
    let timeouts = crate::net::timeouts::git_from_environment()?;
    let millis =
        |limit: std::time::Duration| c_int::try_from(limit.as_millis()).unwrap_or(c_int::MAX);
    let _lock = SETTINGS.lock().unwrap_or_else(|p| p.into_inner());
    // SAFETY: libgit2 is initialised; the lock keeps two threads from writing at once, and our
    // TCP stream reads the values when a connection is created.
    unsafe {
        let _ = git2::opts::set_server_connect_timeout_in_milliseconds(millis(timeouts.connect));
        let _ = git2::opts::set_server_timeout_in_milliseconds(millis(timeouts.read));
    }
    Ok(())
}

/// Send `git/2.0 (hfgit/<version>; libgit2 <version>)` on git traffic: libgit2's product token,
/// which smart-HTTP servers look for, with hfgit's User-Agent ([`crate::net::user_agent`],
/// `HF_HUB_USER_AGENT_ORIGIN` included) and libgit2's own in the comment.
pub fn apply_user_agent() {
    let (major, minor, patch) = git2::Version::get().libgit2_version();
    let comment = format!(
        "{}; libgit2 {major}.{minor}.{patch}",
        crate::net::user_agent()
    );
    let Ok(comment) = CString::new(comment) else {
        return;
    };
    let _lock = SETTINGS.lock().unwrap_or_else(|p| p.into_inner());
    // SAFETY: libgit2 copies the string; the lock keeps two threads from writing at once.
    unsafe {
        libgit2_sys::git_libgit2_opts(
            libgit2_sys::GIT_OPT_SET_USER_AGENT as c_int,
            comment.as_ptr(),
        );
    }
}
