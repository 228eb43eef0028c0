//! The Hub's HTTP API (`{endpoint}/api/...`): repos, `whoami`, pull requests.
//!
//! There is one HTTP stack in the crate for everything that is not git smart HTTP: these calls go
//! through the LFS client's agent ([`crate::lfs::transfer::HttpClient`]), so they trust the same
//! CA bundles (`REQUESTS_CA_BUNDLE`, `SSL_CERT_FILE`), keep the same timeouts and redirect rules,
//! and what a server says is shortened and redacted the same way before it reaches a message.
//!
//! The token is sent as `Authorization: Bearer <token>`, as huggingface_hub's `build_hf_headers`
//! sends it; it stays a [`SecretString`] (and on the redaction list) until that header is
//! written, and it only goes over plain `http://` to this machine. `HF_HUB_OFFLINE` stops every
//! call before it is made. GETs are retried like LFS requests (408, 429, 5xx, broken
//! connections); POSTs are sent once, because an answer lost after the Hub applied one (a repo
//! created, a pull request opened) must not make a second.

pub mod discussions;
pub mod repos;
pub mod whoami;

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use url::Url;

use super::{ensure_online, ensure_token_transport_is_safe};
use crate::auth::redact::SecretGuard;
use crate::error::{HfGitError, Result};
use crate::lfs::transfer::{
    transport_failure, with_retries, Failure, HttpClient, Method, Outgoing, Payload, RetryPolicy,
    Tracker,
};
use crate::lfs::LfsError;
use crate::progress::{Monitor, Phase};

/// API answers are small JSON documents; anything bigger is not one.
const RESPONSE_LIMIT: u64 = 4 * 1024 * 1024;
const JSON: &str = "application/json";

/// A client for one Hub, with the token its calls carry.
pub struct HubApi {
    endpoint: Url,
    authorization: Option<SecretString>,
    http: HttpClient,
    /// Attempts per GET, the first included.
    get_attempts: u32,
    _redaction: Vec<SecretGuard>,
}

impl std::fmt::Debug for HubApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HubApi")
            .field("endpoint", &self.endpoint.as_str())
            .field("has_token", &self.authorization.is_some())
            .finish()
    }
}

/// How one API call failed, before the operation says what that means for it.
#[derive(Debug)]
pub(crate) enum ApiError {
    /// The Hub answered with this status; `message` is its own explanation, redacted.
    Status { status: u16, message: String },
    /// No usable answer (network, TLS, cancelled, not JSON).
    Other(HfGitError),
}

impl HubApi {
    /// A client for the Hub at `endpoint` (an `http(s)://` URL). Fails with
    /// [`HfGitError::Offline`] when `HF_HUB_OFFLINE` is set, and with
    /// [`HfGitError::InsecureTransport`] when a token would go over plain http to another host.
    pub fn new(endpoint: &str, token: Option<SecretString>) -> Result<Self> {
        Self::build(endpoint, token, HttpClient::from_environment(), 3)
    }

    /// The same client for a lookup that must not hold up a local operation (the commit
    /// author): 5 s to connect, 10 s for any read, one attempt.
    pub(crate) fn quick(endpoint: &str, token: Option<SecretString>) -> Result<Self> {
        let http =
            HttpClient::from_environment_with(Duration::from_secs(5), Duration::from_secs(10));
        Self::build(endpoint, token, http, 1)
    }

    fn build(
        endpoint: &str,
        token: Option<SecretString>,
        http: std::result::Result<HttpClient, LfsError>,
        get_attempts: u32,
    ) -> Result<Self> {
        let endpoint = Url::parse(endpoint.trim_end_matches('/')).map_err(|err| {
            HfGitError::invalid(format!("malformed endpoint {endpoint:?}: {err}"))
        })?;
        ensure_online(&endpoint)?;
        ensure_token_transport_is_safe(&endpoint, token.is_some())?;
        let authorization = token
            .as_ref()
            .map(|token| SecretString::from(format!("Bearer {}", token.expose_secret())));
        let redaction = token
            .iter()
            .chain(authorization.iter())
            .map(SecretGuard::register)
            .collect();
        Ok(Self {
            endpoint,
            authorization,
            http: http?,
            get_attempts,
            _redaction: redaction,
        })
    }

    /// The Hub's base URL, without a trailing slash.
    pub fn endpoint(&self) -> &str {
        self.endpoint.as_str().trim_end_matches('/')
    }

    pub fn has_token(&self) -> bool {
        self.authorization.is_some()
    }

    /// GET `url` and parse its JSON answer; retried on passing failures.
    pub(crate) fn get_json(
        &self,
        url: &str,
        monitor: &Monitor,
    ) -> std::result::Result<serde_json::Value, ApiError> {
        let policy = RetryPolicy {
            max_attempts: self.get_attempts,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(4),
            rate_limit_max_wait: rate_limit_cap()?,
        };
        self.call(Method::Get, url, None, policy, monitor)
    }

    /// POST `body` as JSON to `url` once and parse the JSON answer.
    pub(crate) fn post_json(
        &self,
        url: &str,
        body: &serde_json::Value,
        monitor: &Monitor,
    ) -> std::result::Result<serde_json::Value, ApiError> {
        let once = RetryPolicy {
            max_attempts: 1,
            initial_backoff: Duration::ZERO,
            max_backoff: Duration::ZERO,
            rate_limit_max_wait: rate_limit_cap()?,
        };
        let body = serde_json::to_vec(body).expect("a JSON value always serializes");
        self.call(Method::Post, url, Some(&body), once, monitor)
    }

    fn call(
        &self,
        method: Method,
        url: &str,
        body: Option<&[u8]>,
        policy: RetryPolicy,
        monitor: &Monitor,
    ) -> std::result::Result<serde_json::Value, ApiError> {
        let url = Url::parse(url)
            .map_err(|err| ApiError::Other(HfGitError::invalid(format!("bad API URL: {err}"))))?;
        let mut headers = vec![("Accept".to_owned(), JSON.to_owned())];
        if body.is_some() {
            headers.push(("Content-Type".to_owned(), JSON.to_owned()));
        }
        let outgoing = Outgoing {
            method,
            url: &url,
            headers,
            authorization: self.authorization.as_ref().map(|a| a.expose_secret()),
            payload: body.map_or(Payload::Empty, Payload::Bytes),
        };
        let tracker = Tracker::new(monitor, Phase::Starting, 0);
        let answer = with_retries(&policy, &tracker, || {
            let mut response = self.http.send(&outgoing, &tracker)?;
            response
                .body_mut()
                .with_config()
                .limit(RESPONSE_LIMIT)
                .read_to_vec()
                .map_err(|err| transport_failure(err, &tracker))
        });
        let during = || format!("calling {}", crate::lfs::transfer::short_url(&url));
        let bytes = answer.map_err(|failure| match failure {
            Failure::Status {
                status, message, ..
            } => ApiError::Status { status, message },
            Failure::Transport {
                detail,
                certificate: true,
                ..
            } => ApiError::Other(HfGitError::Certificate { detail }),
            Failure::Transport { detail, .. } => ApiError::Other(HfGitError::Network {
                detail: format!("{detail} while {}", during()),
            }),
            failure @ (Failure::RateLimited(_) | Failure::Proxy { .. }) => {
                ApiError::Other(HfGitError::Lfs(failure.into_error(&during(), false)))
            }
            Failure::Fatal(LfsError::Cancelled) => ApiError::Other(HfGitError::Cancelled),
            Failure::Fatal(other) => ApiError::Other(HfGitError::Network {
                detail: format!("{other} while {}", during()),
            }),
        })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(serde_json::Value::Null);
        }
        serde_json::from_slice(&bytes).map_err(|err| {
            ApiError::Other(HfGitError::Network {
                detail: format!("the Hub's answer is not JSON ({err}) while {}", during()),
            })
        })
    }
}

/// How long a 429 of the Hub API may be waited out (`HFGIT_RATE_LIMIT_MAX_WAIT`).
fn rate_limit_cap() -> std::result::Result<Duration, ApiError> {
    crate::net::rate_limit::max_wait_from_env()
        .map_err(|err| ApiError::Other(HfGitError::Lfs(err.into())))
}

impl ApiError {
    /// The usual meaning of a failed call about `target` (a repo or the Hub), made while `what`:
    /// 401 and 403 are about the token, 404 about the repo, anything else is the Hub's trouble.
    pub(crate) fn into_error(self, target: &str, what: &str, had_token: bool) -> HfGitError {
        let (status, message) = match self {
            Self::Other(error) => return error,
            Self::Status { status, message } => (status, message),
        };
        let said = |message: &str| {
            let message = message.trim_end_matches(['.', ' ']);
            if message.is_empty() {
                format!("HTTP {status}")
            } else {
                format!("{message} (HTTP {status})")
            }
        };
        match status {
            401 => HfGitError::Authentication {
                target: target.to_owned(),
                detail: format!(
                    "the Hub said: {}. {}",
                    said(&message),
                    crate::error::classify::auth_hint(had_token)
                ),
            },
            403 => HfGitError::Authentication {
                target: target.to_owned(),
                detail: format!(
                    "the Hub refused {what}: {}. Check that the token may do this here \
                     (https://huggingface.co/settings/tokens).",
                    said(&message)
                ),
            },
            404 => HfGitError::RepositoryNotFound {
                target: target.to_owned(),
            },
            _ => HfGitError::Network {
                detail: format!("the Hub answered {} to {what}", said(&message)),
            },
        }
    }
}

/// A string field of an API answer.
pub(crate) fn text_field<'a>(value: &'a serde_json::Value, key: &str) -> Option<&'a str> {
    value.get(key)?.as_str().filter(|text| !text.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(status: u16, message: &str) -> ApiError {
        ApiError::Status {
            status,
            message: message.to_owned(),
        }
    }

    #[test]
    fn statuses_mean_what_they_mean_for_the_hub() {
        let unauthorized =
            status(401, "Invalid username or password.").into_error("a/b", "x", true);
        assert!(
            matches!(unauthorized, HfGitError::Authentication { .. }),
            "{unauthorized}"
        );
        assert!(unauthorized
            .to_string()
            .contains("Invalid username or password (HTTP 401)"));
        let forbidden = status(403, "no").into_error("a/b", "creating a/b", true);
        assert!(forbidden
            .to_string()
            .contains("refused creating a/b: no (HTTP 403)"));
        assert!(matches!(
            status(404, "").into_error("a/b", "x", true),
            HfGitError::RepositoryNotFound { .. }
        ));
        let busy = status(503, "").into_error("a/b", "opening a PR", true);
        assert!(matches!(busy, HfGitError::Network { .. }));
        assert!(
            busy.to_string().contains("HTTP 503 to opening a PR"),
            "{busy}"
        );
    }

    #[test]
    fn a_token_never_goes_over_plain_http_to_another_host_and_is_not_debug_printed() {
        let token = || Some(SecretString::from("hf_api_test_token_value".to_owned()));
        let err = HubApi::new("http://hub.example", token()).unwrap_err();
        assert!(matches!(err, HfGitError::InsecureTransport { .. }), "{err}");
        let api = HubApi::new("http://127.0.0.1:9/", token()).unwrap();
        assert_eq!(api.endpoint(), "http://127.0.0.1:9");
        assert!(!format!("{api:?}").contains("hf_api_test_token_value"));
    }
}
