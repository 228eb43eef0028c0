//! Moving the checked-out branch to another commit with the work tree following: the second half
//! of every pull, whether it fast-forwards or lands on the tip of a rebase.
//!
//! The steps run in an order that leaves everything as it was when one fails:
//! 1. files the move would rewrite that hold uncommitted changes (staged, unstaged, or untracked
//!    files in the way) are refused with [`HfGitError::LocalChanges`], naming them, as
//!    `git pull` refuses them; uncommitted changes elsewhere are kept as they are;
//! 2. the Git LFS objects of the pointers the move brings, those git-lfs's settings select, are
//!    downloaded into `.git/lfs/objects`, so a network failure stops here;
//! 3. libgit2's safe checkout rewrites the changed files and their index entries (and would
//!    itself refuse a file modified since step 1);
//! 4. the branch moves, only if it still points where the checkout started (a compare-and-swap
//!    against git or anything else that does not know hfgit's locks);
//! 5. the pointers among the files the checkout wrote are replaced by their content from the
//!    store, as git-lfs's smudge filter would (see [`crate::lfs::checkout`]); LFS files left as
//!    pointers on purpose elsewhere (`clone(lfs=False)`, an include list) stay pointers.
//!
//! The caller holds the index lock ([`super::lock::lock_index`]) for all of it.
//!
//! Step 5 can be cut short (Ctrl-C, a kill) after the branch moved: the work tree then holds
//! pointer text where a model file belongs, and nothing looks wrong (the index matches the
//! pointers, a second pull is "up to date"). So the paths a checkout is about to write are
//! recorded in `.git/hfgit-lfs-pending` before step 3 and struck off once written out; the next
//! call that moves the work tree (pull, checkout, reset, restore) writes out what is still
//! recorded before anything else.

use std::collections::BTreeSet;
use std::fs;
use std::path::PathBuf;

use git2::{Oid, Repository};
use secrecy::SecretString;
use url::Url;

use super::checkout::{checkout_with_progress, lfs_checkout_filter};
use super::rebase::changed_paths;
use super::status::status_while_index_locked;
use crate::error::{HfGitError, Result};
use crate::lfs::checkout::{
    fetch_objects_for_checkout, smudge_checked_out_files, write_empty_files,
};
use crate::lfs::config::{LfsConfig, Operation};
use crate::lfs::endpoint::LfsEndpoint;
use crate::lfs::path_filter::PathFilter;
use crate::lfs::transfer::TransferConfig;
use crate::progress::Monitor;

/// Where the LFS objects of the new commits come from.
pub struct LfsSource<'a> {
    pub remote_name: &'a str,
    /// The git remote's URL, free of credentials; the LFS endpoint is found from it and from
    /// git-lfs's settings.
    pub remote_url: &'a Url,
    pub token: Option<SecretString>,
    /// How many LFS transfers may run at once.
    pub concurrency: usize,
}

/// Move `local_ref` (the checked-out branch) from `from` to `to`, the index and work tree
/// following; `reflog` is the reflog message. See the module docs for the steps.
pub fn advance_branch(
    repo: &Repository,
    local_ref: &str,
    from: Oid,
    to: Oid,
    lfs: LfsSource<'_>,
    reflog: &str,
    monitor: &Monitor,
) -> Result<()> {
    let old = repo.find_commit(from)?;
    let new = repo.find_commit(to)?;
    let changed = changed_paths(repo, &old.tree()?, &new.tree()?)?;
    refuse_local_changes(repo, &changed, "the remote's new commits change")?;

    let follow = LfsFollow::prepare(repo, Some(lfs), monitor)?;
    follow.fetch(repo, &new.tree()?, &changed, monitor)?;

    let mut checkout = checkout_with_progress(monitor);
    repo.checkout_tree(new.as_object(), Some(&mut checkout))?;
    drop(checkout);
    if let Err(err) = repo.reference_matching(local_ref, to, true, from, reflog) {
        // Someone moved the branch meanwhile: put back the files this call rewrote.
        put_back(repo, &old, &changed, &follow, monitor);
        return Err(err.into());
    }
    follow.smudge(repo, &changed, monitor)
}

/// Check the files at `paths` out of `old` again, forcibly, smudging LFS ones: the undo of a
/// checkout whose ref update then failed. Best effort: the error that made it necessary is the
/// one reported.
pub(super) fn put_back(
    repo: &Repository,
    old: &git2::Commit<'_>,
    paths: &BTreeSet<String>,
    follow: &LfsFollow,
    monitor: &Monitor,
) {
    if paths.is_empty() {
        // libgit2 reads an empty path list as every path: a forced checkout of the whole tree
        // would discard uncommitted changes this call never touched.
        return;
    }
    let mut back = checkout_with_progress(monitor);
    back.force();
    paths.iter().for_each(|path| {
        back.path(path);
    });
    let _ = repo.checkout_tree(old.as_object(), Some(&mut back));
    let _ = follow.smudge(repo, paths, monitor);
}

/// The Git LFS half of a checkout, as git-lfs's smudge filter would do it: which files it writes
/// out (git-lfs's settings), from which server, with the objects downloaded before any file
/// changes ([`Self::fetch`]) and written over their pointers after ([`Self::smudge`]).
pub(super) struct LfsFollow {
    /// `None`: no LFS file is downloaded (`GIT_LFS_SKIP_SMUDGE`, or no remote to ask).
    download: Option<(PathFilter, LfsEndpoint)>,
    config: TransferConfig,
    /// Whether [`Self::prepare`] wrote out files an interrupted checkout had left as pointers
    /// (the index changed then: a caller holding an [`super::lock::IndexStamp`] reads it again).
    pub(super) finished_pending: bool,
}

impl LfsFollow {
    /// Read git-lfs's settings and find the server; `lfs` is `None` when the repository has no
    /// remote to download from (LFS files whose objects are not in the store stay pointers).
    pub(super) fn prepare(
        repo: &Repository,
        lfs: Option<LfsSource<'_>>,
        monitor: &Monitor,
    ) -> Result<Self> {
        let settings = LfsConfig::load(repo)?;
        let concurrency = lfs.as_ref().map_or(8, |lfs| lfs.concurrency);
        let download = match (lfs, lfs_checkout_filter(&settings, monitor)) {
            (Some(lfs), Some(filter)) => Some((
                filter,
                LfsEndpoint::resolve(
                    &settings,
                    lfs.remote_name,
                    lfs.remote_url,
                    lfs.token,
                    Operation::Download,
                    monitor,
                )?,
            )),
            _ => None,
        };
        let mut follow = Self {
            download,
            config: TransferConfig {
                concurrency: concurrency.max(1),
                ..TransferConfig::default()
            },
            finished_pending: false,
        };
        follow.finished_pending = follow.finish_pending(repo, monitor)?;
        Ok(follow)
    }

    /// Write out the LFS files an interrupted checkout left as pointers (see the module docs).
    /// Without downloads (`GIT_LFS_SKIP_SMUDGE`, no remote) the record is kept for later.
    /// Returns whether there was anything to write.
    fn finish_pending(&self, repo: &Repository, monitor: &Monitor) -> Result<bool> {
        let pending = read_pending(repo);
        if pending.is_empty() || self.download.is_none() {
            return Ok(false);
        }
        let head = match repo.head().ok().and_then(|head| head.peel_to_tree().ok()) {
            Some(tree) => tree,
            None => return write_pending(repo, &BTreeSet::new()).map(|()| false),
        };
        self.fetch(repo, &head, &pending, monitor)?;
        self.smudge(repo, &pending, monitor)?;
        Ok(true)
    }

    /// Download the objects of the LFS pointers `tree` has at `paths` that the settings select
    /// and the store lacks, before anything is checked out: a failed download changes nothing.
    pub(super) fn fetch<'p>(
        &self,
        repo: &Repository,
        tree: &git2::Tree<'_>,
        paths: impl IntoIterator<Item = &'p String>,
        monitor: &Monitor,
    ) -> Result<()> {
        if let Some((filter, endpoint)) = &self.download {
            let paths: Vec<&String> = paths.into_iter().collect();
            let mut pending = read_pending(repo);
            let before = pending.len();
            pending.extend(paths.iter().map(|path| (*path).clone()));
            if pending.len() != before {
                write_pending(repo, &pending)?;
            }
            fetch_objects_for_checkout(
                repo,
                tree,
                paths,
                &endpoint.url,
                endpoint.token.clone(),
                filter,
                &self.config,
                monitor,
            )?;
        }
        Ok(())
    }

    /// Replace the pointers a checkout just wrote at `paths` with their content, then write the
    /// empty LFS files (they need no download, and git-lfs writes them empty whatever it skips).
    pub(super) fn smudge(
        &self,
        repo: &Repository,
        paths: &BTreeSet<String>,
        monitor: &Monitor,
    ) -> Result<()> {
        if let Some((filter, endpoint)) = &self.download {
            smudge_checked_out_files(
                repo,
                paths,
                &endpoint.url,
                endpoint.token.clone(),
                filter,
                &self.config,
                monitor,
            )?;
            let mut pending = read_pending(repo);
            let before = pending.len();
            pending.retain(|path| !paths.contains(path));
            if pending.len() != before {
                write_pending(repo, &pending)?;
            }
        }
        write_empty_files(repo)
    }
}

fn pending_path(repo: &Repository) -> PathBuf {
    repo.path().join("hfgit-lfs-pending")
}

/// The recorded paths (one per line); none when there is no record or it cannot be read.
pub(super) fn read_pending(repo: &Repository) -> BTreeSet<String> {
    fs::read_to_string(pending_path(repo))
        .map(|text| {
            text.lines()
                .filter(|line| !line.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// Replace the record with `paths` (removing it when empty), through a rename so that a kill
/// leaves the old record or the new one, never half of one.
fn write_pending(repo: &Repository, paths: &BTreeSet<String>) -> Result<()> {
    let path = pending_path(repo);
    if paths.is_empty() {
        return match fs::remove_file(&path) {
            Err(err) if err.kind() != std::io::ErrorKind::NotFound => {
                Err(HfGitError::io_at("removing", &path, err))
            }
            _ => Ok(()),
        };
    }
    let staged = repo.path().join("hfgit-lfs-pending.tmp");
    let mut text = String::new();
    for line in paths {
        text.push_str(line);
        text.push('\n');
    }
    fs::write(&staged, text).map_err(|e| HfGitError::io_at("writing", &staged, e))?;
    fs::rename(&staged, &path).map_err(|e| HfGitError::io_at("writing", &path, e))
}

/// Refuse when a file the move rewrites has uncommitted changes, or an untracked file is where
/// the move puts one; `what` starts the message ("the remote's new commits change"). LFS files
/// are judged by the pointer their content cleans to, as `git status` with git-lfs judges them.
pub(super) fn refuse_local_changes(
    repo: &Repository,
    changed: &BTreeSet<String>,
    what: &str,
) -> Result<()> {
    if changed.is_empty() {
        return Ok(());
    }
    let blocked: Vec<String> = status_while_index_locked(repo)?
        .into_iter()
        .filter(|entry| changed.contains(&entry.path))
        .map(|entry| format!("{} ({})", entry.path, entry.kind.as_str()))
        .collect();
    if blocked.is_empty() {
        return Ok(());
    }
    Err(HfGitError::LocalChanges {
        detail: format!(
            "{what} {}, which {} uncommitted changes here; nothing was changed",
            blocked.join(", "),
            if blocked.len() == 1 { "has" } else { "have" }
        ),
    })
}
