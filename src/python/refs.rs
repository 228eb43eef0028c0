//! Branches, tags, fetch and checkout: argument conversion, then the core op off the GIL. Listing
//! and creating refs is quick and local (the GIL is released, nothing more); anything that may
//! download or talk to the remote goes through [`run_blocking`] for progress and Ctrl-C.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use super::args::{path, token_request};
use super::blocking::run_blocking;
use crate::repo::branches::{self as branch_ops, DeleteBranchRequest};
use crate::repo::fetch::{fetch as fetch_refs, FetchRequest};
use crate::repo::switch::{self, CheckoutPrRequest, CheckoutRequest};
use crate::repo::tags::{self as tag_ops, TagRemoteRequest};

pub fn register(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_function(wrap_pyfunction!(branches, module)?)?;
    module.add_function(wrap_pyfunction!(create_branch, module)?)?;
    module.add_function(wrap_pyfunction!(delete_branch, module)?)?;
    module.add_function(wrap_pyfunction!(tags, module)?)?;
    module.add_function(wrap_pyfunction!(create_tag, module)?)?;
    module.add_function(wrap_pyfunction!(delete_tag, module)?)?;
    module.add_function(wrap_pyfunction!(push_tag, module)?)?;
    module.add_function(wrap_pyfunction!(fetch, module)?)?;
    module.add_function(wrap_pyfunction!(checkout, module)?)?;
    module.add_function(wrap_pyfunction!(checkout_pr, module)?)?;
    Ok(())
}

type BranchRow = (String, String, bool, bool, Option<String>);

/// `[(name, commit, remote, current, upstream), ...]`: local branches, then remote-tracking ones.
#[pyfunction]
fn branches(py: Python<'_>, local_dir: &Bound<'_, PyAny>) -> PyResult<Vec<BranchRow>> {
    let local_dir = path(local_dir, "local_dir")?;
    let found = py.detach(move || branch_ops::branches(&local_dir))?;
    Ok(found
        .into_iter()
        .map(|b| {
            (
                b.name,
                b.commit.to_string(),
                b.remote,
                b.current,
                b.upstream,
            )
        })
        .collect())
}

/// Create a branch; returns its commit id.
#[pyfunction]
#[pyo3(signature = (local_dir, name, *, revision=None, exist_ok=false))]
fn create_branch(
    py: Python<'_>,
    local_dir: &Bound<'_, PyAny>,
    name: String,
    revision: Option<String>,
    exist_ok: bool,
) -> PyResult<String> {
    let local_dir = path(local_dir, "local_dir")?;
    let id = py.detach(move || {
        branch_ops::create_branch(&local_dir, &name, revision.as_deref(), exist_ok)
    })?;
    Ok(id.to_string())
}

/// Delete a branch (and with `remote`, on the remote first); returns `(local, remote)`: the
/// commits the deleted branches pointed at, `None` where there was none.
#[pyfunction]
#[pyo3(signature = (local_dir, name, *, remote=false, force=false, token=None, progress=None))]
#[allow(clippy::too_many_arguments)]
fn delete_branch(
    py: Python<'_>,
    local_dir: &Bound<'_, PyAny>,
    name: String,
    remote: bool,
    force: bool,
    token: Option<&Bound<'_, PyAny>>,
    progress: Option<&Bound<'_, PyAny>>,
) -> PyResult<(Option<String>, Option<String>)> {
    let request = DeleteBranchRequest {
        local_dir: path(local_dir, "local_dir")?,
        name,
        remote,
        force,
        token: token_request(token)?,
        remote_name: "origin".to_owned(),
    };
    let deleted = run_blocking(py, progress, move |monitor| {
        branch_ops::delete_branch(request, monitor)
    })?;
    Ok((
        deleted.local.map(|id| id.to_string()),
        deleted.remote.map(|id| id.to_string()),
    ))
}

type TagRow = (String, String, bool, Option<String>);

/// `[(name, commit, annotated, message), ...]`, sorted by name.
#[pyfunction]
fn tags(py: Python<'_>, local_dir: &Bound<'_, PyAny>) -> PyResult<Vec<TagRow>> {
    let local_dir = path(local_dir, "local_dir")?;
    let found = py.detach(move || tag_ops::tags(&local_dir))?;
    Ok(found
        .into_iter()
        .map(|t| (t.name, t.commit.to_string(), t.annotated, t.message))
        .collect())
}

/// Create a tag (annotated when `message` is given); returns the tagged commit's id.
#[pyfunction]
#[pyo3(signature = (local_dir, name, *, revision=None, message=None, exist_ok=false))]
fn create_tag(
    py: Python<'_>,
    local_dir: &Bound<'_, PyAny>,
    name: String,
    revision: Option<String>,
    message: Option<String>,
    exist_ok: bool,
) -> PyResult<String> {
    let local_dir = path(local_dir, "local_dir")?;
    let id = py.detach(move || {
        tag_ops::create_tag(
            &local_dir,
            &name,
            revision.as_deref(),
            message.as_deref(),
            exist_ok,
        )
    })?;
    Ok(id.to_string())
}

/// Delete a tag (and with `remote`, on the remote first); returns whether the remote had it.
#[pyfunction]
#[pyo3(signature = (local_dir, name, *, remote=false, token=None, progress=None))]
fn delete_tag(
    py: Python<'_>,
    local_dir: &Bound<'_, PyAny>,
    name: String,
    remote: bool,
    token: Option<&Bound<'_, PyAny>>,
    progress: Option<&Bound<'_, PyAny>>,
) -> PyResult<bool> {
    let request = TagRemoteRequest {
        local_dir: path(local_dir, "local_dir")?,
        name,
        token: token_request(token)?,
        remote_name: "origin".to_owned(),
        force: false,
        lfs_concurrency: 8,
    };
    run_blocking(py, progress, move |monitor| {
        tag_ops::delete_tag(request, remote, monitor)
    })
}

/// Push one tag, its LFS objects first; returns a dict shaped like `push()`'s.
#[pyfunction]
#[pyo3(signature = (local_dir, name, *, token=None, remote="origin", force=false, progress=None, lfs_concurrency=8))]
#[allow(clippy::too_many_arguments)]
fn push_tag<'py>(
    py: Python<'py>,
    local_dir: &Bound<'py, PyAny>,
    name: String,
    token: Option<&Bound<'py, PyAny>>,
    remote: &str,
    force: bool,
    progress: Option<&Bound<'py, PyAny>>,
    lfs_concurrency: usize,
) -> PyResult<Bound<'py, PyDict>> {
    let request = TagRemoteRequest {
        local_dir: path(local_dir, "local_dir")?,
        name,
        token: token_request(token)?,
        remote_name: remote.to_owned(),
        force,
        lfs_concurrency,
    };
    let pushed = run_blocking(py, progress, move |monitor| {
        tag_ops::push_tag(request, monitor)
    })?;
    let updates = PyList::empty(py);
    updates.append((
        pushed.reference,
        pushed.old.map(|id| id.to_string()),
        pushed.new.to_string(),
    ))?;
    let result = PyDict::new(py);
    result.set_item("remote_url", pushed.remote_url)?;
    result.set_item("updates", updates)?;
    result.set_item("lfs_objects", pushed.lfs_objects)?;
    result.set_item("lfs_bytes", pushed.lfs_bytes)?;
    result.set_item("rebased", PyList::empty(py))?;
    Ok(result)
}

type FetchedRow = (String, Option<String>, Option<String>);

/// Fetch branches and tags; returns `(remote_url, [(ref, old, new), ...])` for the refs that
/// changed (`old` `None`: new; `new` `None`: pruned).
#[pyfunction]
#[pyo3(signature = (local_dir, *, token=None, remote="origin", prune=false, progress=None))]
fn fetch(
    py: Python<'_>,
    local_dir: &Bound<'_, PyAny>,
    token: Option<&Bound<'_, PyAny>>,
    remote: &str,
    prune: bool,
    progress: Option<&Bound<'_, PyAny>>,
) -> PyResult<(String, Vec<FetchedRow>)> {
    let request = FetchRequest {
        local_dir: path(local_dir, "local_dir")?,
        token: token_request(token)?,
        remote_name: remote.to_owned(),
        prune,
    };
    let outcome = run_blocking(py, progress, move |monitor| fetch_refs(request, monitor))?;
    let rows = outcome
        .updates
        .into_iter()
        .map(|u| {
            (
                u.name,
                u.old.map(|id| id.to_string()),
                u.new.map(|id| id.to_string()),
            )
        })
        .collect();
    Ok((outcome.remote_url, rows))
}

/// Check out a branch, tag or commit; returns `(branch or None, head or None)`.
#[pyfunction]
#[pyo3(signature = (local_dir, revision, *, create=false, token=None, remote="origin", progress=None, lfs_concurrency=8))]
#[allow(clippy::too_many_arguments)]
fn checkout(
    py: Python<'_>,
    local_dir: &Bound<'_, PyAny>,
    revision: String,
    create: bool,
    token: Option<&Bound<'_, PyAny>>,
    remote: &str,
    progress: Option<&Bound<'_, PyAny>>,
    lfs_concurrency: usize,
) -> PyResult<(Option<String>, Option<String>)> {
    let request = CheckoutRequest {
        local_dir: path(local_dir, "local_dir")?,
        revision,
        create,
        token: token_request(token)?,
        remote_name: remote.to_owned(),
        lfs_concurrency,
    };
    let done = run_blocking(py, progress, move |monitor| {
        switch::checkout(request, monitor)
    })?;
    Ok((done.branch, done.head.map(|id| id.to_string())))
}

/// Fetch Hub pull request `num` and check it out on branch `pr/<num>`; returns
/// `(branch, head)`.
#[pyfunction]
#[pyo3(signature = (local_dir, num, *, token=None, remote="origin", progress=None, lfs_concurrency=8))]
fn checkout_pr(
    py: Python<'_>,
    local_dir: &Bound<'_, PyAny>,
    num: u64,
    token: Option<&Bound<'_, PyAny>>,
    remote: &str,
    progress: Option<&Bound<'_, PyAny>>,
    lfs_concurrency: usize,
) -> PyResult<(Option<String>, Option<String>)> {
    let request = CheckoutPrRequest {
        local_dir: path(local_dir, "local_dir")?,
        number: num,
        token: token_request(token)?,
        remote_name: remote.to_owned(),
        lfs_concurrency,
    };
    let done = run_blocking(py, progress, move |monitor| {
        switch::checkout_pr(request, monitor)
    })?;
    Ok((done.branch, done.head.map(|id| id.to_string())))
}
