//! What the local operations (checkout, reset, tags, diff, show, ...) share: reading a revision a
//! user names the way git does, checking ref names up front, and finding where LFS objects come
//! from.
//!
//! A revision is anything `git rev-parse` reads: a branch (`main`), a remote-tracking branch
//! (`origin/main`), a tag, a commit id or a prefix of one, `HEAD~2`. One that names nothing is a
//! [`HfGitError::RevisionNotFound`] raised before anything changes, so a typo never costs work.

use git2::{Commit, Repository};
use url::Url;

use super::upstream::remote_spec;
use crate::auth::{resolve_token, ProcessEnv, TokenRequest};
use crate::error::{HfGitError, Result};

/// The commit `revision` names (a tag is followed to its commit).
pub fn resolve_commit<'r>(repo: &'r Repository, revision: &str) -> Result<Commit<'r>> {
    let not_found = || HfGitError::RevisionNotFound {
        revision: revision.to_owned(),
        target: work_tree_name(repo),
    };
    if revision.trim().is_empty() {
        return Err(HfGitError::invalid("the revision is empty"));
    }
    let object = repo.revparse_single(revision).map_err(|_| not_found())?;
    object.peel_to_commit().map_err(|_| not_found())
}

/// The commit HEAD is on, or `None` before the first commit.
pub fn head_commit(repo: &Repository) -> Result<Option<Commit<'_>>> {
    match repo.head() {
        Ok(head) => Ok(Some(head.peel_to_commit()?)),
        Err(err) if err.code() == git2::ErrorCode::UnbornBranch => Ok(None),
        Err(err) => Err(err.into()),
    }
}

/// The checked-out branch's short name, `None` when HEAD is detached. Before the first commit it
/// is the branch HEAD names.
pub fn current_branch(repo: &Repository) -> Option<String> {
    let head = repo.find_reference("HEAD").ok()?;
    let target = head.symbolic_target().ok()??;
    target.strip_prefix("refs/heads/").map(str::to_owned)
}

/// Refuse a branch or tag name git would refuse (`git check-ref-format`), with the reason.
pub fn check_ref_name(kind: &str, name: &str) -> Result<()> {
    let prefix = if kind == "tag" {
        "refs/tags/"
    } else {
        "refs/heads/"
    };
    let valid = !name.is_empty()
        && name != "HEAD"
        && !name.starts_with('-')
        && !name.starts_with("refs/")
        && git2::Reference::is_valid_name(&format!("{prefix}{name}"));
    if valid {
        Ok(())
    } else {
        Err(HfGitError::invalid(format!(
            "{name:?} is not a valid {kind} name: git refuses names that are empty, start with \
             '-' or 'refs/', are 'HEAD', or contain spaces, '..', '~', '^', ':', '?', '*', '[', \
             '\\\\' or '@{{'"
        )))
    }
}

/// The work tree's path, for messages.
pub fn work_tree_name(repo: &Repository) -> String {
    repo.workdir().unwrap_or(repo.path()).display().to_string()
}

/// Where the LFS objects of a local checkout come from: `remote_name`'s clean URL and the token
/// for it; `None` when the repository has no such remote (then no LFS object is downloaded, and
/// LFS files whose objects are not in the store stay pointers).
pub struct RemoteForLfs {
    pub remote_name: String,
    pub url: Url,
    pub token: Option<secrecy::SecretString>,
}

impl RemoteForLfs {
    pub fn find(repo: &Repository, remote_name: &str, token: TokenRequest) -> Option<Self> {
        let spec = remote_spec(repo, remote_name).ok()?;
        let token = resolve_token(token, spec.url_token, &ProcessEnv);
        Some(Self {
            remote_name: remote_name.to_owned(),
            url: spec.url,
            token,
        })
    }

    pub fn source(&self, concurrency: usize) -> super::advance::LfsSource<'_> {
        super::advance::LfsSource {
            remote_name: &self.remote_name,
            remote_url: &self.url,
            token: self.token.clone(),
            concurrency,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ref_names_git_refuses_are_refused() {
        for bad in [
            "",
            "HEAD",
            "-x",
            "a b",
            "a..b",
            "a~1",
            "x^",
            "a:b",
            "a?",
            "a*",
            "[a",
            "a@{1",
            "refs/heads/x",
            "a/",
            "a.lock",
        ] {
            assert!(check_ref_name("branch", bad).is_err(), "{bad:?} accepted");
        }
        for good in ["main", "feature/x", "pr/12", "v1.0", "release-2024.01"] {
            assert!(check_ref_name("tag", good).is_ok(), "{good:?} refused");
        }
    }
}
