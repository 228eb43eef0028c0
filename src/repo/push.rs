//! Sending the current branch to the Hub.
//!
//! A push is only reported as done when every ref was accepted: libgit2 returns success even
//! when the server refused a ref, and says so only through `push_update_reference`, so refusals
//! are collected there and raised. Nothing local changes on failure; on success the
//! remote-tracking ref is moved, as `git push` does. LFS objects go to the endpoint git-lfs's
//! settings choose for uploads (`lfs.pushurl`, `lfs.url`, `remote.<name>.lfspushurl`, ...).
//!
//! With `rebase=True`, a push the remote is ahead of (its tip is not in the local history, or the
//! server refused the ref and a fetch shows it moved) fetches, replays the unpushed commits on the
//! remote's tip as `pull(rebase=True)` does, and goes again, up to [`MAX_REBASES`] times while
//! other writers keep moving the branch. LFS objects are uploaded before each attempt, and the
//! batch API answers that the server already has those of an earlier one, so none goes up twice.
//!
//! A push can also go to a pull request's `refs/pr/N` instead of a branch, opening the pull
//! request first when asked to (see [`super::pull_request`]).

use std::cell::Cell;
use std::path::PathBuf;

use git2::{Direction, Oid, Repository};
use secrecy::SecretString;
use url::Url;

use super::advance::LfsSource;
use super::lock::{lock_index, lock_pushes};
use super::pull::{fetch_upstream, integrate};
use super::pull_request::{lfs_batch_ref, open_or_find, PullRequestTarget};
use super::upstream::{remote_spec, resolve_upstream, Upstream};
use crate::auth::{resolve_token, ProcessEnv, TokenRequest};
use crate::error::{HfGitError, Result};
use crate::hub::api::discussions::PullRequest;
use crate::lfs::publish::upload_pushed_objects;
use crate::lfs::transfer::{LfsTransferMode, TransferConfig};
use crate::progress::{Monitor, Phase};
use crate::remote::{retrying_rate_limits, RefRejection, RemoteSession};

/// How many times one `push(rebase=True)` fetches and rebases before it gives up on a remote that
/// keeps moving.
pub const MAX_REBASES: usize = 3;

pub struct PushRequest {
    pub local_dir: PathBuf,
    pub token: TokenRequest,
    pub remote_name: String,
    pub branch: Option<String>,
    pub force: bool,
    /// When the remote has commits the branch lacks, replay the branch's unpushed commits on
    /// them and push again, instead of failing.
    pub rebase: bool,
    /// How many LFS transfers may run at once.
    pub lfs_concurrency: usize,
    /// Which LFS upload transfer to ask for; `None`: `HFGIT_LFS_TRANSFER`, else `auto` (Xet when
    /// the server offers it).
    pub lfs_transfer: Option<LfsTransferMode>,
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
    /// Bytes sent to LFS storage: `lfs_bytes` with basic/multipart, only the new chunks with Xet.
    pub lfs_bytes_sent: u64,
    /// Bytes of Xet-uploaded objects that storage already had.
    pub lfs_bytes_deduplicated: u64,
    /// With `rebase`: each unpushed local commit (oldest first) and the copy replayed on the
    /// remote's new commits, `None` when dropped because the remote already had its change.
    pub rebased: Vec<(Oid, Option<Oid>)>,
    /// The pull request the commits went to, if the push went to one.
    pub pull_request: Option<PullRequest>,
}

pub fn push(mut request: PushRequest, monitor: &Monitor) -> Result<PushOutcome> {
    if request.force && request.rebase {
        return Err(HfGitError::invalid(
            "force=True overwrites the remote's commits and rebase=True keeps them; pass only one",
        ));
    }
    let repo = super::open_work_tree(&request.local_dir)?;
    // One push or pull of this repository at a time (see [`super::lock`]).
    let _pushes = lock_pushes(&repo, monitor)?;
    let spec = remote_spec(&repo, &request.remote_name)?;
    let token = resolve_token(
        std::mem::take(&mut request.token),
        spec.url_token,
        &ProcessEnv,
    );
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
    // A pull request opened just now holds nothing of the user's: its ref may be replaced.
    request.force |= pull_request.as_ref().is_some_and(|pr| pr.just_opened);
    let remote_url = spec.url;
    let lfs_config = TransferConfig {
        concurrency: request.lfs_concurrency.max(1),
        ref_name: lfs_batch_ref(&upstream.remote_ref()),
        transfer: request.lfs_transfer,
        ..TransferConfig::default()
    };

    let mut rebased = Vec::new();
    let (mut lfs_objects, mut lfs_bytes) = (0, 0);
    let (mut lfs_bytes_sent, mut lfs_bytes_deduplicated) = (0, 0);
    for attempt in 0..=MAX_REBASES {
        let local_tip = repo.refname_to_id(&upstream.local_ref)?;
        let lfs = upload_pushed_objects(
            &repo,
            local_tip,
            &request.remote_name,
            &remote_url,
            token.clone(),
            &lfs_config,
            monitor,
        )
        .map_err(|err| write_forbidden(err, remote_url.as_str(), &upstream.remote_ref()))?;
        lfs_objects += lfs.transferred;
        lfs_bytes += lfs.bytes;
        lfs_bytes_sent += lfs.sent_bytes;
        lfs_bytes_deduplicated += lfs.deduplicated_bytes;
        let refused = match retrying_rate_limits(monitor, |may_retry| {
            send(
                &repo,
                &upstream,
                local_tip,
                &request,
                &remote_url,
                token.clone(),
                may_retry,
                monitor,
            )
        })? {
            Sent::Accepted { url, old } => {
                repo.reference(&upstream.tracking_ref(), local_tip, true, "update by push")?;
                monitor.report(Phase::Done, 1, 1, monitor.snapshot().bytes);
                return Ok(PushOutcome {
                    remote_url: url,
                    updates: vec![RefUpdate {
                        reference: upstream.remote_ref(),
                        old,
                        new: local_tip,
                    }],
                    lfs_objects,
                    lfs_bytes,
                    lfs_bytes_sent,
                    lfs_bytes_deduplicated,
                    rebased,
                    pull_request: pull_request.map(|pr| pr.pull_request),
                });
            }
            Sent::Refused(refused) => refused,
        };
        if !request.rebase {
            return Err(refused);
        }
        let fetched = fetch_upstream(
            &repo,
            &upstream,
            &remote_url,
            token.clone(),
            "push --rebase: fetch",
            monitor,
        )?;
        if local_tip == fetched || repo.graph_descendant_of(local_tip, fetched)? {
            // The remote has nothing new: the refusal was for another reason, which stands.
            return Err(refused);
        }
        if attempt == MAX_REBASES {
            return Err(gave_up(refused));
        }
        let replayed = rebase_onto(
            &repo,
            &upstream,
            fetched,
            &request,
            &remote_url,
            token.clone(),
            monitor,
        )?;
        record(&mut rebased, replayed);
    }
    unreachable!("the last attempt returns")
}

/// Add one rebase's `(old, new)` pairs to those of the earlier rebases of this push, following a
/// commit replayed again to its latest copy: the caller sees each original commit once.
fn record(rebased: &mut Vec<(Oid, Option<Oid>)>, replayed: Vec<(Oid, Option<Oid>)>) {
    for (old, new) in replayed {
        match rebased
            .iter_mut()
            .find(|(_, earlier)| *earlier == Some(old))
        {
            Some(entry) => entry.1 = new,
            None => rebased.push((old, new)),
        }
    }
}

/// What one connection to the remote made of a push.
enum Sent {
    /// The remote has the local tip now (or had it already); `old` is its previous tip.
    Accepted { url: String, old: Option<Oid> },
    /// The remote refused the ref (`PushRejected`): with `rebase`, possibly because it moved on.
    Refused(HfGitError),
}

/// List the remote's refs and push `local_tip` to the upstream branch, on one connection: the
/// token is offered once, and an up-to-date branch costs one request, as with `git push`,
/// instead of a receive-pack round. With `rebase`, a remote tip the local branch does not
/// contain is refused here, before any pack is built. `may_retry` goes false once the refs are
/// about to be sent: a rate limit after that point is not waited out and sent again.
#[allow(clippy::too_many_arguments)]
fn send(
    repo: &Repository,
    upstream: &Upstream,
    local_tip: Oid,
    request: &PushRequest,
    remote_url: &Url,
    token: Option<SecretString>,
    may_retry: &Cell<bool>,
    monitor: &Monitor,
) -> Result<Sent> {
    let session = RemoteSession::for_repo(repo, remote_url.clone(), token)?;
    let refspec = format!(
        "{}{}:{}",
        if request.force { "+" } else { "" },
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
    let refused = |err: HfGitError| match err {
        HfGitError::PushRejected { .. } => Ok(Sent::Refused(err)),
        other => Err(other),
    };
    let mut connection = remote
        .connect_auth(
            Direction::Push,
            Some(session.callbacks(monitor)),
            Some(session.proxy_options()),
        )
        .map_err(fail)?;
    let remote_tip = connection
        .list()
        .map_err(fail)?
        .iter()
        .find(|head| head.name() == upstream.remote_ref())
        .map(|head| head.oid());
    let url = session.url().to_owned();
    if remote_tip == Some(local_tip) {
        return Ok(Sent::Accepted {
            url,
            old: remote_tip,
        });
    }
    if let Some(tip) = remote_tip.filter(|_| request.rebase) {
        let contained = repo.odb()?.exists(tip) && repo.graph_descendant_of(local_tip, tip)?;
        if !contained {
            return refused(HfGitError::PushRejected {
                reference: upstream.remote_ref(),
                reason: "non-fast-forward: the remote has commits you do not have".to_owned(),
            });
        }
    }
    let mut options = session.push_options(monitor);
    may_retry.set(false);
    if let Err(err) = connection
        .remote()
        .push(&[refspec.as_str()], Some(&mut options))
    {
        return refused(may_have_landed(pack_refused(fail(err))));
    }
    drop(options);
    if let Some(rejection) = session.take_rejections().into_iter().next() {
        return refused(rejection_error(
            rejection,
            &session.remote_messages(),
            session.url(),
        ));
    }
    let old = match session
        .take_proposed()
        .into_iter()
        .find(|update| update.reference == upstream.remote_ref())
    {
        Some(update) => Some(update.old).filter(|old| !old.is_zero()),
        None => remote_tip,
    };
    Ok(Sent::Accepted { url, old })
}

/// Replay the branch's unpushed commits on `fetched`, the remote's new tip, with the index,
/// work tree and LFS files following, as `pull(rebase=True)` does.
fn rebase_onto(
    repo: &Repository,
    upstream: &Upstream,
    fetched: Oid,
    request: &PushRequest,
    remote_url: &Url,
    token: Option<SecretString>,
    monitor: &Monitor,
) -> Result<Vec<(Oid, Option<Oid>)>> {
    if upstream.local_branch.is_none() {
        return Err(HfGitError::DetachedHead {
            path: request.local_dir.clone(),
            advice: "push(rebase=True) replays your commits on the checked-out branch and there \
                     is none; check out a branch first (with git, `git switch main`), or push \
                     without rebase=True",
        });
    }
    // The branch, index and work tree change: no other writer of the index meanwhile.
    let _index = lock_index(repo)?;
    let lfs = LfsSource {
        remote_name: &request.remote_name,
        remote_url,
        token,
        concurrency: request.lfs_concurrency,
    };
    Ok(integrate(repo, upstream, fetched, true, lfs, monitor)?.rebased)
}

/// The LFS server's 403 to a push to a branch: the token may not write there, which a pull
/// request works around.
fn write_forbidden(err: HfGitError, target: &str, remote_ref: &str) -> HfGitError {
    match err {
        HfGitError::Lfs(crate::lfs::LfsError::Forbidden { message })
            if remote_ref.starts_with("refs/heads/") =>
        {
            HfGitError::WriteForbidden {
                target: target.to_owned(),
                reference: remote_ref.to_owned(),
                reason: message,
            }
        }
        other => other,
    }
}

/// The refusal of the last attempt, when the remote moved again after every rebase.
fn gave_up(refused: HfGitError) -> HfGitError {
    match refused {
        HfGitError::PushRejected { reference, reason } => HfGitError::PushRejected {
            reference,
            reason: format!(
                "{reason}. The remote moved again after each of {MAX_REBASES} rebases, so this \
                 push stopped; your commits are kept (rebased on the remote's commits of the \
                 last attempt), and pushing again with rebase=True continues"
            ),
        },
        other => other,
    }
}

/// A 429 to the pack itself: the server refused it, so nothing was applied, and it is not sent
/// again by itself (a push is retried only before its refs go out).
fn pack_refused(err: HfGitError) -> HfGitError {
    match err {
        HfGitError::RateLimited {
            target,
            retry_after,
            detail,
        } => HfGitError::RateLimited {
            detail: format!(
                "{}. That 429 was the answer to the pack itself, so nothing was applied; hfgit \
                 does not send a pack again by itself once its refs went out. Push again {}",
                detail.trim_end_matches('.'),
                match retry_after {
                    Some(wait) => format!("in {} s", crate::net::rate_limit::seconds(wait)),
                    None => "in a few minutes".to_owned(),
                }
            ),
            target,
            retry_after,
        },
        other => other,
    }
}

/// A connection that broke while the pack was sent or the answer awaited leaves the outcome
/// unknown: the server may have applied the push. Say so, and that a second push is safe.
pub(super) fn may_have_landed(err: HfGitError) -> HfGitError {
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

/// A refused ref: a read-only token is an authentication problem, anything else a rejection.
pub(super) fn rejection_error(
    rejection: RefRejection,
    remote_messages: &str,
    target: &str,
) -> HfGitError {
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
