//! Getting a work tree without a fresh clone: `init` (an existing folder becomes one) and the
//! check that lets `clone()` reopen a clone of the same remote when a notebook cell runs again.

use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::args::{path, token_request};
use super::blocking::run_blocking;
use super::operations::lfs_selection;
use crate::hub::parse_remote;
use crate::repo::clone::default_local_dir;
use crate::repo::init::{init as init_folder, InitRequest};
use crate::repo::reopen::{reopen_clone, ReopenRequest};

pub fn register(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_function(wrap_pyfunction!(init, module)?)?;
    module.add_function(wrap_pyfunction!(open_existing_clone, module)?)?;
    Ok(())
}

/// Make `local_dir` a work tree of `repo`; returns `{"path", "branch", "head", "written",
/// "reopened"}`.
#[pyfunction]
#[pyo3(signature = (local_dir, repo, *, token=None, repo_type=None, revision=None, endpoint=None, progress=None, lfs=None, lfs_concurrency=8))]
#[allow(clippy::too_many_arguments)]
fn init<'py>(
    py: Python<'py>,
    local_dir: &Bound<'py, PyAny>,
    repo: &str,
    token: Option<&Bound<'py, PyAny>>,
    repo_type: Option<&str>,
    revision: Option<String>,
    endpoint: Option<&str>,
    progress: Option<&Bound<'py, PyAny>>,
    lfs: Option<&Bound<'py, PyAny>>,
    lfs_concurrency: usize,
) -> PyResult<Bound<'py, PyDict>> {
    let request = InitRequest {
        remote: parse_remote(repo, repo_type, endpoint, std::env::var("HF_ENDPOINT").ok())?,
        token: token_request(token)?,
        local_dir: path(local_dir, "local_dir")?,
        revision: revision.filter(|r| !r.is_empty()),
        lfs: lfs_selection(lfs)?,
        lfs_concurrency,
    };
    let done = run_blocking(py, progress, move |monitor| init_folder(request, monitor))?;
    let result = PyDict::new(py);
    result.set_item("path", done.path.to_string_lossy())?;
    result.set_item("branch", done.branch)?;
    result.set_item("head", done.head.map(|id| id.to_string()))?;
    result.set_item("written", done.written)?;
    result.set_item("reopened", done.reopened)?;
    Ok(result)
}

/// The path of `local_dir` (default: the repo's name here) when it already holds a finished
/// clone of `repo`, pulled if asked; `None` when a clone should go ahead.
#[pyfunction]
#[pyo3(signature = (repo, local_dir=None, *, token=None, repo_type=None, revision=None, endpoint=None, pull=false, progress=None))]
#[allow(clippy::too_many_arguments)]
fn open_existing_clone(
    py: Python<'_>,
    repo: &str,
    local_dir: Option<&Bound<'_, PyAny>>,
    token: Option<&Bound<'_, PyAny>>,
    repo_type: Option<&str>,
    revision: Option<String>,
    endpoint: Option<&str>,
    pull: bool,
    progress: Option<&Bound<'_, PyAny>>,
) -> PyResult<Option<String>> {
    let remote = parse_remote(repo, repo_type, endpoint, std::env::var("HF_ENDPOINT").ok())?;
    let local_dir = match local_dir.filter(|d| !d.is_none()) {
        Some(dir) => path(dir, "local_dir")?,
        None => default_local_dir(&std::env::current_dir()?, &remote),
    };
    let request = ReopenRequest {
        remote,
        local_dir,
        token: token_request(token)?,
        revision: revision.filter(|r| !r.is_empty()),
        pull,
    };
    let opened = run_blocking(py, progress, move |monitor| reopen_clone(request, monitor))?;
    Ok(opened.map(|p| p.to_string_lossy().into_owned()))
}
