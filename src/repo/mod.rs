//! The operations on a local repository: clone, init, commit, push, pull, fetch, branches, tags,
//! checkout, reset, restore, LFS pull and prune, and the read-only views (status, log, diff,
//! show).
//!
//! Each operation takes plain Rust arguments and a [`Monitor`](crate::progress::Monitor), runs to
//! completion on the calling thread, and returns an [`HfGitError`](crate::HfGitError) a user can
//! act on; none of them knows about Python.

mod advance;
mod author;
pub mod branches;
mod checkout;
pub mod clone;
mod clone_lock;
pub mod commit;
pub mod diff;
pub mod fetch;
pub mod history;
pub mod info;
pub mod init;
pub mod lfs_prune;
pub mod lfs_pull;
mod libgit2_settings;
pub(crate) mod lock;
pub(crate) mod pathspec;
pub mod pull;
pub mod pull_request;
pub mod push;
mod rebase;
mod remote_refs;
pub mod reopen;
pub mod reset;
pub mod restore;
pub mod revision;
pub mod show;
pub mod snapshot;
mod stage;
pub mod status;
pub mod switch;
pub mod tags;
mod target_dir;
mod upstream;

pub(crate) use stage::filtered_blob;

use std::path::Path;

use git2::Repository;

use crate::error::{HfGitError, Result};

/// Open the work tree at `path` (exactly there: no search upwards into a parent repo).
pub fn open_work_tree(path: &Path) -> Result<Repository> {
    libgit2_settings::apply();
    let not_a_repo = || HfGitError::NotARepository {
        path: path.to_path_buf(),
    };
    let repo = Repository::open_ext(
        path,
        git2::RepositoryOpenFlags::NO_SEARCH,
        std::iter::empty::<&std::ffi::OsStr>(),
    )
    .map_err(|_| not_a_repo())?;
    if repo.is_bare() {
        return Err(not_a_repo());
    }
    // Every operation starts by sweeping temp files that killed processes left in `.git/lfs/tmp`.
    crate::lfs::LfsStore::for_repository(&repo);
    if target_dir::is_incomplete(repo.path()) {
        return Err(HfGitError::CloneInterrupted {
            path: path.to_path_buf(),
        });
    }
    if init::is_incomplete(repo.path()) {
        return Err(HfGitError::InitInterrupted {
            path: path.to_path_buf(),
        });
    }
    Ok(repo)
}

/// [`open_work_tree`] that also opens a clone that was killed before it finished: for
/// `lfs_pull()`, which can finish such a clone's LFS files. `true` when it was one.
pub fn open_work_tree_even_if_interrupted(path: &Path) -> Result<(Repository, bool)> {
    match open_work_tree(path) {
        Err(HfGitError::CloneInterrupted { .. }) => {
            let repo = Repository::open_ext(
                path,
                git2::RepositoryOpenFlags::NO_SEARCH,
                std::iter::empty::<&std::ffi::OsStr>(),
            )?;
            Ok((repo, true))
        }
        other => other.map(|repo| (repo, false)),
    }
}
