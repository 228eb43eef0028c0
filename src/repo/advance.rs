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

use std::collections::BTreeSet;

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
    refuse_local_changes(repo, &changed)?;

    let settings = LfsConfig::load(repo)?;
    let download = match lfs_checkout_filter(&settings, monitor) {
        Some(filter) => Some((
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
        None => None,
    };
    let config = TransferConfig {
        concurrency: lfs.concurrency.max(1),
        ..TransferConfig::default()
    };
    if let Some((filter, endpoint)) = &download {
        fetch_objects_for_checkout(
            repo,
            &new.tree()?,
            &changed,
            &endpoint.url,
            endpoint.token.clone(),
            filter,
            &config,
            monitor,
        )?;
    }

    let mut checkout = checkout_with_progress(monitor);
    repo.checkout_tree(new.as_object(), Some(&mut checkout))?;
    drop(checkout);
    if let Err(err) = repo.reference_matching(local_ref, to, true, from, reflog) {
        // Someone moved the branch meanwhile: put back the files this call rewrote.
        let mut back = checkout_with_progress(monitor);
        back.force();
        changed.iter().for_each(|path| {
            back.path(path);
        });
        let _ = repo.checkout_tree(old.as_object(), Some(&mut back));
        if let Some((filter, endpoint)) = &download {
            let _ = smudge_checked_out_files(
                repo,
                &changed,
                &endpoint.url,
                endpoint.token.clone(),
                filter,
                &config,
                monitor,
            );
        }
        return Err(err.into());
    }
    if let Some((filter, endpoint)) = download {
        smudge_checked_out_files(
            repo,
            &changed,
            &endpoint.url,
            endpoint.token,
            &filter,
            &config,
            monitor,
        )?;
    }
    // Whatever was selected, an empty LFS file needs no download (git-lfs writes it empty too).
    write_empty_files(repo)?;
    Ok(())
}

/// Refuse when a file the move rewrites has uncommitted changes, or an untracked file is where
/// the move puts one. LFS files are judged by the pointer their content cleans to, as `git
/// status` with git-lfs judges them.
fn refuse_local_changes(repo: &Repository, changed: &BTreeSet<String>) -> Result<()> {
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
            "the remote's new commits change {}, which {} uncommitted changes here; nothing was \
             changed",
            blocked.join(", "),
            if blocked.len() == 1 { "has" } else { "have" }
        ),
    })
}
