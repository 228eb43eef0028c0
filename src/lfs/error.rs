//! The failures that only Git LFS code can produce.
//!
//! Kept apart from [`crate::HfGitError`] for now so the LFS building blocks can land without touching
//! the crate's one error enum while others edit it. Each variant maps onto an existing
//! `HfGitError` kind or a new one; see [`LfsError`] for the plan.

use std::path::PathBuf;

use super::pointer::{Oid256, Pointer};

/// Shorthand for the LFS modules.
pub type LfsResult<T> = std::result::Result<T, LfsError>;

/// Something went wrong while reading pointers or moving objects in and out of `.git/lfs/`.
///
/// The lead will fold this into [`crate::HfGitError`] (either one `Lfs(#[from] LfsError)` variant or
/// one variant per case below; `Io` maps onto the existing `HfGitError::Io`, `InvalidOid` onto
/// `InvalidInput`). Until then there is deliberately no `From<LfsError> for HfGitError` here, so the
/// folding cannot collide with a conversion defined in this file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LfsError {
    /// Text that should be a SHA-256 object id is not 64 lowercase hex digits.
    #[error("Invalid LFS object id {value:?}: expected 64 lowercase hexadecimal digits")]
    InvalidOid { value: String },

    /// The file was written to while it was being hashed, so its content has no single oid.
    #[error("File changed while it was being hashed: {}. Wait until nothing is writing to it, then try again.", path.display())]
    FileChanged { path: PathBuf },

    /// A downloaded (or otherwise received) object does not hash to what its pointer promised.
    #[error("LFS object sha256:{} failed verification: expected {} bytes, got {actual_size} bytes hashing to sha256:{actual_oid}. The bad copy was deleted; download it again.", expected.oid, expected.size)]
    ObjectMismatch {
        expected: Pointer,
        actual_oid: Oid256,
        actual_size: u64,
    },

    /// An object about to be uploaded does not hold what its pointer says: the local copy in
    /// `.git/lfs/objects` was damaged after it was committed.
    #[error("the local LFS object of {path} is damaged: {detail}. Nothing of it was pushed, and the push stopped before any ref moved. Write the file again and commit it (or copy the object from another clone), then push.")]
    DamagedLocalObject { path: String, detail: String },

    /// A pointer names a clean/smudge extension (`ext-0-gzip ...`): its object holds the
    /// extension's output, not the file, and hfgit runs no extensions. The pointer was left as it is.
    #[error("{path} is a Git LFS pointer with the extension {extension:?}, which hfgit does not run: writing its object would put the extension's output, not the file, in the work tree. Nothing was written for it. To get the other files, clone with lfs=False and then run Repository.lfs_pull(exclude=[{path:?}]) (in an existing clone, just that lfs_pull); to get this one, check it out with git-lfs and that extension configured.")]
    UnsupportedExtension { path: String, extension: String },

    /// Objects the server does not have and this repository cannot upload: not in the store.
    #[error("Cannot push: the Git LFS objects of these files are neither on the server nor in .git/lfs/objects: {}. Fetch them (lfs_pull) or re-add the files, then push again.", paths.join(", "))]
    ObjectMissingLocally { paths: Vec<String> },

    /// The LFS server refused the token, or wants one and none was given (401/403 on the batch or
    /// verify endpoint). `message` is the server's own explanation, already redacted.
    #[error("Git LFS authentication failed: {message}. Check that the token is valid and may access this repository (pass token=... or set HF_TOKEN).")]
    Authentication { message: String },

    /// The LFS server knows the token but refuses this request (403 on the batch or verify
    /// endpoint): a read token uploading, or no access to this repository.
    #[error("Git LFS refused the request: {message}. The token may not do this on this repository (a read token cannot upload to a branch).")]
    Forbidden { message: String },

    /// The batch API answered with an error for one object (404 missing, 410 gone, 422 invalid...).
    #[error("The LFS server refused {path} (sha256:{oid}): error {code}: {message}")]
    ObjectRejected {
        path: String,
        oid: Oid256,
        code: i64,
        message: String,
    },

    /// An HTTP error status from the batch endpoint, storage, verify or completion, after retries.
    #[error("The LFS server answered {status} while {during}: {message}")]
    Server {
        status: u16,
        during: String,
        message: String,
    },

    /// The connection failed, broke or timed out, after retries.
    #[error("Network error while {during}: {detail}. Check your connection and try again.")]
    Network { during: String, detail: String },

    /// The proxy refused the request (403 on a tunnel, 407), or could not be reached, after
    /// retries. `proxy` is `scheme://host:port`, never with credentials; `detail` says what to do.
    #[error("Proxy error at {proxy}: {detail}")]
    Proxy { proxy: String, detail: String },

    /// The server kept answering 429 longer than hfgit may wait (`HFGIT_RATE_LIMIT_MAX_WAIT`).
    /// `retry_after` is what the server asked to wait, when it said.
    #[error("Rate limited by the Hub while {during}: {detail}")]
    RateLimited {
        during: String,
        retry_after: Option<std::time::Duration>,
        detail: String,
    },

    /// A setting from the environment (a timeout, the rate-limit cap) that cannot be used.
    #[error("Invalid setting: {detail}")]
    InvalidSetting { detail: String },

    /// TLS could not be set up, or the server's certificate is not trusted.
    #[error("Certificate error while {during}: {detail}. If you are behind a proxy with its own CA, point SSL_CERT_FILE or REQUESTS_CA_BUNDLE at its certificate bundle.")]
    Certificate { during: String, detail: String },

    /// A CA bundle named by `REQUESTS_CA_BUNDLE` or `SSL_CERT_FILE` cannot be used.
    #[error("CA bundle {} (from REQUESTS_CA_BUNDLE or SSL_CERT_FILE) cannot be used: {detail}", path.display())]
    CaBundle { path: PathBuf, detail: String },

    /// The server's answer does not follow the Git LFS protocol.
    #[error("Unexpected answer from the LFS server: {detail}")]
    Protocol { detail: String },

    /// The remote is not one Git LFS can talk to over HTTP.
    #[error("Git LFS needs an http:// or https:// remote, not {url}")]
    UnsupportedRemote { url: String },

    /// A git-lfs setting (`lfs.url`, `remote.<name>.lfsurl`, ...) names an LFS endpoint that is not
    /// an `http(s)://` URL; hfgit speaks to LFS servers over HTTP only.
    #[error("Git LFS endpoint {url:?} (from {setting}) is not an http:// or https:// URL, and hfgit speaks to LFS servers over HTTP only. Set {setting} to an https:// URL, or to an empty value in git config to use the remote's own LFS endpoint.")]
    UnsupportedEndpoint { setting: String, url: String },

    /// A token would travel in clear text to a host other than this machine.
    #[error("Refusing to send a token over plain http:// to {host} for Git LFS: use https://, or no token for anonymous access")]
    InsecureTransport { host: String },

    /// The monitor asked the transfer to stop.
    #[error("Git LFS transfer cancelled")]
    Cancelled,

    /// A local file-system failure under `.git/lfs/` or on the file being cleaned.
    #[error("I/O error while {context}: {source}")]
    Io {
        context: String,
        /// The file or directory involved, when there is one (Python's `OSError.filename`).
        path: Option<PathBuf>,
        #[source]
        source: std::io::Error,
    },
}

impl LfsError {
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            context: context.into(),
            path: None,
            source,
        }
    }

    /// An I/O failure on `path`, which the message and Python's `OSError.filename` name.
    pub fn io_at(what: &str, path: &std::path::Path, source: std::io::Error) -> Self {
        Self::Io {
            context: format!("{what} {}", path.display()),
            path: Some(path.to_path_buf()),
            source,
        }
    }
}

impl From<crate::net::InvalidSetting> for LfsError {
    fn from(setting: crate::net::InvalidSetting) -> Self {
        Self::InvalidSetting {
            detail: setting.detail,
        }
    }
}

impl From<crate::net::proxy::ProxyProblem> for LfsError {
    fn from(problem: crate::net::proxy::ProxyProblem) -> Self {
        Self::Proxy {
            proxy: problem.proxy,
            detail: problem.detail,
        }
    }
}
