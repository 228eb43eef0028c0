//! Which Hub, which repo type, which repo: what the Hub API needs, read back from a git remote.
//!
//! A clone only remembers its remote URL (`{endpoint}/{prefix}{repo_id}`, hub-protocol.md §1), but
//! the API calls a push may make (opening a pull request) need the endpoint, the repo type and the
//! repo id separately. They are recovered here with the same layout rules the URL was built with:
//! the repo id is the last one or two path segments (minus `.git`), a `datasets/`, `spaces/` or
//! `models/` segment just before it gives the type, and whatever comes before that is part of the
//! endpoint (a Hub mirror served under a path).

use url::Url;

use super::repo_ref::{validate_repo_id, RepoType};
use crate::error::{HfGitError, Result};

/// One repository on one Hub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubRepo {
    /// The Hub's base URL, without a trailing slash (`https://huggingface.co`).
    pub endpoint: String,
    pub repo_type: RepoType,
    /// `namespace/name`, or a bare `name` for legacy repos.
    pub repo_id: String,
}

impl HubRepo {
    /// A repo named by the caller; the id is checked as huggingface_hub checks it.
    pub fn new(endpoint: &str, repo_type: RepoType, repo_id: &str) -> Result<Self> {
        validate_repo_id(repo_id)?;
        Ok(Self {
            endpoint: endpoint.trim_end_matches('/').to_owned(),
            repo_type,
            repo_id: repo_id.to_owned(),
        })
    }

    /// The repo a git remote URL (already free of credentials) points at.
    pub fn from_remote_url(url: &Url) -> Result<Self> {
        let not_a_hub_url = || {
            HfGitError::invalid(format!(
                "{} does not look like a Hub repository URL ({{endpoint}}/[datasets/|spaces/]{{namespace}}/{{name}})",
                crate::lfs::transfer::short_url(url)
            ))
        };
        let mut segments: Vec<&str> = url
            .path_segments()
            .map(|segments| segments.filter(|s| !s.is_empty()).collect())
            .unwrap_or_default();
        let last = segments.pop().ok_or_else(not_a_hub_url)?;
        let name = last.strip_suffix(".git").unwrap_or(last);
        let type_of = |segment: &str| match segment {
            "datasets" => Some(RepoType::Dataset),
            "spaces" => Some(RepoType::Space),
            "models" => Some(RepoType::Model),
            _ => None,
        };
        // `datasets/squad` is a legacy dataset without a namespace, not the user "datasets".
        let namespace = match segments.last() {
            Some(segment) if type_of(segment).is_none() => segments.pop(),
            _ => None,
        };
        let repo_type = match segments.last().copied().and_then(type_of) {
            Some(repo_type) => {
                segments.pop();
                repo_type
            }
            None => RepoType::Model,
        };
        let repo_id = match namespace {
            Some(namespace) => format!("{namespace}/{name}"),
            None => name.to_owned(),
        };
        validate_repo_id(&repo_id).map_err(|_| not_a_hub_url())?;
        let mut endpoint = url.clone();
        endpoint.set_query(None);
        endpoint.set_fragment(None);
        endpoint.set_path(&segments.join("/"));
        Ok(Self {
            endpoint: endpoint.as_str().trim_end_matches('/').to_owned(),
            repo_type,
            repo_id,
        })
    }

    /// `{endpoint}/api/{type}s/{repo_id}`: the root of this repo's API routes.
    pub fn api_url(&self, rest: &str) -> String {
        format!(
            "{}/api/{}/{}/{rest}",
            self.endpoint,
            self.repo_type.api_segment(),
            self.repo_id
        )
    }

    /// The repo's page (and clone URL): `{endpoint}/{prefix}{repo_id}`.
    pub fn web_url(&self) -> String {
        format!(
            "{}/{}{}",
            self.endpoint,
            self.repo_type.url_prefix(),
            self.repo_id
        )
    }

    /// A discussion's or pull request's page, as huggingface_hub's `Discussion.url` builds it.
    pub fn discussion_url(&self, num: u64) -> String {
        format!("{}/discussions/{num}", self.web_url())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(url: &str) -> HubRepo {
        HubRepo::from_remote_url(&Url::parse(url).unwrap()).unwrap()
    }

    #[test]
    fn model_dataset_and_space_urls_give_their_type_and_id() {
        let model = from("https://huggingface.co/alice/bert");
        assert_eq!(
            (
                model.endpoint.as_str(),
                model.repo_type,
                model.repo_id.as_str()
            ),
            ("https://huggingface.co", RepoType::Model, "alice/bert")
        );
        let dataset = from("https://huggingface.co/datasets/alice/data.git");
        assert_eq!(
            (dataset.repo_type, dataset.repo_id.as_str()),
            (RepoType::Dataset, "alice/data")
        );
        let space = from("http://127.0.0.1:8080/spaces/alice/demo/");
        assert_eq!(space.endpoint, "http://127.0.0.1:8080");
        assert_eq!(
            (space.repo_type, space.repo_id.as_str()),
            (RepoType::Space, "alice/demo")
        );
    }

    #[test]
    fn legacy_ids_without_namespace_and_endpoints_under_a_path_are_understood() {
        let gpt2 = from("https://huggingface.co/gpt2");
        assert_eq!(
            (gpt2.repo_type, gpt2.repo_id.as_str()),
            (RepoType::Model, "gpt2")
        );
        let squad = from("https://huggingface.co/datasets/squad");
        assert_eq!(
            (squad.repo_type, squad.repo_id.as_str()),
            (RepoType::Dataset, "squad")
        );
        let mirror = from("https://mirror.example/hub/datasets/alice/data");
        assert_eq!(mirror.endpoint, "https://mirror.example/hub");
        assert_eq!(mirror.repo_id, "alice/data");
    }

    #[test]
    fn api_web_and_discussion_urls_follow_the_hub_layout() {
        let dataset = from("https://huggingface.co/datasets/alice/data");
        assert_eq!(
            dataset.api_url("discussions"),
            "https://huggingface.co/api/datasets/alice/data/discussions"
        );
        assert_eq!(
            dataset.discussion_url(3),
            "https://huggingface.co/datasets/alice/data/discussions/3"
        );
        let model = from("https://huggingface.co/alice/bert");
        assert_eq!(
            model.discussion_url(1),
            "https://huggingface.co/alice/bert/discussions/1"
        );
    }

    #[test]
    fn urls_without_a_repo_are_refused() {
        for url in ["https://huggingface.co/", "https://huggingface.co/a..b"] {
            assert!(
                HubRepo::from_remote_url(&Url::parse(url).unwrap()).is_err(),
                "{url}"
            );
        }
    }
}
