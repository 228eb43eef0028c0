//! `Repository.restore(paths)`: put files back as they were, as `git restore` does, Git LFS
//! files included; the undo for "I overwrote config.json" or "I deleted the tokenizer".
//!
//! Without a revision, the files come back from the index, like `git restore <paths>`: since
//! `commit()` stages what it commits, that is the last commit's version unless something was
//! staged with git. With a revision, the files and their index entries both come back from it,
//! like `git restore --source=<rev> --staged --worktree <paths>` (or `git checkout <rev> --
//! <paths>`): `revision="HEAD"` also drops what was staged. A path the source does not have but
//! the index tracks is deleted, as git deletes it; untracked files are never touched.
//!
//! Paths are read as `commit(paths=...)` reads them (a path that exists is itself and what is
//! below it, anything else is a glob). A path that matches nothing in the source or the index
//! raises [`HfGitError::PathspecNoMatchIn`] before anything changes. LFS files get their
//! content, not their pointer: objects missing from the store are downloaded first (a failed
//! download changes nothing), following git-lfs's settings as a checkout does.

use std::collections::BTreeSet;
use std::path::PathBuf;

use git2::{Repository, Tree};

use super::advance::LfsFollow;
use super::checkout::checkout_with_progress;
use super::lock::{lock_index, IndexStamp};
use super::pathspec::Pathspecs;
use super::revision::{resolve_commit, RemoteForLfs};
use crate::auth::TokenRequest;
use crate::error::{HfGitError, Result};
use crate::progress::{Monitor, Phase};

pub struct RestoreRequest {
    pub local_dir: PathBuf,
    pub paths: Vec<PathBuf>,
    /// `None`: from the index; else from this revision, index entries included.
    pub revision: Option<String>,
    /// For downloading the Git LFS objects the restored files need.
    pub token: TokenRequest,
    pub remote_name: String,
    pub lfs_concurrency: usize,
}

/// Restore the files; returns the paths written or deleted, sorted.
pub fn restore(request: RestoreRequest, monitor: &Monitor) -> Result<Vec<String>> {
    if request.paths.is_empty() {
        return Err(HfGitError::invalid(
            "paths=[] names no file to restore; pass the files to put back (\".\" for all)",
        ));
    }
    let repo = super::open_work_tree(&request.local_dir)?;
    let workdir = repo
        .workdir()
        .ok_or_else(|| HfGitError::NotARepository {
            path: request.local_dir.clone(),
        })?
        .to_path_buf();
    let _index = lock_index(&repo)?;
    let mut stamp = IndexStamp::read(&repo)?;
    let mut index = repo.index()?;
    let pathspecs = Pathspecs::new(&workdir, &index, &request.paths)?;
    let (source, source_name) = match &request.revision {
        Some(revision) => (resolve_commit(&repo, revision)?.tree()?, revision.clone()),
        None => (index_tree(&repo, &mut index)?, "the index".to_owned()),
    };
    let mut known = tree_paths(&source)?;
    known.extend(index.iter().filter_map(|e| String::from_utf8(e.path).ok()));
    let matched: BTreeSet<String> = known
        .into_iter()
        .filter(|path| pathspecs.matches(path))
        .collect();
    // Each path must name something tracked: an untracked file exists on disk, but there is
    // nothing to restore it from (and libgit2 reads an empty path list as "every path").
    let mut unmatched = Vec::new();
    for path in &request.paths {
        let single = Pathspecs::new(&workdir, &index, std::slice::from_ref(path))?;
        if !matched.iter().any(|known| single.matches(known)) {
            unmatched.push(path.display().to_string());
        }
    }
    if !unmatched.is_empty() || matched.is_empty() {
        return Err(HfGitError::PathspecNoMatchIn {
            specs: unmatched,
            restored_from: source_name,
        });
    }

    let lfs = RemoteForLfs::find(&repo, &request.remote_name, request.token);
    let follow = LfsFollow::prepare(
        &repo,
        lfs.as_ref().map(|lfs| lfs.source(request.lfs_concurrency)),
        monitor,
    )?;
    if follow.finished_pending {
        stamp = IndexStamp::read(&repo)?;
    }
    follow.fetch(&repo, &source, &matched, monitor)?;
    stamp.ensure_unchanged(&repo)?;
    let mut checkout = checkout_with_progress(monitor);
    checkout.force().disable_pathspec_match(true);
    for path in &matched {
        checkout.path(path);
    }
    match request.revision {
        Some(_) => repo.checkout_tree(source.as_object(), Some(&mut checkout))?,
        None => repo.checkout_index(None, Some(&mut checkout))?,
    }
    drop(checkout);
    follow.smudge(&repo, &matched, monitor)?;
    monitor.report(Phase::Done, 1, 1, monitor.snapshot().bytes);
    Ok(matched.into_iter().collect())
}

/// The index as a tree (its tree objects are written to the object database, as `git
/// write-tree` writes them), for reading pointers from.
fn index_tree<'r>(repo: &'r Repository, index: &mut git2::Index) -> Result<Tree<'r>> {
    if index.has_conflicts() {
        return Err(HfGitError::invalid(
            "the index has unresolved merge conflicts; resolve them with git first, or restore \
             from a commit with revision=",
        ));
    }
    let id = index.write_tree()?;
    Ok(repo.find_tree(id)?)
}

/// Every file path of `tree`.
fn tree_paths(tree: &Tree<'_>) -> Result<BTreeSet<String>> {
    let mut paths = BTreeSet::new();
    tree.walk(git2::TreeWalkMode::PreOrder, |dir, entry| {
        if entry.kind() != Some(git2::ObjectType::Tree) {
            if let Ok(name) = entry.name() {
                paths.insert(format!("{dir}{name}"));
            }
        }
        git2::TreeWalkResult::Ok
    })?;
    Ok(paths)
}
