//! The one mapping from [`HfGitError`] to the Python exception hierarchy in `hfgit.exceptions`.
//!
//! The classes are defined in Python so they can inherit from built-ins as well as `HfGitError`
//! (`AuthenticationError` is also a `PermissionError`, `NetworkError` a `ConnectionError`, ...),
//! letting plain `except PermissionError:` code keep working.

use pyo3::exceptions::{PyKeyboardInterrupt, PyRuntimeError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyModule};

use crate::auth::redact::redact_text;
use crate::error::HfGitError;
use crate::lfs::LfsError;

static EXCEPTIONS: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

/// The name of the Python class an error maps to.
pub fn class_name(err: &HfGitError) -> &'static str {
    match err {
        HfGitError::Authentication { .. } => "AuthenticationError",
        HfGitError::RepositoryNotFound { .. } => "RepositoryNotFoundError",
        HfGitError::RevisionNotFound { .. } => "RevisionNotFoundError",
        HfGitError::PushRejected { .. } => "PushRejectedError",
        HfGitError::Network { .. } => "NetworkError",
        HfGitError::Proxy { .. } => "ProxyError",
        HfGitError::RateLimited { .. } => "RateLimitedError",
        HfGitError::Certificate { .. } => "CertificateError",
        HfGitError::NothingToCommit { .. } => "NothingToCommitError",
        HfGitError::NotARepository { .. } => "NotARepositoryError",
        HfGitError::DirectoryNotEmpty { .. } => "DirectoryNotEmptyError",
        HfGitError::DetachedHead { .. } => "DetachedHeadError",
        HfGitError::Diverged { .. } | HfGitError::RebaseConflict { .. } => "DivergedError",
        HfGitError::LocalChanges { .. } => "LocalChangesError",
        HfGitError::InsecureTransport { .. } => "InsecureTransportError",
        HfGitError::InvalidInput(_) => "InvalidArgumentError",
        HfGitError::PathIgnored { .. } => "IgnoredPathError",
        HfGitError::PathspecNoMatch { .. } | HfGitError::PathspecNoMatchIn { .. } => {
            "PathspecError"
        }
        HfGitError::LfsNotDownloaded { .. } => "LfsObjectMissingError",
        HfGitError::CloneInterrupted { .. } | HfGitError::InitInterrupted { .. } => {
            "CloneInterruptedError"
        }
        HfGitError::OtherRepository { .. } => "DirectoryNotEmptyError",
        HfGitError::RevisionExists { .. } => "RevisionExistsError",
        HfGitError::BranchCheckedOut { .. } => "BranchCheckedOutError",
        HfGitError::UnmergedBranch { .. } => "UnmergedBranchError",
        HfGitError::EntryNotFound { .. } => "EntryNotFoundError",
        HfGitError::RepositoryLocked { .. } | HfGitError::ConcurrentChange { .. } => {
            "RepositoryLockedError"
        }
        HfGitError::NestedRepository { .. } => "NestedRepositoryError",
        HfGitError::SnapshotOverwritten { .. } => "SnapshotOverwrittenError",
        HfGitError::Io { .. } => "LocalIOError",
        HfGitError::LfsUntracked { .. } => "LfsTrackingError",
        HfGitError::RepositoryExists { .. } => "RepositoryExistsError",
        HfGitError::WriteForbidden { .. } => "WritePermissionError",
        HfGitError::PullRequestNotFound { .. } => "PullRequestNotFoundError",
        HfGitError::PullRequestForbidden { .. } => "PullRequestForbiddenError",
        HfGitError::Offline { .. } => "OfflineModeError",
        HfGitError::Lfs(lfs) => lfs_class_name(lfs),
        HfGitError::Cancelled | HfGitError::Git(_) => "HfGitError",
    }
}

fn lfs_class_name(err: &LfsError) -> &'static str {
    match err {
        LfsError::ObjectMismatch { .. } | LfsError::DamagedLocalObject { .. } => {
            "LfsVerificationError"
        }
        LfsError::FileChanged { .. } => "LfsFileChangedError",
        LfsError::Io { .. } => "LfsStoreError",
        LfsError::Authentication { .. } | LfsError::Forbidden { .. } => "AuthenticationError",
        LfsError::InsecureTransport { .. } => "InsecureTransportError",
        LfsError::Certificate { .. } | LfsError::CaBundle { .. } => "CertificateError",
        LfsError::ObjectRejected { .. } => "LfsObjectRejectedError",
        LfsError::UnsupportedExtension { .. } => "LfsExtensionError",
        LfsError::ObjectMissingLocally { .. } => "LfsObjectMissingError",
        LfsError::Server { .. } | LfsError::Network { .. } | LfsError::Protocol { .. } => {
            "LfsTransferError"
        }
        LfsError::Proxy { .. } => "ProxyError",
        LfsError::RateLimited { .. } => "RateLimitedError",
        LfsError::InvalidSetting { .. } => "InvalidArgumentError",
        _ => "LfsError",
    }
}

pub fn to_py_err(err: HfGitError) -> PyErr {
    Python::attach(|py| build(py, err))
}

fn build(py: Python<'_>, err: HfGitError) -> PyErr {
    if matches!(
        err,
        HfGitError::Cancelled | HfGitError::Lfs(LfsError::Cancelled)
    ) {
        return PyKeyboardInterrupt::new_err("hfgit operation interrupted");
    }
    let message = redact_text(&err.to_string());
    let attempt = || -> PyResult<PyErr> {
        let module =
            EXCEPTIONS.get_or_try_init(py, || py.import("hfgit.exceptions").map(Bound::unbind))?;
        let class = module.bind(py).getattr(class_name(&err))?;
        let kwargs = PyDict::new(py);
        match &err {
            HfGitError::PushRejected { reference, reason } => {
                kwargs.set_item("ref", reference)?;
                kwargs.set_item("reason", redact_text(reason))?;
            }
            HfGitError::RevisionNotFound { revision, .. } => {
                kwargs.set_item("revision", revision)?
            }
            HfGitError::PullRequestNotFound { num, .. } => {
                kwargs.set_item("revision", format!("refs/pr/{num}"))?;
                kwargs.set_item("num", num)?;
            }
            HfGitError::WriteForbidden {
                reference, reason, ..
            } => {
                kwargs.set_item("ref", reference)?;
                kwargs.set_item("reason", redact_text(reason))?;
            }
            HfGitError::Io { source, path, .. }
            | HfGitError::Lfs(LfsError::Io { source, path, .. }) => {
                if let Some(code) = source.raw_os_error() {
                    kwargs.set_item("errno", code)?;
                }
                if let Some(path) = path {
                    kwargs.set_item("filename", path.to_string_lossy().as_ref())?;
                }
            }
            HfGitError::RevisionExists { name, .. } => kwargs.set_item("revision", name)?,
            HfGitError::EntryNotFound { path, revision } => {
                kwargs.set_item("path", path)?;
                kwargs.set_item("revision", revision)?;
            }
            HfGitError::RebaseConflict { paths, .. } => {
                kwargs.set_item("paths", paths.clone())?;
            }
            HfGitError::RepositoryLocked { path, .. } => {
                kwargs.set_item("filename", path.to_string_lossy().as_ref())?;
            }
            HfGitError::Proxy { proxy, .. } | HfGitError::Lfs(LfsError::Proxy { proxy, .. }) => {
                kwargs.set_item("proxy", redact_text(proxy))?;
            }
            HfGitError::RateLimited { retry_after, .. }
            | HfGitError::Lfs(LfsError::RateLimited { retry_after, .. }) => {
                kwargs.set_item("retry_after", retry_after.map(|wait| wait.as_secs_f64()))?;
            }
            _ => {}
        }
        let instance = class.call((message.clone(),), Some(&kwargs))?;
        Ok(PyErr::from_value(instance))
    };
    attempt().unwrap_or_else(|_| PyRuntimeError::new_err(message))
}

impl From<HfGitError> for PyErr {
    fn from(err: HfGitError) -> Self {
        to_py_err(err)
    }
}
