//! `submit()`'s snapshot of a work tree, and the commit that consumes it (for `CheckpointPusher`).

use std::sync::{Arc, Mutex};

use pyo3::prelude::*;

use super::args::{path, paths};
use super::blocking::run_blocking;
use crate::error::HfGitError;
use crate::repo::commit::{commit_snapshot as commit_recorded, CommitRequest};
use crate::repo::snapshot::{take_snapshot, CopyKind, Snapshot};

pub fn register(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_class::<PySnapshot>()?;
    module.add_function(wrap_pyfunction!(snapshot, module)?)?;
    module.add_function(wrap_pyfunction!(commit_snapshot, module)?)?;
    Ok(())
}

/// The changed files of a work tree at one instant; consumed by `commit_snapshot`.
#[pyclass(module = "hfgit._native", name = "Snapshot", frozen)]
pub struct PySnapshot {
    inner: Arc<Mutex<Option<Snapshot>>>,
    #[pyo3(get)]
    paths: Vec<String>,
    #[pyo3(get)]
    deleted: Vec<String>,
    /// `(path, "reflink" | "hardlink" | "none")` per recorded file.
    #[pyo3(get)]
    copies: Vec<(String, &'static str)>,
    /// Bytes of the recorded files.
    #[pyo3(get)]
    size: u64,
}

#[pymethods]
impl PySnapshot {
    /// Drop the snapshot's links and clones now (a commit consumes them itself).
    fn release(&self) {
        if let Ok(mut inner) = self.inner.lock() {
            inner.take();
        }
    }

    fn __repr__(&self) -> String {
        format!(
            "Snapshot(paths={:?}, deleted={:?}, size={})",
            self.paths, self.deleted, self.size
        )
    }
}

/// Record the files under `paths` (all if None) that differ from the index, without copying them.
#[pyfunction]
#[pyo3(signature = (local_dir, paths=None))]
fn snapshot(
    py: Python<'_>,
    local_dir: &Bound<'_, PyAny>,
    paths: Option<&Bound<'_, PyAny>>,
) -> PyResult<PySnapshot> {
    let local_dir = path(local_dir, "local_dir")?;
    let paths = self::paths(paths)?;
    let taken = py.detach(move || take_snapshot(&local_dir, paths.as_deref()))?;
    let copies = taken
        .entries
        .iter()
        .map(|entry| {
            let kind = match entry.copy.as_ref().map(|copy| copy.kind) {
                Some(CopyKind::Reflink) => "reflink",
                Some(CopyKind::HardLink) => "hardlink",
                None => "none",
            };
            (entry.path.clone(), kind)
        })
        .collect();
    Ok(PySnapshot {
        paths: taken.entries.iter().map(|e| e.path.clone()).collect(),
        deleted: taken.deleted.clone(),
        size: taken.size(),
        copies,
        inner: Arc::new(Mutex::new(Some(taken))),
    })
}

/// Commit exactly what `snapshot` recorded; returns the commit id. A commit that succeeds
/// consumes the snapshot; one that fails leaves it for another try.
#[pyfunction]
#[pyo3(signature = (local_dir, snapshot, message, *, author=None, lfs_auto_track=true, progress=None))]
fn commit_snapshot(
    py: Python<'_>,
    local_dir: &Bound<'_, PyAny>,
    snapshot: &PySnapshot,
    message: String,
    author: Option<String>,
    lfs_auto_track: bool,
    progress: Option<&Bound<'_, PyAny>>,
) -> PyResult<String> {
    let inner = Arc::clone(&snapshot.inner);
    let request = CommitRequest {
        local_dir: path(local_dir, "local_dir")?,
        message,
        paths: None,
        author,
        allow_empty: false,
        lfs_auto_track,
    };
    let id = run_blocking(py, progress, move |monitor| {
        let mut held = inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let Some(taken) = held.as_mut() else {
            return Err(HfGitError::invalid(
                "this snapshot was already committed or released",
            ));
        };
        let id = commit_recorded(request, taken, monitor)?;
        held.take();
        Ok(id)
    })?;
    Ok(id.to_string())
}
