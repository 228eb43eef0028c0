//! Pull requests from git: pushing commits to one, and cloning one.
//!
//! On the Hub a pull request is a discussion whose commits live at `refs/pr/{num}` of the repo
//! itself (see [`crate::hub::api::discussions`]). Contributors without write access push there:
//! `push(create_pr=True)` opens one and pushes the current commits to its ref, `push(pr=N)` adds
//! commits to pull request N, and `clone(revision="refs/pr/N")` checks one out on a local branch
//! `pr/N` that pushes back to `refs/pr/N` (the local name the Hub's docs use:
//! `git fetch origin refs/pr/42:pr/42`).
//!
//! A pull request the Hub just opened already has its ref, at the tip of `main` (a new draft
//! shows "Files changed (0)"; *inferred*), which the commits being pushed need not descend from,
//! so the first push to it replaces that ref; pushes to an existing one must fast-forward, as to
//! any branch. The LFS batch of a pull request push names no ref: the Hub refuses a non-writer's
//! upload that names a branch, and huggingface.js and hf-hub leave `ref` out for pull requests
//! (hub-2026.md row 5).

use git2::Repository;
use secrecy::SecretString;
use url::Url;

use crate::error::{HfGitError, Result};
use crate::hub::api::discussions::{find_pull_request, open_pull_request, PullRequest};
use crate::hub::api::HubApi;
use crate::hub::HubRepo;
use crate::progress::Monitor;

/// What a push does with a pull request.
#[derive(Debug, Clone)]
pub enum PullRequestTarget {
    /// Open a new one with the pushed commits. The title defaults to the tip commit's summary
    /// and the description to the rest of its message.
    Open {
        title: Option<String>,
        description: Option<String>,
    },
    /// Push more commits to pull request `num`.
    Existing(u64),
}

/// The pull request a push goes to.
#[derive(Debug, Clone)]
pub(crate) struct PullRequestPush {
    pub pull_request: PullRequest,
    /// Opened by this push: its ref holds nothing of the user's yet and may be replaced.
    pub just_opened: bool,
}

/// Open or look up the pull request `target` names, on the Hub `remote_url` belongs to.
pub(crate) fn open_or_find(
    repo: &Repository,
    target: &PullRequestTarget,
    remote_url: &Url,
    token: Option<SecretString>,
    monitor: &Monitor,
) -> Result<PullRequestPush> {
    let hub_repo = HubRepo::from_remote_url(remote_url)?;
    let api = HubApi::new(&hub_repo.endpoint, token)?;
    match target {
        PullRequestTarget::Existing(num) => Ok(PullRequestPush {
            pull_request: find_pull_request(&api, &hub_repo, *num, monitor)?,
            just_opened: false,
        }),
        PullRequestTarget::Open { title, description } => {
            let (default_title, default_description) = from_head_commit(repo)?;
            let title = title.clone().unwrap_or(default_title);
            let description = description.clone().unwrap_or(default_description);
            let pull_request = open_pull_request(&api, &hub_repo, &title, &description, monitor)?;
            monitor.notice(format!(
                "opened pull request #{} ({}); if this push fails, push again with pr={}",
                pull_request.num, pull_request.url, pull_request.num
            ));
            Ok(PullRequestPush {
                pull_request,
                just_opened: true,
            })
        }
    }
}

/// A title and description from HEAD's commit: its summary line (shortened to the Hub's 200
/// characters), and the rest of its message or a line saying where the pull request came from.
fn from_head_commit(repo: &Repository) -> Result<(String, String)> {
    let head = repo
        .head()
        .and_then(|head| head.peel_to_commit())
        .map_err(|_| HfGitError::invalid("the repository has no commits yet"))?;
    let message = head.message().unwrap_or_default().trim().to_owned();
    let (summary, body) = message.split_once('\n').unwrap_or((&message, ""));
    let summary = summary.trim();
    let title = if summary.chars().count() > 200 {
        format!("{}…", summary.chars().take(199).collect::<String>())
    } else {
        summary.to_owned()
    };
    let body = body.trim();
    let description = if body.is_empty() {
        "Pull request opened with hfgit.".to_owned()
    } else {
        body.to_owned()
    };
    Ok((title, description))
}

/// The `ref` of an LFS upload batch for a push to `remote_ref`: none for a pull request.
pub(crate) fn lfs_batch_ref(remote_ref: &str) -> Option<String> {
    (!remote_ref.starts_with("refs/pr/")).then(|| remote_ref.to_owned())
}

/// `3` for `refs/pr/3`.
pub(crate) fn pull_request_number(revision: &str) -> Option<u64> {
    let digits = revision.strip_prefix("refs/pr/")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.starts_with('0') {
        return None;
    }
    digits.parse().ok()
}

/// The fetch refspec that keeps a clone's copy of pull request `num` current.
pub(crate) fn fetch_refspec(remote_name: &str, num: u64) -> String {
    format!("+refs/pr/{num}:refs/remotes/{remote_name}/pr/{num}")
}

/// After a clone of `target` fetched pull request `num`: make the local branch `pr/{num}` at its
/// commit, tracking `refs/pr/{num}` (so `push()` and `pull()` go back there), and put HEAD on it.
/// The work tree is checked out by the caller.
pub(crate) fn start_pull_request_branch(
    repo: &Repository,
    remote_name: &str,
    num: u64,
    target: &str,
) -> Result<()> {
    let fetched = format!("refs/remotes/{remote_name}/pr/{num}");
    let commit = repo
        .find_reference(&fetched)
        .and_then(|reference| reference.peel_to_commit())
        .map_err(|_| HfGitError::PullRequestNotFound {
            num,
            target: target.to_owned(),
            reason: format!("the clone did not receive refs/pr/{num}"),
        })?;
    let branch = format!("pr/{num}");
    repo.branch(&branch, &commit, true)?;
    let mut config = repo.config()?;
    config.set_str(&format!("branch.{branch}.remote"), remote_name)?;
    config.set_str(&format!("branch.{branch}.merge"), &format!("refs/pr/{num}"))?;
    repo.set_head(&format!("refs/heads/{branch}"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_refs_pr_with_a_number_names_a_pull_request() {
        assert_eq!(pull_request_number("refs/pr/3"), Some(3));
        assert_eq!(pull_request_number("refs/pr/120"), Some(120));
        for other in [
            "refs/pr/",
            "refs/pr/03",
            "refs/pr/3a",
            "pr/3",
            "refs/heads/pr/3",
        ] {
            assert_eq!(pull_request_number(other), None, "{other}");
        }
    }

    #[test]
    fn lfs_batches_of_pull_request_pushes_name_no_ref() {
        assert_eq!(lfs_batch_ref("refs/pr/2"), None);
        assert_eq!(
            lfs_batch_ref("refs/heads/main").as_deref(),
            Some("refs/heads/main")
        );
    }

    #[test]
    fn the_title_is_the_summary_and_the_description_the_rest_of_the_message() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        let commit = |message: &str| {
            let tree = repo.treebuilder(None).unwrap().write().unwrap();
            let tree = repo.find_tree(tree).unwrap();
            let signature = git2::Signature::now("a", "a@b").unwrap();
            let parents: Vec<git2::Commit> = repo
                .head()
                .ok()
                .and_then(|h| h.peel_to_commit().ok())
                .into_iter()
                .collect();
            let parents: Vec<&git2::Commit> = parents.iter().collect();
            repo.commit(
                Some("HEAD"),
                &signature,
                &signature,
                message,
                &tree,
                &parents,
            )
            .unwrap();
        };
        commit("Fix the tokenizer\n\nIt dropped the last token.\n");
        assert_eq!(
            from_head_commit(&repo).unwrap(),
            (
                "Fix the tokenizer".to_owned(),
                "It dropped the last token.".to_owned()
            )
        );
        commit(&"y".repeat(300));
        let (title, description) = from_head_commit(&repo).unwrap();
        assert_eq!(title.chars().count(), 200);
        assert_eq!(description, "Pull request opened with hfgit.");
    }
}
