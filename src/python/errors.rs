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
        HfGitError::PathspecNoMatch { .. } => "PathspecError",
        HfGitError::CloneInterrupted { .. } => "CloneInterruptedError",
        HfGitError::RepositoryLocked { .. } | HfGitError::ConcurrentChange { .. } => {
            "RepositoryLockedError"
        }
        HfGitError::NestedRepository { .. } => "NestedRepositoryError",
        HfGitError::SnapshotOverwritten { .. } => "SnapshotOverwrittenError",
        HfGitError::Io { .. } => "LocalIOError",
        HfGitError::LfsUntracked { .. } => "LfsTrackingError",
        HfGitError::Lfs(lfs) => lfs_class_name(lfs),
        HfGitError::Cancelled | HfGitError::Git(_) => "HfGitError",
    }
}

fn lfs_class_name(err: &LfsError) -> &'static str {
    match err {
        LfsError::ObjectMismatch { .. } => "LfsVerificationError",
        LfsError::FileChanged { .. } => "LfsFileChangedError",
        LfsError::Io { .. } => "LfsStoreError",
        LfsError::Authentication { .. } => "AuthenticationError",
        LfsError::InsecureTransport { .. } => "InsecureTransportError",
        LfsError::Certificate { .. } | LfsError::CaBundle { .. } => "CertificateError",
        LfsError::ObjectRejected { .. } => "LfsObjectRejectedError",
        LfsError::UnsupportedExtension { .. } => "LfsExtensionError",
        LfsError::ObjectMissingLocally { .. } => "LfsObjectMissingError",
        LfsError::InvalidSetting { .. } => "InvalidArgumentError",
        LfsError::Server { .. } | LfsError::Network { .. } | LfsError::Protocol { .. } => {
            "LfsTransferError"
        }
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
            HfGitError::Io { source, path, .. }
            | HfGitError::Lfs(LfsError::Io { source, path, .. }) => {
                if let Some(code) = source.raw_os_error() {
                    kwargs.set_item("errno", code)?;
                }
                if let Some(path) = path {
                    kwargs.set_item("filename", path.to_string_lossy().as_ref())?;
                }
            }
            HfGitError::RebaseConflict { paths, .. } => {
                kwargs.set_item("paths", paths.clone())?;
            }
            HfGitError::RepositoryLocked { path, .. } => {
                kwargs.set_item("filename", path.to_string_lossy().as_ref())?;
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
