//! Pull requests, the Hub's way: a discussion with `pullRequest: true`, whose commits live at
//! `refs/pr/{num}` in the repo itself (no fork, no branch).
//!
//! Opening one is `POST /api/{type}s/{repo_id}/discussions` with `{"title", "description",
//! "pullRequest": true}`; the answer's `num` names the ref (huggingface_hub `HfApi.
//! create_discussion`, `Discussion.git_reference`; hub-2026.md row 6). The Hub creates it as a
//! draft. Looking one up is `GET /api/{type}s/{repo_id}/discussions/{num}` (`get_discussion_
//! details`), which answers 404 for a number the repo does not have and `isPullRequest: false`
//! for a plain discussion. A read token may open a pull request where discussions are enabled
//! (hub-2026.md row 4); a repo whose owner turned them off answers 403, with a text that is not
//! documented (*unconfirmed*), so any 403 here is reported as a refusal with the Hub's own words.

use serde_json::json;

use super::{ApiError, HubApi};
use crate::error::{HfGitError, Result};
use crate::hub::HubRepo;
use crate::progress::Monitor;

/// huggingface_hub's limits on a discussion title, after stripping surrounding whitespace.
pub const TITLE_CHARS: std::ops::RangeInclusive<usize> = 3..=200;

/// An open pull request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequest {
    pub num: u64,
    /// Its page on the Hub.
    pub url: String,
}

impl PullRequest {
    /// The ref its commits live at.
    pub fn git_reference(&self) -> String {
        format!("refs/pr/{}", self.num)
    }
}

/// Open a pull request on `repo` (a draft, as the Hub makes every pull request opened this way).
pub fn open_pull_request(
    api: &HubApi,
    repo: &HubRepo,
    title: &str,
    description: &str,
    monitor: &Monitor,
) -> Result<PullRequest> {
    let title = title.trim();
    if !TITLE_CHARS.contains(&title.chars().count()) {
        return Err(HfGitError::invalid(format!(
            "a pull request title must be {} to {} characters, got {title:?}: pass pr_title=",
            TITLE_CHARS.start(),
            TITLE_CHARS.end()
        )));
    }
    let body = json!({
        "title": title,
        "description": description.trim(),
        "pullRequest": true,
    });
    let target = repo.web_url();
    let answer = api
        .post_json(&repo.api_url("discussions"), &body, monitor)
        .map_err(|error| match error {
            ApiError::Status {
                status: 403,
                message,
            } => HfGitError::PullRequestForbidden {
                target: target.clone(),
                reason: said(403, &message),
            },
            other => other.into_error(&target, "opening a pull request", api.has_token()),
        })?;
    let num = answer
        .get("num")
        .and_then(serde_json::Value::as_u64)
        .ok_or_else(|| HfGitError::Network {
            detail: format!(
                "the Hub opened a pull request on {target} but its answer has no number (num)"
            ),
        })?;
    Ok(PullRequest {
        num,
        url: repo.discussion_url(num),
    })
}

/// The pull request `num` of `repo`; [`HfGitError::PullRequestNotFound`] when the repo has no
/// discussion of that number, or only a plain discussion.
pub fn find_pull_request(
    api: &HubApi,
    repo: &HubRepo,
    num: u64,
    monitor: &Monitor,
) -> Result<PullRequest> {
    let target = repo.web_url();
    let not_found = |reason: String| HfGitError::PullRequestNotFound {
        num,
        target: target.clone(),
        reason,
    };
    let answer = api
        .get_json(&repo.api_url(&format!("discussions/{num}")), monitor)
        .map_err(|error| match error {
            ApiError::Status {
                status: 404,
                message,
            } => not_found(said(404, &message)),
            other => other.into_error(&target, "looking up the pull request", api.has_token()),
        })?;
    if answer
        .get("isPullRequest")
        .and_then(serde_json::Value::as_bool)
        == Some(false)
    {
        return Err(not_found(format!(
            "#{num} is a discussion, not a pull request"
        )));
    }
    Ok(PullRequest {
        num,
        url: repo.discussion_url(num),
    })
}

fn said(status: u16, message: &str) -> String {
    let message = message.trim_end_matches(['.', ' ']);
    if message.is_empty() {
        format!("HTTP {status}")
    } else {
        format!("{message} (HTTP {status})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_outside_huggingface_hubs_limits_are_refused_before_any_request() {
        let api = HubApi::new("http://127.0.0.1:9", None).unwrap();
        let repo = HubRepo::new(api.endpoint(), crate::hub::RepoType::Model, "a/b").unwrap();
        let monitor = Monitor::new();
        for title in ["", "  ab  ", &"x".repeat(201)] {
            let err = open_pull_request(&api, &repo, title, "", &monitor).unwrap_err();
            assert!(matches!(err, HfGitError::InvalidInput(_)), "{err}");
        }
    }

    #[test]
    fn the_pull_request_ref_is_refs_pr_num() {
        let pr = PullRequest {
            num: 7,
            url: String::new(),
        };
        assert_eq!(pr.git_reference(), "refs/pr/7");
    }
}
