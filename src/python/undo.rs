//! Undo and inspect: reset, restore, diff, show, and the Hub's commit page. `reset` and `restore`
//! may download Git LFS objects, so they go through [`run_blocking`]; the others read local data
//! with the GIL released.

use pyo3::prelude::*;
use pyo3::types::PyBytes;

use super::args::{path, paths, token_request};
use super::blocking::run_blocking;
use crate::repo::diff::{diff as diff_text, DiffRequest};
use crate::repo::reset::{reset as reset_head, ResetMode, ResetRequest};
use crate::repo::restore::{restore as restore_files, RestoreRequest};
use crate::repo::show::{is_text, show as show_file};
use crate::repo::{open_work_tree, revision};

pub fn register(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_function(wrap_pyfunction!(reset, module)?)?;
    module.add_function(wrap_pyfunction!(restore, module)?)?;
    module.add_function(wrap_pyfunction!(diff, module)?)?;
    module.add_function(wrap_pyfunction!(show, module)?)?;
    module.add_function(wrap_pyfunction!(commit_url, module)?)?;
    module.add_function(wrap_pyfunction!(hub_commit_url, module)?)?;
    Ok(())
}

/// Move HEAD (and with `mode`, the index and work tree) to `revision`; returns `(old, new)`.
#[pyfunction]
#[pyo3(signature = (local_dir, revision="HEAD", *, mode="mixed", token=None, progress=None, lfs_concurrency=8))]
#[allow(clippy::too_many_arguments)]
fn reset(
    py: Python<'_>,
    local_dir: &Bound<'_, PyAny>,
    revision: &str,
    mode: &str,
    token: Option<&Bound<'_, PyAny>>,
    progress: Option<&Bound<'_, PyAny>>,
    lfs_concurrency: usize,
) -> PyResult<(String, String)> {
    let request = ResetRequest {
        local_dir: path(local_dir, "local_dir")?,
        revision: revision.to_owned(),
        mode: ResetMode::parse(mode)?,
        token: token_request(token)?,
        remote_name: "origin".to_owned(),
        lfs_concurrency,
    };
    let (old, new) = run_blocking(py, progress, move |monitor| reset_head(request, monitor))?;
    Ok((old.to_string(), new.to_string()))
}

/// Put files back from the index (or `revision`); returns the paths restored.
#[pyfunction]
#[pyo3(signature = (local_dir, paths, *, revision=None, token=None, progress=None, lfs_concurrency=8))]
fn restore(
    py: Python<'_>,
    local_dir: &Bound<'_, PyAny>,
    paths: &Bound<'_, PyAny>,
    revision: Option<String>,
    token: Option<&Bound<'_, PyAny>>,
    progress: Option<&Bound<'_, PyAny>>,
    lfs_concurrency: usize,
) -> PyResult<Vec<String>> {
    let request = RestoreRequest {
        local_dir: path(local_dir, "local_dir")?,
        paths: self::paths(Some(paths))?.unwrap_or_default(),
        revision,
        token: token_request(token)?,
        remote_name: "origin".to_owned(),
        lfs_concurrency,
    };
    run_blocking(py, progress, move |monitor| restore_files(request, monitor))
}

/// The unified diff from `revision` (default HEAD) to `other` (default the work tree).
#[pyfunction]
#[pyo3(signature = (local_dir, revision=None, other=None, *, paths=None, context=3))]
fn diff(
    py: Python<'_>,
    local_dir: &Bound<'_, PyAny>,
    revision: Option<String>,
    other: Option<String>,
    paths: Option<&Bound<'_, PyAny>>,
    context: u32,
) -> PyResult<String> {
    let request = DiffRequest {
        local_dir: path(local_dir, "local_dir")?,
        revision,
        other,
        paths: self::paths(paths)?,
        context,
    };
    Ok(py.detach(move || diff_text(request))?)
}

/// `path`'s content at `revision`: `str` for text, `bytes` otherwise.
#[pyfunction]
#[pyo3(signature = (local_dir, path, revision="HEAD"))]
fn show(
    py: Python<'_>,
    local_dir: &Bound<'_, PyAny>,
    path: String,
    revision: &str,
) -> PyResult<Py<PyAny>> {
    let local_dir = self::path(local_dir, "local_dir")?;
    let revision = revision.to_owned();
    let content = py.detach(move || show_file(&local_dir, &path, &revision))?;
    if is_text(&content) {
        let text = String::from_utf8(content).unwrap_or_default();
        Ok(text.into_pyobject(py)?.into_any().unbind())
    } else {
        Ok(PyBytes::new(py, &content).into_any().unbind())
    }
}

/// The Hub page of the commit `revision` names (default HEAD), from `origin`'s URL.
#[pyfunction]
#[pyo3(signature = (local_dir, revision=None))]
fn commit_url(
    py: Python<'_>,
    local_dir: &Bound<'_, PyAny>,
    revision: Option<String>,
) -> PyResult<String> {
    let local_dir = path(local_dir, "local_dir")?;
    Ok(py.detach(move || -> crate::Result<String> {
        let repo = open_work_tree(&local_dir)?;
        let sha = revision::resolve_commit(&repo, revision.as_deref().unwrap_or("HEAD"))?.id();
        let remote = repo
            .find_remote("origin")
            .ok()
            .and_then(|r| r.url().ok().map(str::to_owned))
            .ok_or_else(|| {
                crate::HfGitError::invalid("the repository has no remote named \"origin\"")
            })?;
        crate::hub::commit_url(&remote, &sha.to_string())
    })?)
}

/// The Hub page of commit `sha` of the repo whose git URL is `remote_url`.
#[pyfunction]
fn hub_commit_url(remote_url: &str, sha: &str) -> PyResult<String> {
    Ok(crate::hub::commit_url(remote_url, sha)?)
}
