//! `create_repo` and `whoami`: the Hub API calls, argument conversion, then the core off the GIL.

use pyo3::prelude::*;

use super::args::token_request;
use super::blocking::run_blocking;
use crate::auth::{resolve_token, ProcessEnv, TokenRequest};
use crate::hub::api::repos::{create_repo as create_hub_repo, CreateRepo};
use crate::hub::api::whoami::whoami as hub_whoami;
use crate::hub::api::HubApi;
use crate::hub::{resolve_endpoint, RepoType};
use crate::HfGitError;

pub fn register(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_function(wrap_pyfunction!(create_repo, module)?)?;
    module.add_function(wrap_pyfunction!(whoami, module)?)?;
    Ok(())
}

/// The client for `endpoint` (else `HF_ENDPOINT`, else the public Hub) with the resolved token.
fn api(endpoint: Option<&str>, token: TokenRequest) -> Result<HubApi, HfGitError> {
    let endpoint = resolve_endpoint(endpoint, std::env::var("HF_ENDPOINT").ok())?;
    HubApi::new(&endpoint, resolve_token(token, None, &ProcessEnv))
}

/// Create a repo; returns its URL.
#[pyfunction]
#[pyo3(signature = (repo_id, *, repo_type=None, private=None, exist_ok=false, token=None, endpoint=None, space_sdk=None))]
#[allow(clippy::too_many_arguments)]
fn create_repo(
    py: Python<'_>,
    repo_id: String,
    repo_type: Option<&str>,
    private: Option<bool>,
    exist_ok: bool,
    token: Option<&Bound<'_, PyAny>>,
    endpoint: Option<String>,
    space_sdk: Option<String>,
) -> PyResult<String> {
    let request = CreateRepo {
        repo_id: repo_id.trim().to_owned(),
        repo_type: repo_type.map_or(Ok(RepoType::Model), RepoType::parse)?,
        private,
        exist_ok,
        space_sdk,
    };
    let token = token_request(token)?;
    let url = run_blocking(py, None, move |monitor| {
        let api = api(endpoint.as_deref(), token)?;
        create_hub_repo(&api, &request, monitor)
    })?;
    Ok(url)
}

/// `GET /api/whoami-v2`; returns the answer as JSON text.
#[pyfunction]
#[pyo3(signature = (token=None, *, endpoint=None))]
fn whoami(
    py: Python<'_>,
    token: Option<&Bound<'_, PyAny>>,
    endpoint: Option<String>,
) -> PyResult<String> {
    let token = token_request(token)?;
    if matches!(token, TokenRequest::Anonymous) {
        return Err(HfGitError::invalid(
            "whoami needs a token: token=False asks for none (pass token=\"hf_...\" or leave it unset)",
        )
        .into());
    }
    let answer = run_blocking(py, None, move |monitor| {
        let api = api(endpoint.as_deref(), token)?;
        hub_whoami(&api, monitor)
    })?;
    Ok(answer.to_string())
}
