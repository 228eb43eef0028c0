//! Sending the current branch to the Hub.
//!
//! A push is only reported as done when every ref was accepted: libgit2 returns success even
//! when the server refused a ref, and says so only through `push_update_reference`, so refusals
//! are collected there and raised. Nothing local changes on failure; on success the
//! remote-tracking ref is moved, as `git push` does. LFS objects go to the endpoint git-lfs's
//! settings choose for uploads (`lfs.pushurl`, `lfs.url`, `remote.<name>.lfspushurl`, ...).
//! A push can also go to a pull request's `refs/pr/N` instead of a branch, opening the pull
//! request first when asked to (see [`super::pull_request`]).

use std::path::PathBuf;

use git2::{Direction, Oid};

use super::lock::lock_pushes;
use super::pull_request::{lfs_batch_ref, open_or_find, PullRequestTarget};
use super::upstream::{remote_spec, resolve_upstream};
use crate::auth::{resolve_token, ProcessEnv, TokenRequest};
use crate::error::{HfGitError, Result};
use crate::hub::api::discussions::PullRequest;
use crate::lfs::publish::upload_pushed_objects;
use crate::lfs::transfer::TransferConfig;
use crate::progress::{Monitor, Phase};
use crate::remote::{RefRejection, RemoteSession};

pub struct PushRequest {
    pub local_dir: PathBuf,
    pub token: TokenRequest,
    pub remote_name: String,
    pub branch: Option<String>,
    pub force: bool,
    /// How many LFS transfers may run at once.
    pub lfs_concurrency: usize,
    /// Push to a pull request (opened by this push, or an existing one) instead of a branch.
    pub pull_request: Option<PullRequestTarget>,
}

/// One ref the server now has: `old` is `None` when the branch is new there.
#[derive(Debug, Clone)]
pub struct RefUpdate {
    pub reference: String,
    pub old: Option<Oid>,
    pub new: Oid,
}

#[derive(Debug, Clone)]
pub struct PushOutcome {
    pub remote_url: String,
    pub updates: Vec<RefUpdate>,
    /// LFS objects uploaded before the refs moved (already-present ones are not counted).
    pub lfs_objects: usize,
    pub lfs_bytes: u64,
    /// The pull request the commits went to, if the push went to one.
    pub pull_request: Option<PullRequest>,
}

pub fn push(request: PushRequest, monitor: &Monitor) -> Result<PushOutcome> {
    let repo = super::open_work_tree(&request.local_dir)?;
    // One push or pull of this repository at a time (see [`super::lock`]).
    let _pushes = lock_pushes(&repo, monitor)?;
    let spec = remote_spec(&repo, &request.remote_name)?;
    let token = resolve_token(request.token, spec.url_token, &ProcessEnv);
    if request.pull_request.is_some() && request.branch.is_some() {
        return Err(HfGitError::invalid(
            "branch= cannot be combined with create_pr= or pr=: a pull request's commits go to \
             its own ref, refs/pr/N",
        ));
    }
    let pull_request = match &request.pull_request {
        Some(target) => Some(open_or_find(
            &repo,
            target,
            &spec.url,
            token.clone(),
            monitor,
        )?),
        None => None,
    };
    let pr_ref = pull_request
        .as_ref()
        .map(|pr| pr.pull_request.git_reference());
    let upstream = resolve_upstream(
        &repo,
        &request.remote_name,
        pr_ref.as_deref().or(request.branch.as_deref()),
    )?;
    let local_tip = repo.refname_to_id(&upstream.local_ref)?;
    let lfs_token = token.clone();
    let remote_url = spec.url.clone();
    let session = RemoteSession::new(spec.url, token)?;

    let lfs_config = TransferConfig {
        concurrency: request.lfs_concurrency.max(1),
        ref_name: lfs_batch_ref(&upstream.remote_ref()),
        ..TransferConfig::default()
    };
    let lfs = upload_pushed_objects(
        &repo,
        local_tip,
        &request.remote_name,
        &remote_url,
        lfs_token,
        &lfs_config,
        monitor,
    )
    .map_err(|err| write_forbidden(err, &session, &upstream.remote_ref()))?;

    // A pull request opened just now holds nothing of the user's: its ref may be replaced.
    let force = request.force || pull_request.as_ref().is_some_and(|pr| pr.just_opened);
    let refspec = format!(
        "{}{}:{}",
        if force { "+" } else { "" },
        upstream.local_ref,
        upstream.remote_ref()
    );
    let mut remote = repo.remote_anonymous(session.url())?;
    let fail = |err: git2::Error| match session.classify(&err, monitor) {
        HfGitError::PushRejected { reason, .. } => HfGitError::PushRejected {
            reference: upstream.remote_ref(),
            reason,
        },
        other => other,
    };
    // One connection for both the ref listing and the push: the token is offered once, and an
    // up-to-date branch costs one request, as with `git push`, instead of a receive-pack round.
    let mut connection = remote
        .connect_auth(Direction::Push, Some(session.callbacks(monitor)), None)
        .map_err(fail)?;
    let remote_tip = connection
        .list()
        .map_err(fail)?
        .iter()
        .find(|head| head.name() == upstream.remote_ref())
        .map(|head| head.oid());
    let was_up_to_date = remote_tip == Some(local_tip);
    let mut old = remote_tip;
    if !was_up_to_date {
        let mut options = session.push_options(monitor);
        connection
            .remote()
            .push(&[refspec.as_str()], Some(&mut options))
            .map_err(|err| may_have_landed(fail(err)))?;
        drop(options);
        if let Some(rejection) = session.take_rejections().into_iter().next() {
            return Err(rejection_error(
                rejection,
                &session.remote_messages(),
                session.url(),
            ));
        }
        if let Some(update) = session
            .take_proposed()
            .into_iter()
            .find(|update| update.reference == upstream.remote_ref())
        {
            old = Some(update.old).filter(|old| !old.is_zero());
        }
    }
    drop(connection);
    let tracking = upstream.tracking_ref();
    repo.reference(&tracking, local_tip, true, "update by push")?;
    monitor.report(Phase::Done, 1, 1, monitor.snapshot().bytes);
    Ok(PushOutcome {
        remote_url: session.url().to_owned(),
        updates: vec![RefUpdate {
            reference: upstream.remote_ref(),
            old,
            new: local_tip,
        }],
        lfs_objects: lfs.transferred,
        lfs_bytes: lfs.bytes,
        pull_request: pull_request.map(|pr| pr.pull_request),
    })
}

/// The LFS server's 403 to a push to a branch: the token may not write there, which a pull
/// request works around.
fn write_forbidden(err: HfGitError, session: &RemoteSession, remote_ref: &str) -> HfGitError {
    match err {
        HfGitError::Lfs(crate::lfs::LfsError::Forbidden { message })
            if remote_ref.starts_with("refs/heads/") =>
        {
            HfGitError::WriteForbidden {
                target: session.url().to_owned(),
                reference: remote_ref.to_owned(),
                reason: message,
            }
        }
        other => other,
    }
}

/// A connection that broke while the pack was sent or the answer awaited leaves the outcome
/// unknown: the server may have applied the push. Say so, and that a second push is safe.
fn may_have_landed(err: HfGitError) -> HfGitError {
    match err {
        HfGitError::Network { detail }
            if detail.contains("status code") || detail.contains("answered HTTP") =>
        {
            HfGitError::Network {
                detail: format!(
                    "{detail}. The server refused the push, so nothing was applied; try again \
                     (later, if it is busy)"
                ),
            }
        }
        HfGitError::Network { detail } => HfGitError::Network {
            detail: format!(
                "{detail}. The connection broke while the push was sent or its answer awaited, \
                 so the server may have applied it: running push() again is safe (it reports \
                 success if the commits are already there)"
            ),
        },
        other => other,
    }
}

/// A refused ref: the Hub's `DENIED update refs/heads/<branch>: forbidden` means the token may
/// not write to the branch (a pull request may be the way), anything else is a rejection.
fn rejection_error(rejection: RefRejection, remote_messages: &str, target: &str) -> HfGitError {
    let reason = if remote_messages.is_empty() {
        rejection.reason
    } else {
        format!("{} (server said: {remote_messages})", rejection.reason)
    };
    let forbidden = reason.to_ascii_lowercase().contains("forbidden");
    if forbidden && rejection.reference.starts_with("refs/heads/") {
        let denied = format!("DENIED update {}: forbidden", rejection.reference);
        return HfGitError::WriteForbidden {
            target: target.to_owned(),
            reason: if remote_messages.contains(&denied) {
                denied
            } else {
                reason
            },
            reference: rejection.reference,
        };
    }
    if forbidden {
        return HfGitError::Authentication {
            target: rejection.reference,
            detail: format!(
                "the token may not write to this repo; use a token with write access. {reason}"
            ),
        };
    }
    HfGitError::PushRejected {
        reference: rejection.reference,
        reason,
    }
}
