//! `Repository.checkout(revision)`: switch the work tree to another branch, a tag or a commit, as
//! `git switch` / `git checkout` do, with Git LFS files following; and `checkout_pr(num)`, which
//! fetches a Hub pull request and checks it out on the branch `pr/<num>`.
//!
//! What `revision` means is git's "DWIM" rule: a local branch is switched to; a name only the
//! remote has as a branch (`origin/<name>`) becomes a local branch tracking it, the usual way to
//! pick up a branch another job pushed; anything else `git rev-parse` reads (a tag, a commit id,
//! `origin/main`) is checked out with a detached HEAD. `create=True` makes a new branch at HEAD
//! and switches to it (`git switch -c`).
//!
//! The move itself is [`super::advance`]'s, in the same order: files the switch would rewrite
//! that hold uncommitted changes are refused, naming them ([`HfGitError::LocalChanges`]), while
//! uncommitted changes elsewhere are carried over as git carries them; the Git LFS objects of the
//! target's changed pointers (those git-lfs's settings select) are downloaded into the store
//! before any file changes, so a failed download leaves the work tree, index and HEAD as they
//! were; libgit2's safe checkout rewrites the files; HEAD moves; the pointers it wrote are
//! replaced by their content. The index lock is held throughout.

use std::collections::BTreeSet;
use std::path::PathBuf;

use git2::{BranchType, Commit, Oid, Repository};

use super::advance::{advance_branch, put_back, refuse_local_changes, LfsFollow};
use super::branches::create_branch_in;
use super::checkout::checkout_with_progress;
use super::fetch::fetch_pull_request;
use super::lock::{lock_index, lock_pushes, IndexStamp};
use super::rebase::changed_paths;
use super::revision::{check_ref_name, head_commit, resolve_commit, RemoteForLfs};
use crate::auth::TokenRequest;
use crate::error::{HfGitError, Result};
use crate::progress::{Monitor, Phase};

pub struct CheckoutRequest {
    pub local_dir: PathBuf,
    pub revision: String,
    /// Create branch `revision` at HEAD and switch to it.
    pub create: bool,
    /// For downloading Git LFS objects the store lacks.
    pub token: TokenRequest,
    pub remote_name: String,
    pub lfs_concurrency: usize,
}

/// Where HEAD is after a checkout.
#[derive(Debug, Clone)]
pub struct CheckedOut {
    /// The branch checked out, `None` for a detached HEAD.
    pub branch: Option<String>,
    /// The commit checked out (`None`: a new branch before the first commit).
    pub head: Option<Oid>,
}

/// What a revision names, decided before anything changes.
enum Target<'r> {
    /// An existing local branch.
    Branch(String, Commit<'r>),
    /// A new local branch at this commit, tracking `upstream` when set.
    NewBranch {
        name: String,
        start: Option<Commit<'r>>,
        upstream: Option<String>,
    },
    /// A commit, HEAD detached.
    Detached(Commit<'r>),
}

pub fn checkout(request: CheckoutRequest, monitor: &Monitor) -> Result<CheckedOut> {
    let repo = super::open_work_tree(&request.local_dir)?;
    let _index = lock_index(&repo)?;
    let target = target_of(&repo, &request)?;
    let lfs = RemoteForLfs::find(&repo, &request.remote_name, request.token);
    let done = switch_to(
        &repo,
        target,
        lfs.as_ref(),
        request.lfs_concurrency,
        monitor,
    )?;
    monitor.report(Phase::Done, 1, 1, monitor.snapshot().bytes);
    Ok(done)
}

fn target_of<'r>(repo: &'r Repository, request: &CheckoutRequest) -> Result<Target<'r>> {
    let revision = request.revision.as_str();
    if request.create {
        check_ref_name("branch", revision)?;
        if repo.find_branch(revision, BranchType::Local).is_ok() {
            return Err(HfGitError::RevisionExists {
                kind: "branch",
                name: revision.to_owned(),
            });
        }
        return Ok(Target::NewBranch {
            name: revision.to_owned(),
            start: head_commit(repo)?,
            upstream: None,
        });
    }
    let short = revision.strip_prefix("refs/heads/").unwrap_or(revision);
    if let Ok(branch) = repo.find_branch(short, BranchType::Local) {
        let commit = branch.get().peel_to_commit()?;
        return Ok(Target::Branch(short.to_owned(), commit));
    }
    let tracking = format!("{}/{short}", request.remote_name);
    let is_plain_name = !revision.starts_with("refs/") && check_ref_name("branch", short).is_ok();
    if is_plain_name {
        if let Ok(remote) = repo.find_branch(&tracking, BranchType::Remote) {
            return Ok(Target::NewBranch {
                name: short.to_owned(),
                start: Some(remote.get().peel_to_commit()?),
                upstream: Some(tracking),
            });
        }
    }
    Ok(Target::Detached(resolve_commit(repo, revision)?))
}

/// Move the work tree, index and HEAD to `target`. The caller holds the index lock.
fn switch_to(
    repo: &Repository,
    target: Target<'_>,
    lfs: Option<&RemoteForLfs>,
    lfs_concurrency: usize,
    monitor: &Monitor,
) -> Result<CheckedOut> {
    let from = head_commit(repo)?;
    let to = match &target {
        Target::Branch(_, commit) | Target::Detached(commit) => Some(commit.clone()),
        Target::NewBranch { start, .. } => start.clone(),
    };
    let describe = match &target {
        Target::Branch(name, _) | Target::NewBranch { name, .. } => format!("branch '{name}'"),
        Target::Detached(commit) => format!("commit {}", &commit.id().to_string()[..12]),
    };
    let changed = match (&from, &to) {
        (Some(from), Some(to)) => changed_paths(repo, &from.tree()?, &to.tree()?)?,
        (None, Some(to)) => all_paths(&to.tree()?)?,
        (_, None) => BTreeSet::new(),
    };
    refuse_local_changes(
        repo,
        &changed,
        &format!("checking out {describe} would rewrite"),
    )?;
    // The look above may have refreshed the index; nobody else may change it from here on
    // (git, which does not know hfgit's lock, is caught by the stamp).
    let mut stamp = IndexStamp::read(repo)?;
    let follow = LfsFollow::prepare(repo, lfs.map(|lfs| lfs.source(lfs_concurrency)), monitor)?;
    if follow.finished_pending {
        stamp = IndexStamp::read(repo)?;
    }
    if let Some(to) = &to {
        follow.fetch(repo, &to.tree()?, &changed, monitor)?;
    }
    if let Some(to) = to.as_ref().filter(|_| !changed.is_empty()) {
        stamp.ensure_unchanged(repo)?;
        let mut checkout = checkout_with_progress(monitor);
        repo.checkout_tree(to.as_object(), Some(&mut checkout))?;
    }
    if let Err(err) = move_head(repo, &target, from.as_ref().map(Commit::id)) {
        if let Some(from) = &from {
            put_back(repo, from, &changed, &follow, monitor);
        }
        return Err(err);
    }
    follow.smudge(repo, &changed, monitor)?;
    let branch = match target {
        Target::Branch(name, _) | Target::NewBranch { name, .. } => Some(name),
        Target::Detached(_) => None,
    };
    Ok(CheckedOut {
        branch,
        head: to.map(|commit| commit.id()),
    })
}

/// Point HEAD at the target (creating its branch first), if HEAD is still at `from`.
fn move_head(repo: &Repository, target: &Target<'_>, from: Option<Oid>) -> Result<()> {
    let now = head_commit(repo)?.map(|commit| commit.id());
    if now != from {
        return Err(HfGitError::ConcurrentChange {
            what: "HEAD".to_owned(),
        });
    }
    match target {
        Target::Branch(name, _) => repo.set_head(&format!("refs/heads/{name}"))?,
        Target::NewBranch {
            name,
            start,
            upstream,
        } => {
            if let Some(start) = start {
                create_branch_in(repo, name, Some(&start.id().to_string()), false)?;
                if let Some(upstream) = upstream {
                    repo.find_branch(name, BranchType::Local)?
                        .set_upstream(Some(upstream))?;
                }
            }
            repo.set_head(&format!("refs/heads/{name}"))?;
        }
        Target::Detached(commit) => repo.set_head_detached(commit.id())?,
    }
    Ok(())
}

/// Every file path of `tree` (a checkout from an unborn HEAD writes them all).
fn all_paths(tree: &git2::Tree<'_>) -> Result<BTreeSet<String>> {
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

pub struct CheckoutPrRequest {
    pub local_dir: PathBuf,
    pub number: u64,
    pub token: TokenRequest,
    pub remote_name: String,
    pub lfs_concurrency: usize,
}

/// Fetch the Hub pull request `number` and check it out on the local branch `pr/<number>`,
/// created (tracking `refs/pr/<number>`) or fast-forwarded to the pull request's tip.
pub fn checkout_pr(request: CheckoutPrRequest, monitor: &Monitor) -> Result<CheckedOut> {
    let repo = super::open_work_tree(&request.local_dir)?;
    let _pushes = lock_pushes(&repo, monitor)?;
    let _index = lock_index(&repo)?;
    let lfs = RemoteForLfs::find(&repo, &request.remote_name, request.token).ok_or_else(|| {
        HfGitError::invalid(format!(
            "the repository has no remote named {:?} to fetch the pull request from",
            request.remote_name
        ))
    })?;
    let number = request.number;
    let (_, tip) = fetch_pull_request(
        &repo,
        &lfs.remote_name,
        &lfs.url,
        lfs.token.clone(),
        number,
        monitor,
    )?;
    let name = format!("pr/{number}");
    let local_ref = format!("refs/heads/{name}");
    let target = match repo.refname_to_id(&local_ref) {
        Err(_) => {
            let done = switch_to(
                &repo,
                Target::NewBranch {
                    name: name.clone(),
                    start: Some(repo.find_commit(tip)?),
                    upstream: None,
                },
                Some(&lfs),
                request.lfs_concurrency,
                monitor,
            )?;
            track_pull_request(&repo, &name, &lfs.remote_name, number)?;
            monitor.report(Phase::Done, 1, 1, monitor.snapshot().bytes);
            return Ok(done);
        }
        Ok(local) => local,
    };
    let is_current = super::revision::current_branch(&repo).as_deref() == Some(name.as_str());
    let behind = target != tip && repo.graph_descendant_of(tip, target)?;
    if behind && is_current {
        advance_branch(
            &repo,
            &local_ref,
            target,
            tip,
            lfs.source(request.lfs_concurrency),
            "checkout_pr: fast-forward",
            monitor,
        )?;
    } else if behind {
        repo.reference_matching(&local_ref, tip, true, target, "checkout_pr: fast-forward")?;
    } else if target != tip && !repo.graph_descendant_of(target, tip)? {
        monitor.notice(format!(
            "branch '{name}' and pull request #{number} have both moved on, so '{name}' was \
             checked out as it is; refs/remotes/{}/{name} holds the pull request's commits",
            lfs.remote_name
        ));
    }
    let done = if is_current {
        CheckedOut {
            branch: Some(name),
            head: Some(repo.refname_to_id(&local_ref)?),
        }
    } else {
        let commit = repo.find_reference(&local_ref)?.peel_to_commit()?;
        switch_to(
            &repo,
            Target::Branch(name, commit),
            Some(&lfs),
            request.lfs_concurrency,
            monitor,
        )?
    };
    monitor.report(Phase::Done, 1, 1, monitor.snapshot().bytes);
    Ok(done)
}

/// `branch.pr/<n>.remote` and `.merge`: the branch's upstream is the pull request's ref, as the
/// Hub's instructions for pull requests set it up (`git fetch origin refs/pr/<n>:pr/<n>`).
fn track_pull_request(repo: &Repository, name: &str, remote: &str, number: u64) -> Result<()> {
    let mut config = repo.config()?;
    config.set_str(&format!("branch.{name}.remote"), remote)?;
    config.set_str(
        &format!("branch.{name}.merge"),
        &format!("refs/pr/{number}"),
    )?;
    Ok(())
}
