//! `create_repo`: `POST /api/repos/create`, as huggingface_hub's `HfApi.create_repo` calls it.
//!
//! The body is `{"name", "organization", "type", "private"}` (a repo id without a namespace goes
//! to the token owner's). A repo that exists already is a 409; with `exist_ok` that is success,
//! and so is a 401/402/403 when the repo turns out to exist (huggingface_hub then asks
//! `GET /api/{type}s/{repo_id}`: a token that may not create in a namespace may still read a repo
//! there). huggingface_hub sends `visibility` since 2026-03 and `private` before; the Hub still
//! answers clients that send `private`, which is what is sent here.

use serde_json::json;

use super::{text_field, ApiError, HubApi};
use crate::error::{HfGitError, Result};
use crate::hub::HubRepo;
use crate::hub::RepoType;
use crate::progress::Monitor;

/// The Space SDKs huggingface_hub accepts (`constants.SPACES_SDK_TYPES`).
pub const SPACE_SDKS: [&str; 4] = ["gradio", "docker", "static", "streamlit"];

/// What to create.
#[derive(Debug, Clone)]
pub struct CreateRepo {
    pub repo_id: String,
    pub repo_type: RepoType,
    /// `None` leaves the choice to the Hub (public, unless the namespace defaults to private).
    pub private: Option<bool>,
    pub exist_ok: bool,
    /// Required for Spaces: which SDK runs it.
    pub space_sdk: Option<String>,
}

/// Create the repo on `api`'s Hub; returns its URL (the clone URL).
pub fn create_repo(api: &HubApi, request: &CreateRepo, monitor: &Monitor) -> Result<String> {
    let repo = HubRepo::new(api.endpoint(), request.repo_type, &request.repo_id)?;
    let body = request_body(request)?;
    let target = repo.web_url();
    let created = api.post_json(
        &format!("{}/api/repos/create", api.endpoint()),
        &body,
        monitor,
    );
    match created {
        Ok(answer) => Ok(text_field(&answer, "url")
            .filter(|url| url.starts_with("http://") || url.starts_with("https://"))
            .map_or_else(|| repo.web_url(), str::to_owned)),
        Err(ApiError::Status { status: 409, .. }) if request.exist_ok => Ok(repo.web_url()),
        Err(ApiError::Status {
            status: 409,
            message,
        }) => Err(HfGitError::RepositoryExists {
            target,
            reason: if message.is_empty() {
                "the Hub answered 409".to_owned()
            } else {
                message.trim_end_matches(['.', ' ']).to_owned()
            },
        }),
        Err(ApiError::Status { status, message })
            if request.exist_ok && matches!(status, 401..=403) =>
        {
            if repo_exists(api, &repo, monitor) {
                Ok(repo.web_url())
            } else {
                Err(ApiError::Status { status, message }.into_error(
                    &target,
                    "creating the repo",
                    api.has_token(),
                ))
            }
        }
        Err(error) => Err(error.into_error(&target, "creating the repo", api.has_token())),
    }
}

fn request_body(request: &CreateRepo) -> Result<serde_json::Value> {
    let (organization, name) = match request.repo_id.split_once('/') {
        Some((namespace, name)) => (Some(namespace), name),
        None => (None, request.repo_id.as_str()),
    };
    let mut body = json!({
        "name": name,
        "organization": organization,
        "type": request.repo_type.as_str(),
    });
    if let Some(private) = request.private {
        body["private"] = json!(private);
    }
    match (request.repo_type, request.space_sdk.as_deref()) {
        (RepoType::Space, Some(sdk)) if SPACE_SDKS.contains(&sdk) => body["sdk"] = json!(sdk),
        (RepoType::Space, sdk) => {
            return Err(HfGitError::invalid(format!(
                "a Space needs space_sdk= one of {} (got {sdk:?})",
                SPACE_SDKS.join(", ")
            )))
        }
        (_, Some(_)) => {
            return Err(HfGitError::invalid(
                "space_sdk= only applies to repo_type=\"space\"",
            ))
        }
        (_, None) => {}
    }
    Ok(body)
}

/// `GET /api/{type}s/{repo_id}` answers 200: the repo is there and this token may read it.
fn repo_exists(api: &HubApi, repo: &HubRepo, monitor: &Monitor) -> bool {
    let url = format!(
        "{}/api/{}/{}",
        repo.endpoint,
        repo.repo_type.api_segment(),
        repo.repo_id
    );
    api.get_json(&url, monitor).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(repo_id: &str, repo_type: RepoType) -> CreateRepo {
        CreateRepo {
            repo_id: repo_id.to_owned(),
            repo_type,
            private: None,
            exist_ok: false,
            space_sdk: None,
        }
    }

    #[test]
    fn the_body_splits_namespace_and_name_as_huggingface_hub_does() {
        let body = request_body(&CreateRepo {
            private: Some(true),
            ..request("alice/bert", RepoType::Model)
        })
        .unwrap();
        assert_eq!(
            body,
            json!({"name": "bert", "organization": "alice", "type": "model", "private": true})
        );
        let body = request_body(&request("data", RepoType::Dataset)).unwrap();
        assert_eq!(
            body,
            json!({"name": "data", "organization": null, "type": "dataset"})
        );
    }

    #[test]
    fn spaces_need_a_known_sdk_and_only_spaces_take_one() {
        assert!(request_body(&request("a/s", RepoType::Space)).is_err());
        let space = CreateRepo {
            space_sdk: Some("gradio".into()),
            ..request("a/s", RepoType::Space)
        };
        assert_eq!(request_body(&space).unwrap()["sdk"], "gradio");
        let model = CreateRepo {
            space_sdk: Some("gradio".into()),
            ..request("a/m", RepoType::Model)
        };
        assert!(request_body(&model).is_err());
    }
}
