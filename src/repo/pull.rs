//! Bringing remote commits in, fast-forward only.
//!
//! A notebook user who pulls wants either the new commits or a clear reason why not; merging is
//! left to them, so a diverged branch or local edits in the way are reported, never resolved.
//! LFS files the fast-forward brings are downloaded as git-lfs's smudge filter would, following
//! `GIT_LFS_SKIP_SMUDGE`, `lfs.fetchinclude` / `lfs.fetchexclude` and the configured endpoint.

use std::path::PathBuf;

use git2::Oid;

use super::checkout::{checkout_with_progress, lfs_checkout_filter};
use super::lock::{lock_index, lock_pushes};
use super::upstream::{remote_spec, resolve_upstream};
use crate::auth::{resolve_token, ProcessEnv, TokenRequest};
use crate::error::{HfGitError, Result};
use crate::lfs::checkout::{smudge_work_tree, write_empty_files};
use crate::lfs::config::{LfsConfig, Operation};
use crate::lfs::endpoint::LfsEndpoint;
use crate::lfs::transfer::TransferConfig;
use crate::progress::{Monitor, Phase};
use crate::remote::RemoteSession;

pub struct PullRequest {
    pub local_dir: PathBuf,
    pub token: TokenRequest,
    pub remote_name: String,
}

#[derive(Debug, Clone)]
pub struct PullOutcome {
    pub old_head: Oid,
    pub new_head: Oid,
}

pub fn pull(request: PullRequest, monitor: &Monitor) -> Result<PullOutcome> {
    let repo = super::open_work_tree(&request.local_dir)?;
    // One push or pull at a time, and no other writer of the index while the checkout runs.
    let _pushes = lock_pushes(&repo, monitor)?;
    let _index = lock_index(&repo)?;
    let detached = || {
        HfGitError::DetachedHead {
        path: request.local_dir.clone(),
        advice: "pull() fast-forwards the checked-out branch and there is none; check out a branch first (with git, `git switch main`)",
    }
    };
    let upstream =
        resolve_upstream(&repo, &request.remote_name, None).map_err(|err| match err {
            HfGitError::DetachedHead { .. } => detached(),
            other => other,
        })?;
    let Some(branch) = upstream.local_branch.clone() else {
        return Err(detached());
    };
    let spec = remote_spec(&repo, &request.remote_name)?;
    let token = resolve_token(request.token, spec.url_token, &ProcessEnv);
    let lfs_token = token.clone();
    let remote_url = spec.url.clone();
    let session = RemoteSession::new(spec.url, token)?;

    let refspec = format!("+{}:{}", upstream.remote_ref(), upstream.tracking_ref());
    let mut remote = repo.remote_anonymous(session.url())?;
    let mut options = session.fetch_options(monitor);
    remote
        .fetch(&[refspec.as_str()], Some(&mut options), Some("pull"))
        .map_err(|err| session.classify(&err, monitor))?;
    drop(options);

    let local = repo.refname_to_id(&upstream.local_ref)?;
    let fetched =
        repo.refname_to_id(&upstream.tracking_ref())
            .map_err(|_| HfGitError::RevisionNotFound {
                revision: upstream.remote_branch.clone(),
                target: session.url().to_owned(),
            })?;
    if local == fetched || repo.graph_descendant_of(local, fetched)? {
        monitor.report(Phase::Done, 1, 1, monitor.snapshot().bytes);
        return Ok(PullOutcome {
            old_head: local,
            new_head: local,
        });
    }
    if !repo.graph_descendant_of(fetched, local)? {
        let (ahead, behind) = repo.graph_ahead_behind(local, fetched)?;
        return Err(HfGitError::Diverged {
            branch,
            detail: format!(
                "local has {ahead} commit(s) the remote lacks and the remote has {behind} you lack; \
                 pull only fast-forwards. Rebase or merge with git, or push with force=True to overwrite."
            ),
        });
    }

    let target = repo.find_commit(fetched)?;
    let mut checkout = checkout_with_progress(monitor);
    repo.checkout_tree(target.as_object(), Some(&mut checkout))?;
    repo.reference(&upstream.local_ref, fetched, true, "pull: fast-forward")?;
    let settings = LfsConfig::load(&repo)?;
    if let Some(filter) = lfs_checkout_filter(&settings, monitor) {
        let endpoint = LfsEndpoint::resolve(
            &settings,
            &request.remote_name,
            &remote_url,
            lfs_token,
            Operation::Download,
            monitor,
        )?;
        smudge_work_tree(
            &repo,
            &endpoint.url,
            endpoint.token,
            &filter,
            &TransferConfig::default(),
            monitor,
        )?;
    }
    // Whatever was selected, an empty LFS file needs no download (git-lfs writes it empty too).
    write_empty_files(&repo)?;
    monitor.report(Phase::Done, 1, 1, monitor.snapshot().bytes);
    Ok(PullOutcome {
        old_head: local,
        new_head: fetched,
    })
}
