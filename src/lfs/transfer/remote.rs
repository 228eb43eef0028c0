//! One LFS API endpoint, and the one rule for where its token may go among the URLs it hands out.
//!
//! The token belongs to the Hub, not to whoever stores the bytes: upload and download hrefs are
//! usually presigned URLs on a storage host, and a token sent there would leak to that host's logs.
//! So the token goes to the batch endpoint and to hrefs that are plainly part of the same LFS API
//! (same scheme, host and port, path under the LFS base), and nowhere else. Which endpoint, and
//! whether it gets the token at all, is decided before, by [`crate::lfs::endpoint`].
//!
//! The token travels as `Authorization: Bearer <token>`, as huggingface_hub sends it to the LFS
//! API since OAuth tokens failed there over Basic (huggingface_hub PR #1906; hub-2026.md row 7).
//! A server that refuses Bearer (a batch answered 401) gets one more try with git-lfs's Basic
//! `hf_user:<token>`, and this remote keeps Basic from then on (see `batch::request_batch`).

use std::sync::atomic::{AtomicBool, Ordering};

use secrecy::{ExposeSecret, SecretString};
use url::Url;

use super::client::HttpClient;
use crate::auth::credentials::TOKEN_USERNAME;
use crate::auth::redact::{redact_text, SecretGuard};
use crate::hub::is_loopback_host;
use crate::lfs::error::LfsError;

/// One LFS API endpoint, plus the token to present to it.
pub struct LfsRemote {
    base: Url,
    /// `Bearer <token>`: what is sent unless the server refused it.
    bearer: Option<SecretString>,
    /// `Basic base64(hf_user:<token>)`: for a server that refuses Bearer.
    basic: Option<SecretString>,
    /// The server refused Bearer once; Basic is sent from then on.
    basic_only: AtomicBool,
    pub(super) http: HttpClient,
    _redaction: Vec<SecretGuard>,
}

impl std::fmt::Debug for LfsRemote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LfsRemote")
            .field("base", &self.base.as_str())
            .field("has_token", &self.bearer.is_some())
            .field("basic_only", &self.basic_only.load(Ordering::Relaxed))
            .finish()
    }
}

impl LfsRemote {
    /// The LFS API whose base URL is `endpoint` (batch requests go to
    /// `{endpoint}/objects/batch`), as [`crate::lfs::endpoint::LfsEndpoint::resolve`] chose it.
    ///
    /// Refuses a token over plain http to anything but this machine, and reads the CA bundles named
    /// by `REQUESTS_CA_BUNDLE` / `SSL_CERT_FILE` now, so a bad bundle fails before any transfer.
    pub fn new(endpoint: &Url, token: Option<SecretString>) -> Result<Self, LfsError> {
        Self::with_git_config(endpoint, token, None)
    }

    /// The same for a repository: its git config may name a proxy (`http.proxy`,
    /// `http.<url>.proxy`), which the LFS traffic then uses as git's does.
    pub fn for_repo(
        endpoint: &Url,
        token: Option<SecretString>,
        repo: &git2::Repository,
    ) -> Result<Self, LfsError> {
        let config = repo.config().and_then(|mut config| config.snapshot()).ok();
        Self::with_git_config(endpoint, token, config.as_ref())
    }

    fn with_git_config(
        endpoint: &Url,
        token: Option<SecretString>,
        git: Option<&git2::Config>,
    ) -> Result<Self, LfsError> {
        let base = api_base(endpoint)?;
        if token.is_some() && base.scheme() == "http" && !is_loopback_host(&base) {
            return Err(LfsError::InsecureTransport {
                host: base.host_str().unwrap_or_default().to_owned(),
            });
        }
        let bearer = token
            .as_ref()
            .map(|token| SecretString::from(format!("Bearer {}", token.expose_secret())));
        let basic = token.as_ref().map(|token| {
            let pair = format!("{TOKEN_USERNAME}:{}", token.expose_secret());
            SecretString::from(crate::net::basic_credentials(&pair))
        });
        let redaction = token
            .iter()
            .chain(bearer.iter())
            .chain(basic.iter())
            .map(SecretGuard::register)
            .collect();
        Ok(Self {
            base,
            bearer,
            basic,
            basic_only: AtomicBool::new(false),
            http: HttpClient::with_git_config(git)?,
            _redaction: redaction,
        })
    }

    /// The proxy hfgit's rules pick for a request to `target` (see [`crate::net::proxy`]).
    #[cfg_attr(not(feature = "xet"), allow(dead_code))]
    pub(crate) fn proxy_route(
        &self,
        target: &Url,
    ) -> Result<Option<std::sync::Arc<crate::net::proxy::Proxy>>, crate::net::proxy::ProxyProblem>
    {
        self.http.proxy_route(target)
    }

    /// `{base}/objects/batch`.
    pub fn batch_url(&self) -> String {
        format!("{}/objects/batch", self.base.as_str())
    }

    /// The LFS base URL, without a trailing slash.
    pub fn base_url(&self) -> &Url {
        &self.base
    }

    /// Whether the token may be sent to `href`: same scheme, host and port as the LFS base, and a
    /// path at or under the base path. Everything else (storage, other hosts, other paths of the
    /// same host) gets no token.
    pub fn token_may_go_to(&self, href: &Url) -> bool {
        let base_path = self.base.path();
        let path = href.path();
        let under_base = path == base_path
            || path
                .strip_prefix(base_path)
                .is_some_and(|rest| rest.starts_with('/'));
        href.scheme() == self.base.scheme()
            && href.host() == self.base.host()
            && href.port_or_known_default() == self.base.port_or_known_default()
            && under_base
    }

    /// The `Authorization` value for `href`, if the token may go there: Bearer, or Basic once
    /// the server refused Bearer.
    pub(super) fn authorization_for(&self, href: &Url) -> Option<&str> {
        if !self.token_may_go_to(href) {
            return None;
        }
        let value = if self.basic_only.load(Ordering::SeqCst) {
            &self.basic
        } else {
            &self.bearer
        };
        value.as_ref().map(|value| value.expose_secret())
    }

    /// `Bearer <token>` for `href` on the LFS server's own origin (scheme, host and port), any
    /// path: the Hub's Xet token route (`/api/.../xet-write-token/...`) lives beside the LFS API,
    /// not under it, and takes Bearer only.
    #[cfg_attr(not(feature = "xet"), allow(dead_code))]
    pub(super) fn bearer_for_origin(&self, href: &Url) -> Option<&str> {
        let same_origin = href.scheme() == self.base.scheme()
            && href.host() == self.base.host()
            && href.port_or_known_default() == self.base.port_or_known_default();
        if !same_origin {
            return None;
        }
        self.bearer.as_ref().map(|value| value.expose_secret())
    }

    pub(super) fn has_token(&self) -> bool {
        self.bearer.is_some()
    }

    /// After a 401 to Bearer: switch to Basic, and say whether that is a new scheme to try
    /// (`false` when there is no token or Basic was already in use).
    pub(super) fn fall_back_to_basic(&self) -> bool {
        self.has_token() && !self.basic_only.swap(true, Ordering::SeqCst)
    }
}

/// `endpoint` as an http(s) base URL without trailing slash, user info, query or fragment.
fn api_base(endpoint: &Url) -> Result<Url, LfsError> {
    if !matches!(endpoint.scheme(), "http" | "https") || endpoint.host().is_none() {
        return Err(LfsError::UnsupportedRemote {
            url: redact_text(&short_url(endpoint)),
        });
    }
    let mut base = endpoint.clone();
    // The caller promises a clean URL; make sure of it, since this one is printed in errors.
    let _ = base.set_username("");
    let _ = base.set_password(None);
    base.set_query(None);
    base.set_fragment(None);
    let path = endpoint.path().trim_end_matches('/').to_owned();
    base.set_path(&path);
    Ok(base)
}

/// `scheme://host[:port]/path`: enough to say where a request went, without the signed query of a
/// presigned URL or any userinfo.
pub(crate) fn short_url(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{}://{host}:{port}{}", url.scheme(), url.path()),
        None => format!("{}://{host}{}", url.scheme(), url.path()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn remote(url: &str) -> LfsRemote {
        LfsRemote::new(&Url::parse(url).unwrap(), None).unwrap()
    }

    fn remote_with_token(url: &str) -> Result<LfsRemote, LfsError> {
        LfsRemote::new(
            &Url::parse(url).unwrap(),
            Some(SecretString::from("hf_test_token_value".to_owned())),
        )
    }

    fn may_go(remote: &LfsRemote, href: &str) -> bool {
        remote.token_may_go_to(&Url::parse(href).unwrap())
    }

    #[test]
    fn the_batch_url_is_under_the_endpoint() {
        for (endpoint, expected) in [
            (
                "https://huggingface.co/alice/model.git/info/lfs",
                "https://huggingface.co/alice/model.git/info/lfs",
            ),
            (
                "https://lfs.example.com/alice/model/",
                "https://lfs.example.com/alice/model",
            ),
        ] {
            let remote = remote(endpoint);
            assert_eq!(remote.base_url().as_str(), expected);
            assert_eq!(remote.batch_url(), format!("{expected}/objects/batch"));
        }
    }

    #[test]
    fn the_endpoint_drops_userinfo_query_and_fragment() {
        let remote = remote("https://u:p@hub.example/a/b.git/info/lfs?x=1#frag");
        assert_eq!(
            remote.base_url().as_str(),
            "https://hub.example/a/b.git/info/lfs"
        );
    }

    #[test]
    fn non_http_endpoint_is_refused() {
        let err = LfsRemote::new(&Url::parse("ssh://git@host/a/b").unwrap(), None).unwrap_err();
        assert!(matches!(err, LfsError::UnsupportedRemote { .. }), "{err}");
        assert!(!err.to_string().contains("git@"));
    }

    #[test]
    fn the_xet_token_route_gets_bearer_on_the_lfs_origin_only() {
        let remote = remote_with_token("https://hub.example/u/r.git/info/lfs").unwrap();
        let route = Url::parse("https://hub.example/api/models/u/r/xet-write-token/main").unwrap();
        assert_eq!(
            remote.bearer_for_origin(&route),
            Some("Bearer hf_test_token_value")
        );
        for other in [
            "https://cas.example/api/models/u/r/xet-write-token/main",
            "http://hub.example/api/models/u/r/xet-write-token/main",
            "https://hub.example:8443/api/models/u/r/xet-write-token/main",
        ] {
            assert_eq!(remote.bearer_for_origin(&Url::parse(other).unwrap()), None);
        }
    }

    #[test]
    fn token_over_plain_http_is_refused_except_to_loopback() {
        let err = remote_with_token("http://hub.example/a/b").unwrap_err();
        assert!(matches!(err, LfsError::InsecureTransport { ref host } if host == "hub.example"));
        assert!(remote_with_token("http://127.0.0.1:9/a/b").is_ok());
        assert!(remote_with_token("http://localhost/a/b").is_ok());
        assert!(remote_with_token("https://hub.example/a/b").is_ok());
        assert!(LfsRemote::new(&Url::parse("http://hub.example/a/b").unwrap(), None).is_ok());
    }

    #[test]
    fn token_goes_to_hrefs_under_the_lfs_base_on_the_same_origin() {
        let remote = remote("https://huggingface.co/alice/model.git/info/lfs");
        assert!(may_go(
            &remote,
            "https://huggingface.co/alice/model.git/info/lfs/objects/batch"
        ));
        assert!(may_go(
            &remote,
            "https://huggingface.co/alice/model.git/info/lfs/objects/verify?x=1"
        ));
        assert!(may_go(
            &remote,
            "https://HUGGINGFACE.co:443/alice/model.git/info/lfs/verify"
        ));
        assert!(may_go(
            &remote,
            "https://huggingface.co/alice/model.git/info/lfs"
        ));
    }

    #[test]
    fn token_never_goes_to_another_host_scheme_port_or_path() {
        let remote = remote("https://huggingface.co/alice/model.git/info/lfs");
        for href in [
            // presigned storage on another host
            "https://s3.us-east-1.amazonaws.com/lfs.huggingface.co/repos/ab/cd/x?X-Amz-Signature=1",
            "https://cdn-lfs.huggingface.co/alice/model.git/info/lfs/objects/x",
            // same host, other path
            "https://huggingface.co/alice/model/resolve/main/x.bin",
            "https://huggingface.co/alice/model.git/info/lfsx/objects",
            "https://huggingface.co/alice/model.git/info/lfs-storage/x",
            "https://huggingface.co/bob/model.git/info/lfs/objects/x",
            "https://huggingface.co/alice/model.git/info/../../bob/model.git/info/lfs/x",
            // same host and path, other scheme or port
            "http://huggingface.co/alice/model.git/info/lfs/objects/x",
            "https://huggingface.co:8443/alice/model.git/info/lfs/objects/x",
            // a look-alike host
            "https://huggingface.co.evil.example/alice/model.git/info/lfs/objects/x",
        ] {
            assert!(!may_go(&remote, href), "token would go to {href}");
        }
    }

    #[test]
    fn authorization_is_bearer_then_basic_with_the_fixed_username_after_a_refusal() {
        let remote = remote_with_token("https://hub.example/a/b.git/info/lfs").unwrap();
        let inside = Url::parse("https://hub.example/a/b.git/info/lfs/objects/batch").unwrap();
        let outside = Url::parse("https://storage.example/a/b.git/info/lfs/x").unwrap();
        assert_eq!(
            remote.authorization_for(&inside),
            Some("Bearer hf_test_token_value")
        );
        assert!(remote.fall_back_to_basic());
        assert!(!remote.fall_back_to_basic(), "only one fallback");
        assert_eq!(
            remote.authorization_for(&inside),
            Some(crate::net::basic_credentials("hf_user:hf_test_token_value").as_str())
        );
        assert_eq!(remote.authorization_for(&outside), None);
        assert!(!format!("{remote:?}").contains("hf_test_token_value"));
    }

    #[test]
    fn without_a_token_there_is_nothing_to_fall_back_to() {
        let remote = remote("https://hub.example/a/b.git/info/lfs");
        assert!(!remote.fall_back_to_basic());
    }

    #[test]
    fn short_url_keeps_origin_and_path_only() {
        let url =
            Url::parse("https://u:p@s3.example:9000/bucket/key?X-Amz-Signature=abc#f").unwrap();
        assert_eq!(short_url(&url), "https://s3.example:9000/bucket/key");
    }
}
