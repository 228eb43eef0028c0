//! From what a user types (`"alice/model"`, `"datasets/alice/data"`, a full URL) to a clean remote.
//!
//! The rules follow huggingface_hub (hub-protocol.md §1): models have no URL prefix, datasets and
//! spaces have `datasets/` and `spaces/`; a repo id is `name` or `namespace/name` with letters,
//! digits, `_`, `.`, `-`. A token in a URL's userinfo is taken out here and never stored.

use secrecy::SecretString;
use url::Url;

use crate::error::{HfGitError, Result};

pub const DEFAULT_ENDPOINT: &str = "https://huggingface.co";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RepoType {
    Model,
    Dataset,
    Space,
}

impl RepoType {
    pub fn parse(text: &str) -> Result<Self> {
        match text {
            "model" | "models" => Ok(Self::Model),
            "dataset" | "datasets" => Ok(Self::Dataset),
            "space" | "spaces" => Ok(Self::Space),
            other => Err(HfGitError::invalid(format!(
                "unknown repo_type {other:?}: expected \"model\", \"dataset\" or \"space\""
            ))),
        }
    }

    /// The repo type's segment of Hub API paths (`/api/models/...`, `/api/datasets/...`).
    pub fn api_segment(self) -> &'static str {
        match self {
            Self::Model => "models",
            Self::Dataset => "datasets",
            Self::Space => "spaces",
        }
    }

    /// The name the Hub API uses for the type (`"model"`, `"dataset"`, `"space"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Model => "model",
            Self::Dataset => "dataset",
            Self::Space => "space",
        }
    }

    /// The path segment before the repo id in URLs ("" for models).
    pub fn url_prefix(self) -> &'static str {
        match self {
            Self::Model => "",
            Self::Dataset => "datasets/",
            Self::Space => "spaces/",
        }
    }
}

/// A remote ready for libgit2: the URL holds no credentials.
#[derive(Debug)]
pub struct RemoteSpec {
    pub url: Url,
    /// A token that was embedded in the URL the user passed.
    pub url_token: Option<SecretString>,
    /// The last path segment, used as the default clone directory.
    pub repo_name: String,
}

impl RemoteSpec {
    /// The URL as it may be shown and stored.
    pub fn clean_url(&self) -> &str {
        self.url.as_str().trim_end_matches('/')
    }
}

/// Parse `repo` (repo id or URL) against `endpoint` (else `HF_ENDPOINT`, else the public Hub).
pub fn parse_remote(
    repo: &str,
    repo_type: Option<&str>,
    endpoint: Option<&str>,
    env_endpoint: Option<String>,
) -> Result<RemoteSpec> {
    let repo = repo.trim();
    if repo.starts_with("http://") || repo.starts_with("https://") {
        if repo_type.is_some() {
            return Err(HfGitError::invalid(
                "repo_type cannot be combined with a full URL",
            ));
        }
        return parse_url(repo);
    }
    if repo.contains("://") || repo.starts_with("git@") {
        return Err(HfGitError::invalid(format!(
            "unsupported URL {:?}: only http:// and https:// remotes are supported",
            crate::auth::redact::redact_text(repo)
        )));
    }
    let (repo_type, repo_id) = split_type_prefix(repo, repo_type)?;
    validate_repo_id(repo_id)?;
    let endpoint = resolve_endpoint(endpoint, env_endpoint)?;
    let url = format!("{endpoint}/{}{repo_id}", repo_type.url_prefix());
    parse_url(&url)
}

/// The Hub to talk to: `endpoint`, else `HF_ENDPOINT` (`env_endpoint`), else the public Hub; an
/// `http(s)://` URL without a trailing slash.
pub fn resolve_endpoint(endpoint: Option<&str>, env_endpoint: Option<String>) -> Result<String> {
    let endpoint = endpoint
        .map(str::to_owned)
        .or(env_endpoint)
        .filter(|e| !e.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_ENDPOINT.to_owned());
    parse_endpoint(&endpoint)
}

fn split_type_prefix<'a>(repo: &'a str, explicit: Option<&str>) -> Result<(RepoType, &'a str)> {
    let explicit = explicit.map(RepoType::parse).transpose()?;
    let prefixed = ["models/", "datasets/", "spaces/"]
        .iter()
        .find_map(|prefix| {
            repo.strip_prefix(prefix)
                .filter(|rest| rest.contains('/'))
                .map(|rest| (RepoType::parse(prefix.trim_end_matches('/')), rest))
        });
    match (prefixed, explicit) {
        (Some((from_prefix, rest)), Some(explicit)) => {
            let from_prefix = from_prefix?;
            if from_prefix != explicit {
                return Err(HfGitError::invalid(format!(
                    "{repo:?} names a {from_prefix:?} repo but repo_type says {explicit:?}"
                )));
            }
            Ok((explicit, rest))
        }
        (Some((from_prefix, rest)), None) => Ok((from_prefix?, rest)),
        (None, explicit) => Ok((explicit.unwrap_or(RepoType::Model), repo)),
    }
}

/// huggingface_hub's `validate_repo_id`, so a typo fails here and not as a confusing 404.
pub fn validate_repo_id(repo_id: &str) -> Result<()> {
    let bad = |why: &str| {
        Err(HfGitError::invalid(format!(
            "malformed repo id {repo_id:?}: {why}"
        )))
    };
    let parts: Vec<&str> = repo_id.split('/').collect();
    if parts.len() > 2 {
        return bad("expected \"name\" or \"namespace/name\"");
    }
    for part in &parts {
        if part.is_empty() || part.len() > 96 {
            return bad("each part must be 1 to 96 characters");
        }
        if !part
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        {
            return bad("only letters, digits, '_', '.' and '-' are allowed");
        }
        if part.starts_with(['-', '.']) || part.ends_with(['-', '.']) {
            return bad("parts cannot start or end with '-' or '.'");
        }
        if part.contains("--") || part.contains("..") {
            return bad("'--' and '..' are not allowed");
        }
    }
    if repo_id.ends_with(".git") {
        return bad("drop the trailing .git");
    }
    Ok(())
}

fn parse_endpoint(endpoint: &str) -> Result<String> {
    let trimmed = endpoint.trim().trim_end_matches('/');
    let url = Url::parse(trimmed)
        .map_err(|e| HfGitError::invalid(format!("malformed endpoint {trimmed:?}: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(HfGitError::invalid(format!(
            "endpoint must be an http:// or https:// URL, got {trimmed:?}"
        )));
    }
    Ok(trimmed.to_owned())
}

fn parse_url(text: &str) -> Result<RemoteSpec> {
    let mut url = Url::parse(text).map_err(|e| {
        HfGitError::invalid(format!(
            "malformed URL {:?}: {e}",
            crate::auth::redact::redact_text(text)
        ))
    })?;
    if url.host_str().is_none_or(str::is_empty) {
        return Err(HfGitError::invalid("the URL has no host"));
    }
    let url_token = take_userinfo_token(&mut url);
    let repo_name = url
        .path_segments()
        .and_then(|mut segments| segments.rfind(|s| !s.is_empty()))
        .map(|s| s.trim_end_matches(".git").to_owned())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| HfGitError::invalid("the URL does not name a repository"))?;
    Ok(RemoteSpec {
        url,
        url_token,
        repo_name,
    })
}

/// Remove userinfo from `url`; the password (or an `hf_` username) is the token.
fn take_userinfo_token(url: &mut Url) -> Option<SecretString> {
    let password = url.password().map(percent_decode);
    let username = percent_decode(url.username());
    let token = password.or_else(|| username.starts_with("hf_").then_some(username));
    // Clearing userinfo cannot fail for http(s) URLs that have a host.
    let _ = url.set_password(None);
    let _ = url.set_username("");
    token.filter(|t| !t.is_empty()).map(SecretString::from)
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(value)) => {
                out.push(value);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    fn url_of(repo: &str, repo_type: Option<&str>) -> String {
        parse_remote(repo, repo_type, None, None)
            .unwrap()
            .clean_url()
            .to_owned()
    }

    #[test]
    fn model_ids_have_no_prefix() {
        assert_eq!(
            url_of("alice/bert", None),
            "https://huggingface.co/alice/bert"
        );
        assert_eq!(url_of("gpt2", None), "https://huggingface.co/gpt2");
    }

    #[test]
    fn dataset_and_space_prefixes_or_repo_type_pick_the_path() {
        assert_eq!(
            url_of("datasets/alice/d", None),
            "https://huggingface.co/datasets/alice/d"
        );
        assert_eq!(
            url_of("alice/d", Some("dataset")),
            "https://huggingface.co/datasets/alice/d"
        );
        assert_eq!(
            url_of("spaces/alice/s", Some("space")),
            "https://huggingface.co/spaces/alice/s"
        );
    }

    #[test]
    fn conflicting_prefix_and_repo_type_is_refused() {
        assert!(parse_remote("datasets/alice/d", Some("space"), None, None).is_err());
    }

    #[test]
    fn endpoint_argument_beats_environment_and_trailing_slash_is_dropped() {
        let spec = parse_remote(
            "a/b",
            None,
            Some("http://127.0.0.1:9/"),
            Some("https://env".into()),
        )
        .unwrap();
        assert_eq!(spec.clean_url(), "http://127.0.0.1:9/a/b");
        let spec = parse_remote("a/b", None, None, Some("https://mirror.example/".into())).unwrap();
        assert_eq!(spec.clean_url(), "https://mirror.example/a/b");
    }

    #[test]
    fn malformed_ids_are_refused() {
        for bad in [
            "a/b/c", "a//b", "-a/b", "a/b-", "a/b..c", "a/b c", "a/b.git", "",
        ] {
            assert!(
                parse_remote(bad, None, None, None).is_err(),
                "{bad:?} accepted"
            );
        }
    }

    #[test]
    fn url_userinfo_becomes_the_token_and_leaves_the_url() {
        let spec = parse_remote(
            "https://user:hf_secret@huggingface.co/alice/bert",
            None,
            None,
            None,
        )
        .unwrap();
        assert_eq!(spec.clean_url(), "https://huggingface.co/alice/bert");
        assert_eq!(spec.url_token.unwrap().expose_secret(), "hf_secret");
        assert_eq!(spec.repo_name, "bert");
    }

    #[test]
    fn non_http_urls_are_refused() {
        assert!(parse_remote("git@hf.co:alice/bert", None, None, None).is_err());
        assert!(parse_remote("ssh://hf.co/alice/bert", None, None, None).is_err());
    }
}
