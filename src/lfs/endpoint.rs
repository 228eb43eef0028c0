//! Which LFS server a remote's objects come from and go to, and whether the Hub token goes with
//! them.
//!
//! By default the LFS API sits beside the git remote (`{remote}.git/info/lfs`), but git-lfs lets
//! git config or the repository's `.lfsconfig` name another one (`lfs.url` and friends, see
//! [`LfsConfig::endpoint_setting`]), and the Hub's docs tell users to do so for mirrors and
//! migrations. git-lfs asks its credential helper per host; hfgit has one token, the Hub's, and a
//! `.lfsconfig` is written by whoever can commit to the repository. So the rule here is: the token
//! goes to a configured endpoint only when it is on the git remote's own origin (same scheme,
//! host and port); any other endpoint is spoken to anonymously, and a notice says so.

use secrecy::SecretString;
use url::Url;

use super::config::{LfsConfig, Operation};
use super::error::LfsError;
use super::transfer::short_url;
use crate::auth::redact::redact_text;
use crate::progress::Monitor;

/// Where LFS requests go, and the token they may carry.
pub struct LfsEndpoint {
    /// The LFS API base: batch requests go to `{url}/objects/batch`.
    pub url: Url,
    pub token: Option<SecretString>,
}

impl LfsEndpoint {
    /// The LFS endpoint of `remote_name` (whose URL, free of credentials, is `remote_url`) for
    /// `operation`, with `token` kept only where it may go. Notices on `monitor` say when a
    /// setting chose the endpoint and when the token was held back.
    ///
    /// Raises [`LfsError::UnsupportedEndpoint`] for a setting that is not an `http(s)://` URL,
    /// and [`LfsError::UnsupportedRemote`] when the endpoint comes from a remote that is not.
    pub fn resolve(
        config: &LfsConfig,
        remote_name: &str,
        remote_url: &Url,
        token: Option<SecretString>,
        operation: Operation,
        monitor: &Monitor,
    ) -> Result<Self, LfsError> {
        let Some((key, value)) = config.endpoint_setting(remote_name, operation) else {
            return Ok(Self {
                url: beside_remote(remote_url)?,
                token,
            });
        };
        let url = configured(&key, &value)?;
        let shown = short_url(&url);
        if same_origin(&url, remote_url) {
            monitor.notice(format!("Git LFS endpoint {shown} (from {key})"));
            return Ok(Self { url, token });
        }
        if token.is_some() {
            monitor.notice(format!(
                "Git LFS endpoint {shown} (from {key}) is not on the git remote's host, so no \
                 token is sent to it"
            ));
        } else {
            monitor.notice(format!("Git LFS endpoint {shown} (from {key})"));
        }
        Ok(Self { url, token: None })
    }
}

/// The LFS API of a git remote: `{remote}.git/info/lfs`, or `{remote}/info/lfs` when the remote
/// already ends in `.git` (git-lfs `lfsapi/endpoint_finder.go`, `NewEndpointFromCloneURL`).
pub fn beside_remote(remote_url: &Url) -> Result<Url, LfsError> {
    if !is_http(remote_url) {
        return Err(LfsError::UnsupportedRemote {
            url: redact_text(&short_url(remote_url)),
        });
    }
    let mut base = without_credentials(remote_url);
    let path = remote_url.path().trim_end_matches('/');
    let lfs_path = if path.ends_with(".git") {
        format!("{path}/info/lfs")
    } else {
        format!("{path}.git/info/lfs")
    };
    base.set_path(&lfs_path);
    Ok(base)
}

/// A configured endpoint, used as it is (git-lfs `lfshttp/endpoint.go`, `EndpointFromHttpUrl`):
/// only `http(s)://` URLs; user info, query and fragment are dropped and never sent.
fn configured(key: &str, value: &str) -> Result<Url, LfsError> {
    let unsupported = || LfsError::UnsupportedEndpoint {
        setting: key.to_owned(),
        url: redact_text(value),
    };
    let url = Url::parse(value).map_err(|_| unsupported())?;
    if !is_http(&url) {
        return Err(unsupported());
    }
    let mut url = without_credentials(&url);
    let path = url.path().trim_end_matches('/').to_owned();
    url.set_path(&path);
    Ok(url)
}

fn is_http(url: &Url) -> bool {
    matches!(url.scheme(), "http" | "https") && url.host().is_some()
}

fn without_credentials(url: &Url) -> Url {
    let mut clean = url.clone();
    let _ = clean.set_username("");
    let _ = clean.set_password(None);
    clean.set_query(None);
    clean.set_fragment(None);
    clean
}

/// Same scheme, host and port (the default port counts as given).
fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host() == b.host()
        && a.port_or_known_default() == b.port_or_known_default()
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    const REMOTE: &str = "https://huggingface.co/alice/model";

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    fn settings(git: &str) -> LfsConfig {
        let dir = tempfile::tempdir().unwrap();
        let repo = git2::Repository::init_bare(dir.path().join("r.git")).unwrap();
        let mut config = repo.config().unwrap();
        for entry in git.lines().filter_map(|l| l.split_once(" = ")) {
            config.set_str(entry.0, entry.1).unwrap();
        }
        LfsConfig::load(&repo).unwrap()
    }

    fn resolve(git: &str, operation: Operation, with_token: bool) -> (LfsEndpoint, Vec<String>) {
        let monitor = Monitor::new();
        let token = with_token.then(|| SecretString::from("hf_secret_token".to_owned()));
        let endpoint = LfsEndpoint::resolve(
            &settings(git),
            "origin",
            &url(REMOTE),
            token,
            operation,
            &monitor,
        )
        .unwrap();
        (endpoint, monitor.take_notices())
    }

    #[test]
    fn the_default_endpoint_is_beside_the_remote_like_git_lfs() {
        let cases = [
            (
                "https://huggingface.co/alice/model",
                "https://huggingface.co/alice/model.git/info/lfs",
            ),
            (
                "https://huggingface.co/alice/model.git",
                "https://huggingface.co/alice/model.git/info/lfs",
            ),
            (
                "https://huggingface.co/datasets/alice/data/",
                "https://huggingface.co/datasets/alice/data.git/info/lfs",
            ),
            (
                "http://127.0.0.1:8080/gpt2",
                "http://127.0.0.1:8080/gpt2.git/info/lfs",
            ),
            (
                "https://u:p@hub.example/a/b?x=1#frag",
                "https://hub.example/a/b.git/info/lfs",
            ),
        ];
        for (remote, expected) in cases {
            assert_eq!(beside_remote(&url(remote)).unwrap().as_str(), expected);
        }
    }

    #[test]
    fn a_non_http_remote_has_no_lfs_endpoint() {
        let err = beside_remote(&url("ssh://git@host/a/b")).unwrap_err();
        assert!(matches!(err, LfsError::UnsupportedRemote { .. }), "{err}");
        assert!(!err.to_string().contains("git@"));
    }

    #[test]
    fn without_settings_the_token_goes_to_the_endpoint_beside_the_remote() {
        let (endpoint, notices) = resolve("", Operation::Download, true);
        assert_eq!(
            endpoint.url.as_str(),
            "https://huggingface.co/alice/model.git/info/lfs"
        );
        assert!(endpoint.token.is_some());
        assert!(notices.is_empty());
    }

    #[test]
    fn a_configured_url_is_used_as_it_is() {
        let (endpoint, _) = resolve(
            "lfs.url = https://huggingface.co/alice/other.git/info/lfs/",
            Operation::Download,
            false,
        );
        assert_eq!(
            endpoint.url.as_str(),
            "https://huggingface.co/alice/other.git/info/lfs"
        );
    }

    #[test]
    fn the_token_goes_to_a_configured_endpoint_on_the_remotes_origin() {
        let (endpoint, notices) = resolve(
            "lfs.url = https://HuggingFace.co:443/alice/other.git/info/lfs",
            Operation::Download,
            true,
        );
        assert_eq!(endpoint.token.unwrap().expose_secret(), "hf_secret_token");
        assert_eq!(
            notices,
            ["Git LFS endpoint https://huggingface.co/alice/other.git/info/lfs (from lfs.url)"]
        );
    }

    #[test]
    fn no_token_goes_to_a_configured_endpoint_elsewhere() {
        for elsewhere in [
            "https://lfs.example.com/alice/model",
            "http://huggingface.co/alice/model.git/info/lfs",
            "https://huggingface.co:8443/alice/model.git/info/lfs",
            "https://huggingface.co.evil.example/alice/model.git/info/lfs",
        ] {
            let (endpoint, notices) = resolve(
                &format!("remote.origin.lfsurl = {elsewhere}"),
                Operation::Download,
                true,
            );
            assert!(endpoint.token.is_none(), "token would go to {elsewhere}");
            assert_eq!(notices.len(), 1);
            assert!(notices[0].contains("no token is sent"), "{}", notices[0]);
            assert!(notices[0].contains("remote.origin.lfsurl"));
        }
    }

    #[test]
    fn uploads_prefer_the_push_url() {
        let git = "lfs.url = https://huggingface.co/a/down.git/info/lfs\n\
                   lfs.pushurl = https://huggingface.co/a/up.git/info/lfs";
        let (download, _) = resolve(git, Operation::Download, false);
        let (upload, _) = resolve(git, Operation::Upload, false);
        assert!(download.url.path().starts_with("/a/down.git"));
        assert!(upload.url.path().starts_with("/a/up.git"));
    }

    #[test]
    fn a_configured_endpoint_loses_its_credentials_and_query() {
        let (endpoint, _) = resolve(
            "lfs.url = https://user:pass@huggingface.co/a/b.git/info/lfs?x=1#f",
            Operation::Download,
            false,
        );
        assert_eq!(
            endpoint.url.as_str(),
            "https://huggingface.co/a/b.git/info/lfs"
        );
    }

    #[test]
    fn a_configured_endpoint_that_is_not_http_is_refused_naming_the_setting() {
        for value in [
            "ssh://git@host/a.git",
            "git@host:a.git",
            "/srv/lfs",
            "file:///srv/lfs",
        ] {
            let monitor = Monitor::new();
            let err = LfsEndpoint::resolve(
                &settings(&format!("lfs.url = {value}")),
                "origin",
                &url(REMOTE),
                None,
                Operation::Download,
                &monitor,
            )
            .err()
            .unwrap_or_else(|| panic!("{value} was accepted"));
            assert!(
                matches!(err, LfsError::UnsupportedEndpoint { ref setting, .. } if setting == "lfs.url"),
                "{err}"
            );
        }
    }
}
