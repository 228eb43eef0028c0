//! Which remote branch a local branch pushes to and pulls from, and the remote's clean URL.

use git2::Repository;

use crate::error::{HfGitError, Result};
use crate::hub::{parse_remote, RemoteSpec};

/// Where the current branch goes on the remote.
pub struct Upstream {
    /// The local ref pushed (`refs/heads/x`), or `HEAD` when detached.
    pub local_ref: String,
    /// The short name of the local branch, if HEAD is on one.
    pub local_branch: Option<String>,
    pub remote_name: String,
    /// The short branch name on the remote, or a pull request's full `refs/pr/N`.
    pub remote_branch: String,
}

impl Upstream {
    pub fn remote_ref(&self) -> String {
        if self.remote_branch.starts_with("refs/pr/") {
            return self.remote_branch.clone();
        }
        format!("refs/heads/{}", self.remote_branch)
    }

    /// `refs/remotes/<remote>/<branch>`; a pull request's `refs/pr/N` is tracked at
    /// `refs/remotes/<remote>/pr/N`.
    pub fn tracking_ref(&self) -> String {
        let short = self
            .remote_branch
            .strip_prefix("refs/")
            .filter(|rest| rest.starts_with("pr/"))
            .unwrap_or(&self.remote_branch);
        format!("refs/remotes/{}/{short}", self.remote_name)
    }
}

/// Resolve the upstream of HEAD; `branch` overrides the remote branch name.
pub fn resolve_upstream(
    repo: &Repository,
    remote_name: &str,
    branch: Option<&str>,
) -> Result<Upstream> {
    let head = repo.head().map_err(|err| match err.code() {
        git2::ErrorCode::UnbornBranch => HfGitError::invalid("the repository has no commits yet"),
        _ => HfGitError::from(err),
    })?;
    let local_branch = head
        .is_branch()
        .then(|| head.shorthand().ok().map(str::to_owned))
        .flatten();
    let workdir = repo.workdir().unwrap_or(repo.path()).to_path_buf();
    let branch = branch.map(|b| b.strip_prefix("refs/heads/").unwrap_or(b).to_owned());
    let (local_ref, remote_branch) = match (&local_branch, branch) {
        (_, Some(explicit)) if explicit.is_empty() => {
            return Err(HfGitError::invalid("branch= is empty"));
        }
        (Some(local), Some(explicit)) => (format!("refs/heads/{local}"), explicit),
        (None, Some(explicit)) => ("HEAD".to_owned(), explicit),
        (None, None) => return Err(HfGitError::DetachedHead {
            path: workdir,
            advice:
                "check out a branch, or pass branch= to push() to say which remote branch to update",
        }),
        (Some(local), None) => {
            // A branch made from a pull request (`clone(revision="refs/pr/N")`) merges
            // `refs/pr/N`, and goes back there.
            let merge = repo
                .config()?
                .get_string(&format!("branch.{local}.merge"))
                .ok()
                .and_then(|m| {
                    m.strip_prefix("refs/heads/")
                        .map(str::to_owned)
                        .or_else(|| m.starts_with("refs/pr/").then_some(m.clone()))
                });
            (
                format!("refs/heads/{local}"),
                merge.unwrap_or_else(|| local.clone()),
            )
        }
    };
    Ok(Upstream {
        local_ref,
        local_branch,
        remote_name: remote_name.to_owned(),
        remote_branch,
    })
}

/// The remote's URL as a [`RemoteSpec`]: credentials a URL may carry (a clone made the old way,
/// with the token in the URL) are taken out and offered as the token, never sent in the URL.
pub fn remote_spec(repo: &Repository, remote_name: &str) -> Result<RemoteSpec> {
    let remote = repo.find_remote(remote_name).map_err(|_| {
        HfGitError::invalid(format!(
            "the repository has no remote named {remote_name:?}"
        ))
    })?;
    let url = remote
        .pushurl()
        .ok()
        .flatten()
        .or(remote.url().ok())
        .ok_or_else(|| HfGitError::invalid(format!("remote {remote_name:?} has no URL")))?;
    parse_remote(url, None, None, None)
}

/// The stored URL of `remote_name`, without any credentials, for display.
pub fn display_url(repo: &Repository, remote_name: &str) -> Option<String> {
    let remote = repo.find_remote(remote_name).ok()?;
    Some(crate::auth::redact::redact_text(remote.url().ok()?))
}
