//! `hfgit.init(local_dir, repo)`: make a folder that already holds files (a training run's
//! `output_dir`) a work tree of a Hub repo, so the next `commit()` records the folder on top of
//! the remote's history and `push()` sends it, without cloning somewhere else and copying.
//!
//! The result is what cloning the repo and then copying the folder over the clone would give:
//! - the folder's own files are never written, moved or deleted: a file the remote also has is
//!   a modification of it, any other file is new (untracked until committed);
//! - the remote's history is fetched (branches into `origin/*`, and tags), HEAD is put on the
//!   remote's default branch (or `revision`), with the upstream set as `git clone` sets it, and
//!   the index is that branch's tree, so nothing the remote has is taken for deleted;
//! - files only the remote has are written into the folder (Git LFS ones downloaded as `clone`
//!   would download them, per `lfs=`), so the remote's `.gitattributes` and `.gitignore` apply
//!   to the next commit and the work tree is complete.
//!
//! A remote with no commits yet works too: HEAD is then the unborn `main` (or `revision`) and
//! the first commit starts the history. Running `init` again on a folder it finished opens it;
//! a folder that is a work tree of another remote is refused ([`HfGitError::OtherRepository`]).
//!
//! Failure leaves the folder as it was: the `.git` directory this call made is removed (the
//! folder too, if this call created it), and the remote's files are written only once every
//! download has succeeded. A process killed mid-way leaves `.git/hfgit-init-incomplete`, which
//! every operation refuses ([`HfGitError::InitInterrupted`]) and the next `init` starts over
//! from (only `.git` is replaced; the folder's files are not touched).

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use git2::{Oid, Repository, RepositoryInitOptions};

use super::checkout::{checkout_with_progress, lfs_checkout_filter};
use super::clone::LfsSelection;
use super::fetch::fetch_branches_and_tags;
use super::lock::{lock_index, lock_pushes, write_index};
use crate::auth::{resolve_token, ProcessEnv, TokenRequest};
use crate::error::{HfGitError, Result};
use crate::hub::RemoteSpec;
use crate::lfs::checkout::{
    fetch_objects_for_checkout, smudge_checked_out_files, write_empty_files,
};
use crate::lfs::config::{LfsConfig, Operation};
use crate::lfs::endpoint::LfsEndpoint;
use crate::lfs::path_filter::PathFilter;
use crate::lfs::transfer::TransferConfig;
use crate::progress::{Monitor, Phase};

/// The file in the git directory that says an `init` has not finished.
const INCOMPLETE_MARKER: &str = "hfgit-init-incomplete";

pub struct InitRequest {
    pub remote: RemoteSpec,
    pub token: TokenRequest,
    pub local_dir: PathBuf,
    /// The remote branch to put HEAD on; default the remote's default branch.
    pub revision: Option<String>,
    pub lfs: LfsSelection,
    pub lfs_concurrency: usize,
}

/// What `init` made of the folder.
#[derive(Debug, Clone)]
pub struct Initialised {
    pub path: PathBuf,
    /// The branch HEAD is on.
    pub branch: String,
    /// The remote's tip HEAD is at; `None` for a remote with no commits.
    pub head: Option<Oid>,
    /// Files only the remote had, written into the folder.
    pub written: Vec<String>,
    /// The folder already was a finished `init` or clone of this remote; nothing was done.
    pub reopened: bool,
}

/// Whether an `init` of this git directory was killed before it finished.
pub fn is_incomplete(git_dir: &Path) -> bool {
    git_dir.join(INCOMPLETE_MARKER).exists()
}

pub fn init(mut request: InitRequest, monitor: &Monitor) -> Result<Initialised> {
    super::libgit2_settings::apply();
    let local_dir = request.local_dir.clone();
    let git_dir = local_dir.join(".git");
    if git_dir.exists() {
        if is_incomplete(&git_dir) {
            // What a killed `init` left: only its own `.git`, started over.
            fs::remove_dir_all(&git_dir).map_err(|e| HfGitError::io_at("removing", &git_dir, e))?;
        } else {
            return reopen(&request, monitor);
        }
    }
    let created = match fs::metadata(&local_dir) {
        Ok(meta) if meta.is_dir() => false,
        Ok(_) => {
            return Err(HfGitError::invalid(format!(
                "{} is a file, not a folder",
                local_dir.display()
            )))
        }
        Err(_) => {
            fs::create_dir_all(&local_dir)
                .map_err(|e| HfGitError::io_at("creating", &local_dir, e))?;
            true
        }
    };
    let mut undo = Undo {
        git_dir: git_dir.clone(),
        folder: created.then(|| local_dir.clone()),
        kept: false,
    };
    let mut options = RepositoryInitOptions::new();
    options.no_reinit(true).initial_head("main");
    let repo = Repository::init_opts(&local_dir, &options)?;
    let marker = git_dir.join(INCOMPLETE_MARKER);
    fs::write(&marker, format!("{}\n", std::process::id()))
        .map_err(|e| HfGitError::io_at("writing", &marker, e))?;
    let token = resolve_token(
        std::mem::take(&mut request.token),
        request.remote.url_token.take(),
        &ProcessEnv,
    );
    let done = set_up(&repo, &request, token, monitor)?;
    fs::remove_file(&marker).map_err(|e| HfGitError::io_at("removing", &marker, e))?;
    undo.kept = true;
    monitor.report(Phase::Done, 1, 1, monitor.snapshot().bytes);
    Ok(done)
}

/// Fetch, put HEAD on the branch, fill the index and write the remote-only files.
fn set_up(
    repo: &Repository,
    request: &InitRequest,
    token: Option<secrecy::SecretString>,
    monitor: &Monitor,
) -> Result<Initialised> {
    let _pushes = lock_pushes(repo, monitor)?;
    let _index = lock_index(repo)?;
    repo.remote("origin", request.remote.clean_url())?;
    let fetched =
        fetch_branches_and_tags(repo, "origin", &request.remote.url, token.clone(), monitor)?;
    let has = |branch: &str| fetched.refs.contains_key(&format!("refs/heads/{branch}"));
    let branch = match &request.revision {
        Some(revision) => {
            let name = revision.strip_prefix("refs/heads/").unwrap_or(revision);
            if !has(name) && !fetched.refs.is_empty() {
                return Err(HfGitError::RevisionNotFound {
                    revision: revision.clone(),
                    target: fetched.url.clone(),
                });
            }
            name.to_owned()
        }
        None => fetched
            .default_branch
            .clone()
            .filter(|b| has(b))
            .or_else(|| has("main").then(|| "main".to_owned()))
            .or_else(|| {
                fetched
                    .refs
                    .keys()
                    .find_map(|r| r.strip_prefix("refs/heads/").map(str::to_owned))
            })
            .unwrap_or_else(|| "main".to_owned()),
    };
    super::revision::check_ref_name("branch", &branch)?;
    let mut config = repo.config()?;
    config.set_str(&format!("branch.{branch}.remote"), "origin")?;
    config.set_str(
        &format!("branch.{branch}.merge"),
        &format!("refs/heads/{branch}"),
    )?;
    if let Some(default) = fetched.default_branch.as_ref().filter(|b| has(b)) {
        repo.reference_symbolic(
            "refs/remotes/origin/HEAD",
            &format!("refs/remotes/origin/{default}"),
            true,
            "init",
        )?;
    }
    let local_dir = request.local_dir.clone();
    let Some(tip) = fetched.refs.get(&format!("refs/heads/{branch}")).copied() else {
        repo.set_head(&format!("refs/heads/{branch}"))?;
        monitor.notice(format!(
            "{} is now a work tree of {}, which has no commits yet: the first commit starts \
             branch '{branch}'",
            local_dir.display(),
            fetched.url
        ));
        return Ok(Initialised {
            path: local_dir,
            branch,
            head: None,
            written: Vec::new(),
            reopened: false,
        });
    };
    let commit = repo.find_commit(tip)?;
    let tree = commit.tree()?;
    let missing = remote_only_files(&local_dir, &tree)?;
    // Every download before any file is written.
    let download = lfs_download(repo, request, token, monitor)?;
    if let Some((filter, endpoint, config)) = &download {
        fetch_objects_for_checkout(
            repo,
            &tree,
            &missing,
            &endpoint.url,
            endpoint.token.clone(),
            filter,
            config,
            monitor,
        )?;
    }
    repo.branch(&branch, &commit, false)?;
    repo.set_head(&format!("refs/heads/{branch}"))?;
    let mut index = repo.index()?;
    index.read_tree(&tree)?;
    write_index(repo, &mut index, None)?;
    if !missing.is_empty() {
        let mut checkout = checkout_with_progress(monitor);
        checkout.force().disable_pathspec_match(true);
        for path in &missing {
            checkout.path(path);
        }
        repo.checkout_tree(commit.as_object(), Some(&mut checkout))?;
    }
    if let Some((filter, endpoint, config)) = download {
        smudge_checked_out_files(
            repo,
            &missing,
            &endpoint.url,
            endpoint.token,
            &filter,
            &config,
            monitor,
        )?;
    }
    write_empty_files(repo)?;
    monitor.notice(format!(
        "{} is now a work tree of {} on branch '{branch}' at {}; its own files are uncommitted \
         changes on top of it ({} file(s) only the remote had were written)",
        local_dir.display(),
        fetched.url,
        &tip.to_string()[..12],
        missing.len()
    ));
    Ok(Initialised {
        path: local_dir,
        branch,
        head: Some(tip),
        written: missing.into_iter().collect(),
        reopened: false,
    })
}

/// The LFS files `init` writes out, as `clone(lfs=...)` chooses them, and from where.
fn lfs_download(
    repo: &Repository,
    request: &InitRequest,
    token: Option<secrecy::SecretString>,
    monitor: &Monitor,
) -> Result<Option<(PathFilter, LfsEndpoint, TransferConfig)>> {
    let settings = LfsConfig::load(repo)?;
    let filter = match &request.lfs {
        LfsSelection::Settings => lfs_checkout_filter(&settings, monitor),
        LfsSelection::All => Some(PathFilter::default()),
        LfsSelection::Nothing => None,
        LfsSelection::Matching(patterns) => Some(PathFilter::new(Some(patterns), &[])),
    };
    let Some(filter) = filter else {
        return Ok(None);
    };
    let endpoint = LfsEndpoint::resolve(
        &settings,
        "origin",
        &request.remote.url,
        token,
        Operation::Download,
        monitor,
    )?;
    let config = TransferConfig {
        concurrency: request.lfs_concurrency.max(1),
        ..TransferConfig::default()
    };
    Ok(Some((filter, endpoint, config)))
}

/// The file paths of `tree` with nothing at their place in the folder (no file, no directory,
/// and no file where one of their parent directories would be).
fn remote_only_files(folder: &Path, tree: &git2::Tree<'_>) -> Result<BTreeSet<String>> {
    let mut missing = BTreeSet::new();
    tree.walk(git2::TreeWalkMode::PreOrder, |dir, entry| {
        if entry.kind() == Some(git2::ObjectType::Tree) {
            // Below a file of the folder (the remote's `logs/` where the folder has a `logs`
            // file), nothing can be written: the folder's file wins.
            let path = folder.join(format!("{dir}{}", entry.name().unwrap_or_default()));
            return match fs::symlink_metadata(&path) {
                Ok(meta) if !meta.is_dir() => git2::TreeWalkResult::Skip,
                _ => git2::TreeWalkResult::Ok,
            };
        }
        if let Ok(name) = entry.name() {
            let relative = format!("{dir}{name}");
            if fs::symlink_metadata(folder.join(&relative)).is_err() {
                missing.insert(relative);
            }
        }
        git2::TreeWalkResult::Ok
    })?;
    Ok(missing)
}

/// `init` on a folder that already is a git work tree: open it when it is one of this remote.
fn reopen(request: &InitRequest, monitor: &Monitor) -> Result<Initialised> {
    let repo = super::open_work_tree(&request.local_dir)?;
    let stored = super::reopen::origin_of(&repo);
    match stored {
        Some(url) if super::reopen::same_remote(&url, &request.remote.url) => {
            monitor.notice(format!(
                "{} already is a work tree of {}; it was opened as it is",
                request.local_dir.display(),
                request.remote.clean_url()
            ));
            let head = super::revision::head_commit(&repo)?.map(|c| c.id());
            Ok(Initialised {
                path: request.local_dir.clone(),
                branch: super::revision::current_branch(&repo).unwrap_or_default(),
                head,
                written: Vec::new(),
                reopened: true,
            })
        }
        other => Err(HfGitError::OtherRepository {
            path: request.local_dir.clone(),
            detail: super::reopen::describe_other(other.as_ref(), &request.remote),
        }),
    }
}

/// Removes what a failed `init` made: its `.git`, and the folder if `init` created it.
struct Undo {
    git_dir: PathBuf,
    folder: Option<PathBuf>,
    kept: bool,
}

impl Drop for Undo {
    fn drop(&mut self) {
        if self.kept {
            return;
        }
        let _ = fs::remove_dir_all(&self.git_dir);
        if let Some(folder) = &self.folder {
            // Only if empty: a failed init never writes the remote's files into the folder.
            let _ = fs::remove_dir(folder);
        }
    }
}
