//! `Repository.reset(revision, mode)`: move the checked-out branch (or a detached HEAD) to another
//! commit, as `git reset --soft / --mixed / --hard` does; the way to undo a commit that should not
//! have been made ("HEAD~1"), or to throw away local work and return to the Hub's state
//! ("origin/main", mode="hard").
//!
//! - `soft`: only the branch moves; the index and the work tree keep everything, so the undone
//!   commits' changes are staged, ready to be committed again.
//! - `mixed` (the default, as in git): the index follows too, so those changes are unstaged
//!   edits; the work tree is untouched. libgit2 keeps the stat data of index entries whose blob
//!   did not change, so large LFS files are not hashed again by the next `status()`.
//! - `hard`: the index and the tracked files follow, uncommitted changes to tracked files are
//!   discarded (untracked files are kept, as git keeps them). Git LFS files the reset writes are
//!   smudged as a checkout smudges them, and their objects are downloaded before anything moves.
//!
//! A revision that names nothing raises [`HfGitError::RevisionNotFound`] before anything
//! changes. Like git, the previous commit is kept in `ORIG_HEAD`, so `reset("ORIG_HEAD")` undoes
//! a reset. The index lock is held throughout.

use std::collections::BTreeSet;
use std::path::PathBuf;

use git2::{Oid, ResetType};

use super::advance::LfsFollow;
use super::checkout::checkout_with_progress;
use super::lock::{lock_index, IndexStamp};
use super::rebase::changed_paths;
use super::revision::{head_commit, resolve_commit, RemoteForLfs};
use super::status::{status_while_index_locked, ChangeKind};
use crate::auth::TokenRequest;
use crate::error::{HfGitError, Result};
use crate::progress::{Monitor, Phase};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetMode {
    Soft,
    Mixed,
    Hard,
}

impl ResetMode {
    pub fn parse(text: &str) -> Result<Self> {
        match text {
            "soft" => Ok(Self::Soft),
            "mixed" => Ok(Self::Mixed),
            "hard" => Ok(Self::Hard),
            other => Err(HfGitError::invalid(format!(
                "mode must be \"soft\", \"mixed\" or \"hard\", got {other:?}"
            ))),
        }
    }
}

pub struct ResetRequest {
    pub local_dir: PathBuf,
    pub revision: String,
    pub mode: ResetMode,
    /// For downloading the Git LFS objects a hard reset writes.
    pub token: TokenRequest,
    pub remote_name: String,
    pub lfs_concurrency: usize,
}

/// `(old_head, new_head)`.
pub fn reset(request: ResetRequest, monitor: &Monitor) -> Result<(Oid, Oid)> {
    let repo = super::open_work_tree(&request.local_dir)?;
    let _index = lock_index(&repo)?;
    let target = resolve_commit(&repo, &request.revision)?;
    let old = head_commit(&repo)?.ok_or_else(|| {
        HfGitError::invalid("the repository has no commits yet, so there is nothing to reset")
    })?;
    let reflog_target = request.revision.clone();

    let mut stamp = IndexStamp::read(&repo)?;
    match request.mode {
        ResetMode::Soft | ResetMode::Mixed => {
            stamp.ensure_unchanged(&repo)?;
            let kind = if request.mode == ResetMode::Soft {
                ResetType::Soft
            } else {
                ResetType::Mixed
            };
            repo.reset(target.as_object(), kind, None)?;
        }
        ResetMode::Hard => {
            // Everything the reset rewrites: what differs between the two commits, and every
            // tracked file with uncommitted changes (judged as git-lfs judges LFS files).
            let mut rewritten = changed_paths(&repo, &old.tree()?, &target.tree()?)?;
            let dirty: BTreeSet<String> = status_while_index_locked(&repo)?
                .into_iter()
                .filter(|entry| entry.kind != ChangeKind::Untracked)
                .map(|entry| entry.path)
                .collect();
            rewritten.extend(dirty);
            stamp = IndexStamp::read(&repo)?;
            let lfs = RemoteForLfs::find(&repo, &request.remote_name, request.token);
            let follow = LfsFollow::prepare(
                &repo,
                lfs.as_ref().map(|lfs| lfs.source(request.lfs_concurrency)),
                monitor,
            )?;
            if follow.finished_pending {
                stamp = IndexStamp::read(&repo)?;
            }
            follow.fetch(&repo, &target.tree()?, &rewritten, monitor)?;
            stamp.ensure_unchanged(&repo)?;
            let mut checkout = checkout_with_progress(monitor);
            checkout.force();
            repo.reset(target.as_object(), ResetType::Hard, Some(&mut checkout))?;
            drop(checkout);
            follow.smudge(&repo, &rewritten, monitor)?;
        }
    }
    // As git: the commit HEAD left, for `reset("ORIG_HEAD")`.
    let _ = repo.reference(
        "ORIG_HEAD",
        old.id(),
        true,
        &format!("reset: moving to {reflog_target}"),
    );
    monitor.report(Phase::Done, 1, 1, monitor.snapshot().bytes);
    Ok((old.id(), target.id()))
}
