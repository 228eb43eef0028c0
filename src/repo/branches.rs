//! Listing, creating and deleting branches, local and on the remote, as `git branch` does.
//!
//! An experiment in a notebook often wants a branch of its own ("try a lower learning rate, keep
//! main as it is"), and a Hub repo's branches are where such runs live. Creating a branch only
//! writes a ref, so it needs no lock; a branch made from a remote-tracking branch
//! (`origin/dev`) tracks it, as git's `branch.autoSetupMerge` default does.
//!
//! Deleting is where work gets lost, so it is careful: the checked-out branch is refused
//! ([`HfGitError::BranchCheckedOut`]), and so is a branch whose commits no remaining ref would
//! reach (local branches, tags, remote-tracking branches, HEAD), unless `force` says so
//! ([`HfGitError::UnmergedBranch`]; `git branch -d` refuses the same way). With `remote=True` the
//! branch is deleted on the server first, under the push lock, and only then locally, so a
//! refused or failed remote deletion leaves everything as it was.

use std::path::PathBuf;

use git2::{BranchType, Oid, Repository};

use super::lock::lock_pushes;
use super::remote_refs::{update_remote_ref, Decision};
use super::revision::{check_ref_name, current_branch, head_commit, resolve_commit};
use super::upstream::remote_spec;
use crate::auth::{resolve_token, ProcessEnv, TokenRequest};
use crate::error::{HfGitError, Result};
use crate::progress::{Monitor, Phase};

/// One branch: local (`main`) or remote-tracking (`origin/main`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BranchInfo {
    /// `main` for a local branch, `origin/main` for a remote-tracking one.
    pub name: String,
    /// The commit it points at.
    pub commit: Oid,
    /// A remote-tracking branch (`refs/remotes/...`).
    pub remote: bool,
    /// The checked-out branch.
    pub current: bool,
    /// For a local branch, the remote-tracking branch it pulls from (`origin/main`), if set.
    pub upstream: Option<String>,
}

/// Every local branch, then every remote-tracking branch, each sorted by name.
pub fn branches(local_dir: &std::path::Path) -> Result<Vec<BranchInfo>> {
    let repo = super::open_work_tree(local_dir)?;
    let current = repo
        .head()
        .ok()
        .filter(|head| head.is_branch())
        .and_then(|head| head.shorthand().ok().map(str::to_owned));
    let mut found = Vec::new();
    for kind in [BranchType::Local, BranchType::Remote] {
        let mut of_kind = Vec::new();
        for entry in repo.branches(Some(kind))? {
            let (branch, _) = entry?;
            let reference = branch.get();
            // `origin/HEAD` names the remote's default branch; it is not a branch of its own.
            let Some(commit) = reference.target() else {
                continue;
            };
            let Some(name) = branch.name()?.map(str::to_owned) else {
                continue;
            };
            let upstream = match kind {
                BranchType::Local => branch
                    .upstream()
                    .ok()
                    .and_then(|up| up.name().ok().flatten().map(str::to_owned)),
                BranchType::Remote => None,
            };
            of_kind.push(BranchInfo {
                current: kind == BranchType::Local && current.as_deref() == Some(name.as_str()),
                remote: kind == BranchType::Remote,
                name,
                commit,
                upstream,
            });
        }
        of_kind.sort_by(|a, b| a.name.cmp(&b.name));
        found.extend(of_kind);
    }
    Ok(found)
}

/// Create branch `name` at `revision` (default: HEAD) without checking it out; returns its
/// commit. An existing branch is [`HfGitError::RevisionExists`], unless `exist_ok` (then it is
/// left where it is).
pub fn create_branch(
    local_dir: &std::path::Path,
    name: &str,
    revision: Option<&str>,
    exist_ok: bool,
) -> Result<Oid> {
    let repo = super::open_work_tree(local_dir)?;
    create_branch_in(&repo, name, revision, exist_ok)
}

pub(super) fn create_branch_in(
    repo: &Repository,
    name: &str,
    revision: Option<&str>,
    exist_ok: bool,
) -> Result<Oid> {
    check_ref_name("branch", name)?;
    if let Ok(existing) = repo.find_branch(name, BranchType::Local) {
        if exist_ok {
            if let Some(id) = existing.get().target() {
                return Ok(id);
            }
        }
        return Err(HfGitError::RevisionExists {
            kind: "branch",
            name: name.to_owned(),
        });
    }
    let commit = match revision {
        Some(revision) => resolve_commit(repo, revision)?,
        None => head_commit(repo)?.ok_or_else(|| {
            HfGitError::invalid(
                "the repository has no commits yet, so a branch has nowhere to start; commit \
                 first, or pass revision=",
            )
        })?,
    };
    let mut branch = repo.branch(name, &commit, false)?;
    // Started from a remote-tracking branch: track it, as git does by default.
    if let Some(revision) = revision {
        if let Ok((_, Some(reference))) = repo.revparse_ext(revision) {
            if reference.is_remote() {
                if let Ok(short) = reference.shorthand() {
                    branch.set_upstream(Some(short))?;
                }
            }
        }
    }
    Ok(commit.id())
}

pub struct DeleteBranchRequest {
    pub local_dir: PathBuf,
    pub name: String,
    /// Delete the branch on the remote too.
    pub remote: bool,
    /// Delete even when commits would be lost.
    pub force: bool,
    pub token: TokenRequest,
    pub remote_name: String,
}

/// What a deletion removed: the local branch's commit and the remote branch's, when each existed.
#[derive(Debug, Clone, Default)]
pub struct DeletedBranch {
    pub local: Option<Oid>,
    pub remote: Option<Oid>,
}

pub fn delete_branch(request: DeleteBranchRequest, monitor: &Monitor) -> Result<DeletedBranch> {
    let repo = super::open_work_tree(&request.local_dir)?;
    let name = request
        .name
        .strip_prefix("refs/heads/")
        .unwrap_or(&request.name);
    check_ref_name("branch", name)?;
    let local_ref = format!("refs/heads/{name}");
    let tracking_ref = format!("refs/remotes/{}/{name}", request.remote_name);
    if current_branch(&repo).as_deref() == Some(name) {
        return Err(HfGitError::BranchCheckedOut {
            name: name.to_owned(),
            path: request.local_dir.clone(),
        });
    }
    let local = repo.refname_to_id(&local_ref).ok();
    if local.is_none() && !request.remote {
        return Err(HfGitError::RevisionNotFound {
            revision: name.to_owned(),
            target: super::revision::work_tree_name(&repo),
        });
    }
    let mut doomed = vec![local_ref.clone()];
    if request.remote {
        doomed.push(tracking_ref.clone());
    }
    if !request.force {
        refuse_losing_commits(&repo, name, &doomed)?;
    }

    let mut deleted = DeletedBranch {
        local,
        remote: None,
    };
    if request.remote {
        let _pushes = lock_pushes(&repo, monitor)?;
        let spec = remote_spec(&repo, &request.remote_name)?;
        let token = resolve_token(request.token, spec.url_token.clone(), &ProcessEnv);
        let remote_branch = local_ref.clone();
        let sent = update_remote_ref(
            &repo,
            &spec.url,
            token,
            &remote_branch,
            |old| match old {
                Some(_) => Ok(Decision::Push(format!(":{remote_branch}"))),
                None if local.is_some() => Ok(Decision::Nothing),
                None => Err(HfGitError::RevisionNotFound {
                    revision: name.to_owned(),
                    target: spec.clean_url().to_owned(),
                }),
            },
            monitor,
        )?;
        if !sent.sent {
            monitor.notice(format!(
                "the remote has no branch '{name}', so only the local branch was deleted"
            ));
        }
        deleted.remote = sent.old;
        if let Ok(mut tracking) = repo.find_reference(&tracking_ref) {
            tracking.delete()?;
        }
    }
    if local.is_some() {
        repo.find_branch(name, BranchType::Local)?.delete()?;
    }
    monitor.report(Phase::Done, 1, 1, 0);
    Ok(deleted)
}

/// Refuse when deleting the refs `doomed` would leave commits that no other ref reaches.
fn refuse_losing_commits(repo: &Repository, name: &str, doomed: &[String]) -> Result<()> {
    let mut walk = repo.revwalk()?;
    let mut any = false;
    for reference in doomed {
        if let Ok(id) = repo.refname_to_id(reference) {
            walk.push(id)?;
            any = true;
        }
    }
    if !any {
        return Ok(());
    }
    for reference in repo.references()?.flatten() {
        let Ok(ref_name) = reference.name() else {
            continue;
        };
        if doomed.iter().any(|d| d == ref_name) || !reference_keeps_commits(ref_name) {
            continue;
        }
        if let Ok(commit) = reference.peel_to_commit() {
            let _ = walk.hide(commit.id());
        }
    }
    if let Some(head) = head_commit(repo)? {
        walk.hide(head.id())?;
    }
    let count = walk.count();
    if count == 0 {
        return Ok(());
    }
    Err(HfGitError::UnmergedBranch {
        name: name.to_owned(),
        count,
    })
}

/// Refs whose commits count as kept: branches, remote-tracking branches, tags.
fn reference_keeps_commits(name: &str) -> bool {
    ["refs/heads/", "refs/remotes/", "refs/tags/"]
        .iter()
        .any(|prefix| name.starts_with(prefix))
}
