//! Read-only views of a work tree: status, log and a summary, returned as plain Python values.

use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::args::path;
use crate::repo::{history, info, status};

pub fn register(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_function(wrap_pyfunction!(repo_info, module)?)?;
    module.add_function(wrap_pyfunction!(status_entries, module)?)?;
    module.add_function(wrap_pyfunction!(log, module)?)?;
    Ok(())
}

/// `{"path", "head", "branch", "remote_url", "interrupted_clone"}` of the work tree at `local_dir`.
#[pyfunction]
fn repo_info<'py>(py: Python<'py>, local_dir: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyDict>> {
    let local_dir = path(local_dir, "local_dir")?;
    let info = py.detach(move || info::info(&local_dir))?;
    let result = PyDict::new(py);
    result.set_item("path", info.path.to_string_lossy())?;
    result.set_item("head", info.head)?;
    result.set_item("branch", info.branch)?;
    result.set_item("remote_url", info.remote_url)?;
    result.set_item("interrupted_clone", info.interrupted_clone)?;
    Ok(result)
}

/// `[(path, kind, staged, lfs), ...]` for every changed path.
#[pyfunction]
fn status_entries(
    py: Python<'_>,
    local_dir: &Bound<'_, PyAny>,
) -> PyResult<Vec<(String, String, bool, bool)>> {
    let local_dir = path(local_dir, "local_dir")?;
    let entries = py.detach(move || status::status(&local_dir))?;
    Ok(entries
        .into_iter()
        .map(|e| (e.path, e.kind.as_str().to_owned(), e.staged, e.lfs))
        .collect())
}

/// Commits from HEAD, newest first, as dicts.
#[pyfunction]
#[pyo3(signature = (local_dir, limit=None))]
fn log<'py>(
    py: Python<'py>,
    local_dir: &Bound<'py, PyAny>,
    limit: Option<usize>,
) -> PyResult<Vec<Bound<'py, PyDict>>> {
    let local_dir = path(local_dir, "local_dir")?;
    let commits = py.detach(move || history::log(&local_dir, limit))?;
    commits
        .into_iter()
        .map(|c| {
            let d = PyDict::new(py);
            d.set_item("id", c.id)?;
            d.set_item("message", c.message)?;
            d.set_item("author_name", c.author_name)?;
            d.set_item("author_email", c.author_email)?;
            d.set_item("timestamp", c.timestamp)?;
            d.set_item("parents", c.parents)?;
            Ok(d)
        })
        .collect()
}
