//! Running a notebook's clone cell again: `clone()` into a directory that already holds a
//! finished clone of the same remote opens it instead of failing, so "Run all" works on a
//! notebook whose first cell clones.
//!
//! Opening changes nothing unless asked: the checked-out branch, the work tree and uncommitted
//! edits stay as they are (`pull=True` fast-forwards the branch, as `Repository.pull()` would).
//! The remote counts as the same when `origin`'s URL names the same scheme, host, port and
//! repository path (ignoring a trailing `/` or `.git`, and any credentials a URL may hold). A
//! work tree of another remote is refused with [`HfGitError::OtherRepository`], naming both; a
//! clone that was killed before it finished, or a directory that holds no repository, is left
//! to the clone itself (which resumes the first and refuses a non-empty second).

use std::path::{Path, PathBuf};

use git2::Repository;
use url::Url;

use super::pull::{pull, PullRequest};
use super::revision::{current_branch, head_commit, resolve_commit};
use crate::auth::TokenRequest;
use crate::error::{HfGitError, Result};
use crate::hub::{parse_remote, RemoteSpec};
use crate::progress::Monitor;

pub struct ReopenRequest {
    pub remote: RemoteSpec,
    pub local_dir: PathBuf,
    pub token: TokenRequest,
    /// What the clone call asked to check out; only compared, never checked out here.
    pub revision: Option<String>,
    /// Fast-forward the checked-out branch from the remote.
    pub pull: bool,
}

/// The directory when it holds a finished clone of `request.remote` (pulled if asked); `None`
/// when it holds no finished clone, so the clone should go ahead.
pub fn reopen_clone(request: ReopenRequest, monitor: &Monitor) -> Result<Option<PathBuf>> {
    let local_dir = request.local_dir.clone();
    if !local_dir.join(".git").exists() {
        return Ok(None);
    }
    let repo = match super::open_work_tree(&local_dir) {
        Ok(repo) => repo,
        // Left to the clone: it resumes an interrupted clone, and refuses anything else that is
        // not empty.
        Err(HfGitError::CloneInterrupted { .. } | HfGitError::NotARepository { .. }) => {
            return Ok(None)
        }
        Err(err) => return Err(err),
    };
    let Some(stored) = origin_of(&repo) else {
        return if repo.references()?.next().is_none() {
            Ok(None) // a clone killed before it wrote anything: the clone starts over
        } else {
            Err(HfGitError::OtherRepository {
                path: local_dir,
                detail: describe_other(None, &request.remote),
            })
        };
    };
    if !same_remote(&stored, &request.remote.url) {
        return Err(HfGitError::OtherRepository {
            path: local_dir,
            detail: describe_other(Some(&stored), &request.remote),
        });
    }
    let place = match current_branch(&repo) {
        Some(branch) => format!("on branch '{branch}'"),
        None => match head_commit(&repo)? {
            Some(commit) => format!("at {} (detached)", &commit.id().to_string()[..12]),
            None => "with no commits".to_owned(),
        },
    };
    monitor.notice(format!(
        "{} already holds a clone of {} {place}; it was opened as it is{}",
        local_dir.display(),
        request.remote.clean_url(),
        if request.pull {
            ""
        } else {
            " (pass pull=True to fast-forward it)"
        }
    ));
    if let Some(revision) = &request.revision {
        if !is_at(&repo, revision) {
            // A warning, not a notice: a notebook shows warnings, and a user who changed the
            // revision in the clone cell would otherwise train on the old one unawares.
            monitor.warning(format!(
                "the existing clone is not at revision '{revision}' and was not switched to it: \
                 repo.checkout({revision:?}) does that"
            ));
        }
    }
    drop(repo);
    if request.pull {
        pull_existing(&local_dir, request.token, monitor)?;
    }
    Ok(Some(local_dir))
}

fn pull_existing(local_dir: &Path, token: TokenRequest, monitor: &Monitor) -> Result<()> {
    let repo = super::open_work_tree(local_dir)?;
    if current_branch(&repo).is_none() || head_commit(&repo)?.is_none() {
        monitor.notice("nothing was pulled: no branch with commits is checked out");
        return Ok(());
    }
    drop(repo);
    let outcome = pull(
        PullRequest {
            local_dir: local_dir.to_path_buf(),
            token,
            remote_name: "origin".to_owned(),
            rebase: false,
        },
        monitor,
    )?;
    monitor.notice(if outcome.old_head == outcome.new_head {
        "pulled: already up to date".to_owned()
    } else {
        format!(
            "pulled: fast-forwarded from {} to {}",
            &outcome.old_head.to_string()[..12],
            &outcome.new_head.to_string()[..12]
        )
    });
    Ok(())
}

/// Whether HEAD is the branch `revision` names, or at the commit it names.
fn is_at(repo: &Repository, revision: &str) -> bool {
    let short = revision.strip_prefix("refs/heads/").unwrap_or(revision);
    if current_branch(repo).as_deref() == Some(short) {
        return true;
    }
    let head = head_commit(repo).ok().flatten().map(|c| c.id());
    current_branch(repo).is_none()
        && resolve_commit(repo, revision).ok().map(|c| c.id()) == head
        && head.is_some()
}

/// `origin`'s URL, credentials taken out.
pub(super) fn origin_of(repo: &Repository) -> Option<Url> {
    let remote = repo.find_remote("origin").ok()?;
    let url = remote.url().ok()?;
    parse_remote(url, None, None, None)
        .ok()
        .map(|spec| spec.url)
}

/// Whether two remote URLs name the same repository.
pub(super) fn same_remote(a: &Url, b: &Url) -> bool {
    let path = |url: &Url| {
        let trimmed = url.path().trim_end_matches('/');
        trimmed.strip_suffix(".git").unwrap_or(trimmed).to_owned()
    };
    a.scheme() == b.scheme()
        && a.host_str().map(str::to_ascii_lowercase) == b.host_str().map(str::to_ascii_lowercase)
        && a.port_or_known_default() == b.port_or_known_default()
        && path(a) == path(b)
}

/// "a clone of X, not of Y", for [`HfGitError::OtherRepository`].
pub(super) fn describe_other(stored: Option<&Url>, wanted: &RemoteSpec) -> String {
    match stored {
        Some(url) => format!(
            "a clone of {}, not of {}",
            url.as_str().trim_end_matches('/'),
            wanted.clean_url()
        ),
        None => format!(
            "with no remote named origin, so not a clone of {}",
            wanted.clean_url()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    #[test]
    fn the_same_repository_is_recognised_through_spelling_differences() {
        let stored = url("https://huggingface.co/alice/model");
        for same in [
            "https://huggingface.co/alice/model/",
            "https://huggingface.co/alice/model.git",
            "https://HuggingFace.co:443/alice/model",
        ] {
            assert!(same_remote(&stored, &url(same)), "{same}");
        }
        for other in [
            "https://huggingface.co/alice/other",
            "https://huggingface.co/datasets/alice/model",
            "http://huggingface.co/alice/model",
            "https://hf-mirror.com/alice/model",
        ] {
            assert!(!same_remote(&stored, &url(other)), "{other}");
        }
    }
}
