//! `clone`, `commit`, `push`, `pull`, `lfs_pull` and `lfs_prune`: argument conversion, then the
//! core op off the GIL.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use super::args::{path, paths, token_request};
use super::blocking::run_blocking;
use crate::hub::parse_remote;
use crate::lfs::Pointer;
use crate::repo::clone::{clone_repo, default_local_dir, CloneRequest, LfsSelection};
use crate::repo::commit::{commit as commit_work_tree, CommitRequest};
use crate::repo::lfs_prune::{lfs_prune as prune_lfs_store, LfsPruneRequest};
use crate::repo::lfs_pull::{lfs_pull as pull_lfs_objects, LfsPullRequest};
use crate::repo::pull::{pull as pull_branch, PullRequest};
use crate::repo::pull_request::PullRequestTarget;
use crate::repo::push::{push as push_branch, PushRequest};

pub fn register(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_function(wrap_pyfunction!(clone, module)?)?;
    module.add_function(wrap_pyfunction!(commit, module)?)?;
    module.add_function(wrap_pyfunction!(push, module)?)?;
    module.add_function(wrap_pyfunction!(pull, module)?)?;
    module.add_function(wrap_pyfunction!(lfs_pull, module)?)?;
    module.add_function(wrap_pyfunction!(lfs_prune, module)?)?;
    Ok(())
}

/// Clone `repo` into `local_dir`; returns the work tree's path.
#[pyfunction]
#[pyo3(signature = (repo, local_dir=None, *, token=None, repo_type=None, revision=None, depth=None, endpoint=None, progress=None, lfs=None, lfs_concurrency=8))]
#[allow(clippy::too_many_arguments)]
fn clone(
    py: Python<'_>,
    repo: &str,
    local_dir: Option<&Bound<'_, PyAny>>,
    token: Option<&Bound<'_, PyAny>>,
    repo_type: Option<&str>,
    revision: Option<String>,
    depth: Option<u32>,
    endpoint: Option<&str>,
    progress: Option<&Bound<'_, PyAny>>,
    lfs: Option<&Bound<'_, PyAny>>,
    lfs_concurrency: usize,
) -> PyResult<String> {
    let lfs = lfs_selection(lfs)?;
    let remote = parse_remote(repo, repo_type, endpoint, std::env::var("HF_ENDPOINT").ok())?;
    let local_dir = match local_dir.filter(|d| !d.is_none()) {
        Some(dir) => path(dir, "local_dir")?,
        None => default_local_dir(&std::env::current_dir()?, &remote),
    };
    let request = CloneRequest {
        remote,
        token: token_request(token)?,
        local_dir,
        revision: revision.filter(|r| !r.is_empty()),
        depth,
        lfs,
        lfs_concurrency,
    };
    let cloned = run_blocking(py, progress, move |monitor| clone_repo(request, monitor))?;
    Ok(cloned.to_string_lossy().into_owned())
}

/// Stage every change (or only `paths`) and commit; returns the commit id.
#[pyfunction]
#[pyo3(signature = (local_dir, message, *, paths=None, author=None, allow_empty=false, lfs_auto_track=true, progress=None))]
#[allow(clippy::too_many_arguments)]
fn commit(
    py: Python<'_>,
    local_dir: &Bound<'_, PyAny>,
    message: String,
    paths: Option<&Bound<'_, PyAny>>,
    author: Option<String>,
    allow_empty: bool,
    lfs_auto_track: bool,
    progress: Option<&Bound<'_, PyAny>>,
) -> PyResult<String> {
    let request = CommitRequest {
        local_dir: path(local_dir, "local_dir")?,
        message,
        paths: self::paths(paths)?,
        author,
        allow_empty,
        lfs_auto_track,
    };
    let id = run_blocking(py, progress, move |monitor| {
        commit_work_tree(request, monitor)
    })?;
    Ok(id.to_string())
}

/// Push the current branch (or to a pull request); returns `{"remote_url": str, "updates":
/// [(ref, old, new), ...], "lfs_objects": int, "lfs_bytes": int, "rebased": [(old, new or
/// None), ...], "pr_num": int | None, "pr_url": str | None}`.
#[pyfunction]
#[pyo3(signature = (local_dir, *, token=None, remote="origin", branch=None, force=false, progress=None, lfs_concurrency=8, rebase=false, create_pr=false, pr_title=None, pr_description=None, pr=None))]
#[allow(clippy::too_many_arguments)]
fn push<'py>(
    py: Python<'py>,
    local_dir: &Bound<'py, PyAny>,
    token: Option<&Bound<'py, PyAny>>,
    remote: &str,
    branch: Option<String>,
    force: bool,
    progress: Option<&Bound<'py, PyAny>>,
    lfs_concurrency: usize,
    rebase: bool,
    create_pr: bool,
    pr_title: Option<String>,
    pr_description: Option<String>,
    pr: Option<u64>,
) -> PyResult<Bound<'py, PyDict>> {
    let pull_request = match (create_pr, pr) {
        (true, Some(_)) => {
            return Err(crate::HfGitError::invalid(
                "create_pr=True opens a new pull request and pr= names an existing one: pass one of them",
            )
            .into())
        }
        (true, None) => Some(PullRequestTarget::Open {
            title: pr_title,
            description: pr_description,
        }),
        (false, Some(num)) if num > 0 => Some(PullRequestTarget::Existing(num)),
        (false, Some(num)) => {
            return Err(crate::HfGitError::invalid(format!(
                "pr= is a pull request number (1 or more), got {num}"
            ))
            .into())
        }
        (false, None) if pr_title.is_some() || pr_description.is_some() => {
            return Err(crate::HfGitError::invalid(
                "pr_title= and pr_description= only apply with create_pr=True",
            )
            .into())
        }
        (false, None) => None,
    };
    let request = PushRequest {
        local_dir: path(local_dir, "local_dir")?,
        token: token_request(token)?,
        remote_name: remote.to_owned(),
        branch,
        force,
        rebase,
        lfs_concurrency,
        pull_request,
    };
    let outcome = run_blocking(py, progress, move |monitor| push_branch(request, monitor))?;
    let updates = PyList::empty(py);
    for update in outcome.updates {
        updates.append((
            update.reference,
            update.old.map(|o| o.to_string()),
            update.new.to_string(),
        ))?;
    }
    let result = PyDict::new(py);
    result.set_item("remote_url", outcome.remote_url)?;
    result.set_item("updates", updates)?;
    result.set_item("lfs_objects", outcome.lfs_objects)?;
    result.set_item("lfs_bytes", outcome.lfs_bytes)?;
    result.set_item("rebased", rebased_pairs(&outcome.rebased))?;
    result.set_item("pr_num", outcome.pull_request.as_ref().map(|pr| pr.num))?;
    result.set_item("pr_url", outcome.pull_request.map(|pr| pr.url))?;
    Ok(result)
}

/// Fetch and fast-forward (or with `rebase`, rebase) the current branch; returns
/// `(old_head, new_head, [(rebased_old, rebased_new or None), ...])`.
#[pyfunction]
#[pyo3(signature = (local_dir, *, token=None, remote="origin", progress=None, rebase=false))]
#[allow(clippy::type_complexity)]
fn pull(
    py: Python<'_>,
    local_dir: &Bound<'_, PyAny>,
    token: Option<&Bound<'_, PyAny>>,
    remote: &str,
    progress: Option<&Bound<'_, PyAny>>,
    rebase: bool,
) -> PyResult<(String, String, Vec<(String, Option<String>)>)> {
    let request = PullRequest {
        local_dir: path(local_dir, "local_dir")?,
        token: token_request(token)?,
        remote_name: remote.to_owned(),
        rebase,
    };
    let outcome = run_blocking(py, progress, move |monitor| pull_branch(request, monitor))?;
    Ok((
        outcome.old_head.to_string(),
        outcome.new_head.to_string(),
        rebased_pairs(&outcome.rebased),
    ))
}

/// `(old, new)` commit ids of a rebase, `new` `None` for a dropped commit.
fn rebased_pairs(rebased: &[(git2::Oid, Option<git2::Oid>)]) -> Vec<(String, Option<String>)> {
    rebased
        .iter()
        .map(|(old, new)| (old.to_string(), new.map(|id| id.to_string())))
        .collect()
}

/// Download LFS files left as pointers; returns `(objects_downloaded, bytes)`.
#[pyfunction]
#[pyo3(signature = (local_dir, *, include=None, exclude=None, token=None, remote="origin", progress=None, lfs_concurrency=8))]
#[allow(clippy::too_many_arguments)]
fn lfs_pull(
    py: Python<'_>,
    local_dir: &Bound<'_, PyAny>,
    include: Option<Vec<String>>,
    exclude: Option<Vec<String>>,
    token: Option<&Bound<'_, PyAny>>,
    remote: &str,
    progress: Option<&Bound<'_, PyAny>>,
    lfs_concurrency: usize,
) -> PyResult<(usize, u64)> {
    let request = LfsPullRequest {
        local_dir: path(local_dir, "local_dir")?,
        token: token_request(token)?,
        remote_name: remote.to_owned(),
        include,
        exclude,
        concurrency: lfs_concurrency,
    };
    let summary = run_blocking(py, progress, move |monitor| {
        pull_lfs_objects(request, monitor)
    })?;
    Ok((summary.transferred, summary.bytes))
}

/// Remove the LFS objects the remote has and nothing local needs; returns `{"removed", "kept",
/// "unverified": [(oid, size), ...], "dry_run": bool}`.
#[pyfunction]
#[pyo3(signature = (local_dir, *, remote="origin", dry_run=false, verify_remote=false, token=None, progress=None))]
#[allow(clippy::too_many_arguments)]
fn lfs_prune<'py>(
    py: Python<'py>,
    local_dir: &Bound<'py, PyAny>,
    remote: &str,
    dry_run: bool,
    verify_remote: bool,
    token: Option<&Bound<'py, PyAny>>,
    progress: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let request = LfsPruneRequest {
        local_dir: path(local_dir, "local_dir")?,
        remote_name: remote.to_owned(),
        dry_run,
        verify_remote,
        token: token_request(token)?,
    };
    let outcome = run_blocking(py, progress, move |monitor| {
        prune_lfs_store(request, monitor)
    })?;
    let listed = |pointers: &[Pointer]| -> Vec<(String, u64)> {
        pointers
            .iter()
            .map(|pointer| (pointer.oid.to_hex(), pointer.size))
            .collect()
    };
    let result = PyDict::new(py);
    result.set_item("removed", listed(&outcome.removed))?;
    result.set_item("kept", listed(&outcome.kept))?;
    result.set_item("unverified", listed(&outcome.unverified))?;
    result.set_item("dry_run", outcome.dry_run)?;
    Ok(result)
}

/// `lfs=None` → what git-lfs's settings say, `True` → everything, `False` → nothing, a list of
/// patterns → only those.
pub(super) fn lfs_selection(lfs: Option<&Bound<'_, PyAny>>) -> PyResult<LfsSelection> {
    let Some(lfs) = lfs.filter(|v| !v.is_none()) else {
        return Ok(LfsSelection::Settings);
    };
    if let Ok(flag) = lfs.cast::<pyo3::types::PyBool>() {
        return Ok(if flag.is_true() {
            LfsSelection::All
        } else {
            LfsSelection::Nothing
        });
    }
    if lfs.extract::<String>().is_ok() {
        return Err(pyo3::exceptions::PyTypeError::new_err(
            "lfs must be True, False or a list of patterns (wrap a single pattern in a list)",
        ));
    }
    let patterns: Vec<String> = lfs.extract().map_err(|_| {
        pyo3::exceptions::PyTypeError::new_err("lfs must be True, False or a list of patterns")
    })?;
    Ok(LfsSelection::Matching(patterns))
}
