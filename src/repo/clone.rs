//! Cloning a Hub repo into a new work tree.
//!
//! The destination is claimed first (a non-empty directory is refused before any network
//! traffic) and removed again on any failure or cancellation, so a failed clone leaves nothing
//! half-written. The remote URL stored in `.git/config` is the clean one: the token only ever
//! travels through the credential callback.
//!
//! LFS files are downloaded after the checkout, as git-lfs's smudge filter would: by default
//! following git-lfs's settings as a fresh `git clone` sees them (the cloned tree's `.lfsconfig`,
//! global and system git config, `GIT_LFS_SKIP_SMUDGE`), unless `lfs=` says otherwise.
//!
//! A `refs/pr/N` revision is a pull request: the clone fetches its ref too and checks it out on a
//! local branch `pr/N` that pushes back to it (see [`super::pull_request`]).

use std::path::{Path, PathBuf};

use git2::build::{CheckoutBuilder, RepoBuilder};
use git2::{Direction, Repository};

use super::checkout::{checkout_with_progress, lfs_checkout_filter};
use super::pull_request::{fetch_refspec, pull_request_number, start_pull_request_branch};
use super::target_dir::{mark_complete, mark_incomplete, CloneTarget};
use crate::auth::{resolve_token, ProcessEnv, TokenRequest};
use crate::error::{HfGitError, Result};
use crate::hub::RemoteSpec;
use crate::lfs::attribute_source::checkout_may_convert;
use crate::lfs::checkout::{smudge_work_tree, write_empty_files};
use crate::lfs::config::{LfsConfig, Operation};
use crate::lfs::endpoint::LfsEndpoint;
use crate::lfs::path_filter::PathFilter;
use crate::lfs::transfer::TransferConfig;
use crate::progress::{Monitor, Phase};
use crate::remote::{retrying_rate_limits, RemoteSession};

pub struct CloneRequest {
    pub remote: RemoteSpec,
    pub token: TokenRequest,
    pub local_dir: PathBuf,
    pub revision: Option<String>,
    pub depth: Option<u32>,
    pub lfs: LfsSelection,
    pub lfs_concurrency: usize,
}

/// Which LFS files a clone downloads.
#[derive(Debug, Clone)]
pub enum LfsSelection {
    /// What git-lfs would download: nothing when `GIT_LFS_SKIP_SMUDGE` is true, else what
    /// `lfs.fetchinclude` / `lfs.fetchexclude` allow (everything when they are unset).
    Settings,
    /// Everything, whatever the settings say.
    All,
    /// Leave pointers in place and download nothing.
    Nothing,
    /// Only paths matching these git-lfs `--include` patterns.
    Matching(Vec<String>),
}

/// How a requested revision exists on the remote.
enum RevisionKind {
    Branch(String),
    Tag(String),
    Commit(String),
    /// `refs/pr/N`, a pull request's commits.
    PullRequest(u64),
}

pub fn clone_repo(request: CloneRequest, monitor: &Monitor) -> Result<PathBuf> {
    super::libgit2_settings::apply();
    // Before the destination is claimed: an offline clone leaves nothing behind.
    crate::hub::ensure_online(&request.remote.url)?;
    let mut target = CloneTarget::claim(&request.local_dir)?;
    let token = resolve_token(request.token, request.remote.url_token, &ProcessEnv);
    let lfs_token = token.clone();
    let remote_url = request.remote.url.clone();
    let session = RemoteSession::new(request.remote.url, token)?;

    let revision = match &request.revision {
        Some(revision) => Some(retrying_rate_limits(monitor, |_| {
            locate_revision(&session, revision, monitor)
        })?),
        None => None,
    };
    let depth = match request.depth {
        Some(depth) => Some(
            i32::try_from(depth)
                .ok()
                .filter(|d| *d > 0)
                .ok_or_else(|| {
                    HfGitError::invalid(format!("depth must be a positive number, got {depth}"))
                })?,
        ),
        None => None,
    };
    // A 429 fails the whole libgit2 clone; it is made again from an empty directory.
    let repo = retrying_rate_limits(monitor, |_| {
        target.clear()?;
        fetch_into(&session, &target, revision.as_ref(), depth, monitor)
    })?;
    target.restore_lfs_objects(repo.path());

    match &revision {
        Some(RevisionKind::Tag(name)) => detach_at(&repo, &format!("refs/tags/{name}"), monitor)?,
        Some(RevisionKind::Commit(spec)) => detach_at(&repo, spec, monitor)?,
        Some(RevisionKind::PullRequest(num)) => {
            start_pull_request_branch(&repo, "origin", *num, session.url())?;
            check_out_head(&repo, monitor)?;
        }
        Some(RevisionKind::Branch(_)) | None => check_out_head(&repo, monitor)?,
    }
    let settings = LfsConfig::load(&repo)?;
    let filter = match &request.lfs {
        LfsSelection::Settings => lfs_checkout_filter(&settings, monitor),
        LfsSelection::All => Some(PathFilter::default()),
        LfsSelection::Nothing => None,
        LfsSelection::Matching(patterns) => Some(PathFilter::new(Some(patterns), &[])),
    };
    if let Some(filter) = filter {
        let endpoint = LfsEndpoint::resolve(
            &settings,
            "origin",
            &remote_url,
            lfs_token,
            Operation::Download,
            monitor,
        )?;
        let config = TransferConfig {
            concurrency: request.lfs_concurrency.max(1),
            ..TransferConfig::default()
        };
        smudge_work_tree(
            &repo,
            &endpoint.url,
            endpoint.token,
            &filter,
            &config,
            monitor,
        )?;
    }
    // Whatever was selected, an empty LFS file needs no download (git-lfs writes it empty too).
    write_empty_files(&repo)?;
    if monitor.is_cancelled() {
        return Err(HfGitError::Cancelled);
    }
    mark_complete(repo.path())?;
    monitor.report(Phase::Done, 1, 1, monitor.snapshot().bytes);
    Ok(target.keep())
}

/// Clone `session`'s remote into `target` with libgit2, fetching only (the checkout follows).
fn fetch_into(
    session: &RemoteSession,
    target: &CloneTarget,
    revision: Option<&RevisionKind>,
    depth: Option<i32>,
    monitor: &Monitor,
) -> Result<Repository> {
    let mut fetch = session.fetch_options(monitor);
    if let Some(depth) = depth {
        fetch.depth(depth);
    }
    let marked = std::cell::RefCell::new(None);
    let mut builder = RepoBuilder::new();
    builder.fetch_options(fetch);
    // Called once the git directory exists and before anything is fetched: mark it, so a
    // `kill -9` from here on leaves a directory every operation recognises as unfinished.
    builder.remote_create(|repo, name, url| {
        if let Err(err) = mark_incomplete(repo.path()) {
            *marked.borrow_mut() = Some(err);
            return Err(git2::Error::from_str(
                "could not mark the clone as incomplete",
            ));
        }
        let remote = repo.remote(name, url)?;
        let Some(RevisionKind::PullRequest(num)) = revision else {
            return Ok(remote);
        };
        // The pull request's ref comes in the clone's one fetch, and every later one.
        repo.remote_add_fetch(name, &fetch_refspec(name, *num))?;
        repo.find_remote(name)
    });
    // Fetch only: the checkout follows below, once the tree shows whether it needs filters.
    let mut fetch_only = CheckoutBuilder::new();
    fetch_only.dry_run();
    builder.with_checkout(fetch_only);
    if let Some(RevisionKind::Branch(branch)) = revision {
        builder.branch(branch);
    }
    let cloned = builder.clone(session.url(), target.path());
    drop(builder);
    if let Some(err) = marked.into_inner() {
        return Err(err);
    }
    cloned.map_err(|err| session.classify(&err, monitor))
}

/// Ask the remote which refs it has, to tell a branch from a tag from a commit id up front.
fn locate_revision(
    session: &RemoteSession,
    revision: &str,
    monitor: &Monitor,
) -> Result<RevisionKind> {
    let mut remote = git2::Remote::create_detached(session.url())?;
    let connection = remote
        .connect_auth(
            Direction::Fetch,
            Some(session.callbacks(monitor)),
            Some(session.proxy_options()),
        )
        .map_err(|err| session.classify(&err, monitor))?;
    let heads = connection
        .list()
        .map_err(|err| session.classify(&err, monitor))?;
    let short = revision
        .strip_prefix("refs/heads/")
        .or_else(|| revision.strip_prefix("refs/tags/"))
        .unwrap_or(revision);
    let has = |name: &str| heads.iter().any(|head| head.name() == name);
    if let Some(num) = pull_request_number(revision) {
        if has(revision) {
            return Ok(RevisionKind::PullRequest(num));
        }
        return Err(HfGitError::PullRequestNotFound {
            num,
            target: session.url().to_owned(),
            reason: format!("the repository has no ref {revision}"),
        });
    }
    if !revision.starts_with("refs/tags/") && has(&format!("refs/heads/{short}")) {
        return Ok(RevisionKind::Branch(short.to_owned()));
    }
    if has(&format!("refs/tags/{short}")) {
        return Ok(RevisionKind::Tag(short.to_owned()));
    }
    let looks_like_commit =
        (4..=40).contains(&revision.len()) && revision.chars().all(|c| c.is_ascii_hexdigit());
    if looks_like_commit {
        return Ok(RevisionKind::Commit(revision.to_ascii_lowercase()));
    }
    Err(HfGitError::RevisionNotFound {
        revision: revision.to_owned(),
        target: session.url().to_owned(),
    })
}

/// Check out `spec` (a tag ref or commit id) with a detached HEAD, as `git clone` + `git checkout`.
fn detach_at(repo: &Repository, spec: &str, monitor: &Monitor) -> Result<()> {
    let not_found = || HfGitError::RevisionNotFound {
        revision: spec.trim_start_matches("refs/tags/").to_owned(),
        target: repo
            .find_remote("origin")
            .ok()
            .and_then(|r| r.url().ok().map(str::to_owned))
            .unwrap_or_default(),
    };
    let object = repo.revparse_single(spec).map_err(|_| not_found())?;
    let commit = object.peel_to_commit().map_err(|_| not_found())?;
    let mut checkout = checkout_with_progress(monitor);
    checkout.force();
    checkout.disable_filters(!checkout_may_convert(repo, &commit.tree()?)?);
    repo.checkout_tree(commit.as_object(), Some(&mut checkout))?;
    repo.set_head_detached(commit.id())?;
    Ok(())
}

/// The first checkout of a fresh clone (nothing to do for an empty repo).
fn check_out_head(repo: &Repository, monitor: &Monitor) -> Result<()> {
    let tree = match repo.head() {
        Ok(head) => head.peel_to_tree()?,
        Err(err) if err.code() == git2::ErrorCode::UnbornBranch => return Ok(()),
        Err(err) => return Err(err.into()),
    };
    let mut checkout = checkout_with_progress(monitor);
    checkout.disable_filters(!checkout_may_convert(repo, &tree)?);
    repo.checkout_head(Some(&mut checkout))?;
    Ok(())
}

/// The directory a clone goes to when none is given: the repo's name, under `base`.
pub fn default_local_dir(base: &Path, remote: &RemoteSpec) -> PathBuf {
    base.join(&remote.repo_name)
}
