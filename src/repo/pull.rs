//! Bringing remote commits in: a fast-forward, or with `rebase=True` the local commits replayed
//! on top of the remote's.
//!
//! A notebook user who pulls wants either the new commits or a clear reason why not. Without
//! `rebase`, a diverged branch is reported, never resolved. With it, the unpushed local commits
//! are replayed on the remote's tip ([`super::rebase`]) as `git pull --rebase` does, and anything
//! that cannot be combined automatically is reported with nothing local changed. Local edits in
//! the way are reported either way. The branch, index and work tree then move together
//! ([`super::advance`]); LFS files the new commits bring are downloaded as git-lfs's smudge
//! filter would, following `GIT_LFS_SKIP_SMUDGE`, `lfs.fetchinclude` / `lfs.fetchexclude` and
//! the configured endpoint.

use std::path::PathBuf;

use git2::{Oid, Repository};
use secrecy::SecretString;
use url::Url;

use super::advance::{advance_branch, read_pending, LfsFollow, LfsSource};
use super::lock::{lock_index, lock_pushes};
use super::rebase::replay;
use super::upstream::{remote_spec, resolve_upstream, Upstream};
use crate::auth::{resolve_token, ProcessEnv, TokenRequest};
use crate::error::{HfGitError, Result};
use crate::progress::{Monitor, Phase};
use crate::remote::{retrying_rate_limits, RemoteSession};

pub struct PullRequest {
    pub local_dir: PathBuf,
    pub token: TokenRequest,
    pub remote_name: String,
    /// Replay unpushed local commits on the remote's new ones instead of refusing to.
    pub rebase: bool,
}

#[derive(Debug, Clone)]
pub struct PullOutcome {
    pub old_head: Oid,
    pub new_head: Oid,
    /// Each unpushed local commit (oldest first) and its replayed copy; `None` when it was
    /// dropped because the remote already had its change. Empty without a rebase.
    pub rebased: Vec<(Oid, Option<Oid>)>,
}

pub fn pull(request: PullRequest, monitor: &Monitor) -> Result<PullOutcome> {
    let repo = super::open_work_tree(&request.local_dir)?;
    // One push or pull at a time, and no other writer of the index while the checkout runs.
    let _pushes = lock_pushes(&repo, monitor)?;
    let _index = lock_index(&repo)?;
    let detached = || {
        HfGitError::DetachedHead {
        path: request.local_dir.clone(),
        advice: "pull() moves the checked-out branch and there is none; check out a branch first (with git, `git switch main`)",
    }
    };
    let upstream =
        resolve_upstream(&repo, &request.remote_name, None).map_err(|err| match err {
            HfGitError::DetachedHead { .. } => detached(),
            other => other,
        })?;
    if upstream.local_branch.is_none() {
        return Err(detached());
    }
    let spec = remote_spec(&repo, &request.remote_name)?;
    let token = resolve_token(request.token, spec.url_token, &ProcessEnv);
    let fetched = fetch_upstream(&repo, &upstream, &spec.url, token.clone(), "pull", monitor)?;
    let lfs = LfsSource {
        remote_name: &request.remote_name,
        remote_url: &spec.url,
        token,
        concurrency: 8,
    };
    if !read_pending(&repo).is_empty() {
        // A checkout cut short earlier left LFS files as pointers: write them out first, so that
        // "already up to date" also means the work tree holds the files.
        let again = LfsSource {
            token: lfs.token.clone(),
            ..lfs
        };
        LfsFollow::prepare(&repo, Some(again), monitor)?;
    }
    let outcome = integrate(&repo, &upstream, fetched, request.rebase, lfs, monitor)?;
    monitor.report(Phase::Done, 1, 1, monitor.snapshot().bytes);
    Ok(outcome)
}

/// Fetch the upstream branch into its remote-tracking ref (`refs/remotes/<remote>/<branch>`), as
/// `git fetch` does, and return its tip; `reflog` is the tracking ref's reflog message.
pub(super) fn fetch_upstream(
    repo: &Repository,
    upstream: &Upstream,
    url: &Url,
    token: Option<SecretString>,
    reflog: &str,
    monitor: &Monitor,
) -> Result<Oid> {
    let session = RemoteSession::for_repo(repo, url.clone(), token)?;
    let refspec = format!("+{}:{}", upstream.remote_ref(), upstream.tracking_ref());
    let mut remote = repo.remote_anonymous(session.url())?;
    // A fetch is safe to make again after a rate limit (429).
    retrying_rate_limits(monitor, |_| {
        let mut options = session.fetch_options(monitor);
        remote
            .fetch(&[refspec.as_str()], Some(&mut options), Some(reflog))
            .map_err(|err| session.classify(&err, monitor))
    })?;
    repo.refname_to_id(&upstream.tracking_ref())
        .map_err(|_| HfGitError::RevisionNotFound {
            revision: upstream.remote_branch.clone(),
            target: session.url().to_owned(),
        })
}

/// Bring the checked-out branch up to `fetched`, the remote's tip: nothing when it already has
/// it, a fast-forward when it has nothing the remote lacks, else (with `rebase`) its unpushed
/// commits replayed on `fetched`. The caller holds the index lock.
pub(super) fn integrate(
    repo: &Repository,
    upstream: &Upstream,
    fetched: Oid,
    rebase: bool,
    lfs: LfsSource<'_>,
    monitor: &Monitor,
) -> Result<PullOutcome> {
    let branch = upstream
        .local_branch
        .clone()
        .unwrap_or_else(|| upstream.local_ref.clone());
    let local = repo.refname_to_id(&upstream.local_ref)?;
    if local == fetched || repo.graph_descendant_of(local, fetched)? {
        return Ok(PullOutcome {
            old_head: local,
            new_head: local,
            rebased: Vec::new(),
        });
    }
    let (target, rebased, reflog) = if repo.graph_descendant_of(fetched, local)? {
        (fetched, Vec::new(), "pull: fast-forward".to_owned())
    } else if rebase {
        let replayed = replay(repo, local, fetched, &branch)?;
        let reflog = format!(
            "pull --rebase: {} local commit(s) onto {}",
            replayed.commits.len(),
            fetched
        );
        (replayed.tip, replayed.commits, reflog)
    } else {
        let (ahead, behind) = repo.graph_ahead_behind(local, fetched)?;
        return Err(HfGitError::Diverged {
            branch,
            detail: format!(
                "local has {ahead} commit(s) the remote lacks and the remote has {behind} you lack; \
                 pull only fast-forwards. pull(rebase=True) replays your commits on top of the \
                 remote's, or push with force=True to overwrite."
            ),
        });
    };
    advance_branch(
        repo,
        &upstream.local_ref,
        local,
        target,
        lfs,
        &reflog,
        monitor,
    )?;
    Ok(PullOutcome {
        old_head: local,
        new_head: target,
        rebased,
    })
}
