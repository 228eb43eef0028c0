//! Which proxy, if any, a request goes through: the one rule for git, Git LFS and Hub API traffic.
//!
//! Sources, first match wins, as git and git-lfs order them (git-config(1) `http.proxy`,
//! git-lfs-config(5)):
//!
//! 1. `NO_PROXY` / `no_proxy` naming the target host ([`super::no_proxy`]): no proxy at all;
//! 2. git config `http.<url>.proxy`, the entry whose URL matches the target best (git's urlmatch
//!    rules: same scheme, host (`*` matches one label), port, and a path prefix; an exact host
//!    beats a wildcard, a longer path a shorter one);
//! 3. git config `http.proxy`;
//! 4. the environment, as huggingface_hub's requests/httpx read it: `https_proxy` / `HTTPS_PROXY`
//!    for https targets, `http_proxy` / `HTTP_PROXY` for http ones, then `all_proxy` /
//!    `ALL_PROXY`; the lower-case name wins when both are set.
//!
//! An empty git config value means "no proxy" (it overrides the environment, as in git); an empty
//! variable counts as unset. A value without a scheme is `http://`, and without a port uses the
//! scheme's (80, 443), as requests does. Credentials go in the URL (`http://user:pass@host:3128`,
//! percent-encoded); they are masked in every message for as long as the settings live, and
//! messages name a proxy by `scheme://host:port` only.
//!
//! Loopback targets are proxied like any other unless `NO_PROXY` names them (requests' rule).
//! Only HTTP and HTTPS proxies are supported: libgit2 speaks no SOCKS.

use std::sync::Arc;

use percent_encoding::percent_decode_str;
use secrecy::{ExposeSecret, SecretString};
use url::{Host, Url};

use super::no_proxy::NoProxy;
use crate::auth::redact::{strip_url_userinfo, SecretGuard};

/// A proxy that cannot be used, named without its credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyProblem {
    /// `scheme://host:port` of the proxy, or the redacted setting when it is no URL.
    pub proxy: String,
    /// What is wrong and what to do about it.
    pub detail: String,
}

/// One proxy, parsed from a setting.
pub struct Proxy {
    url: SecretString,
    display: String,
    source: String,
    https: bool,
    host: String,
    port: u16,
    credentials: Option<SecretString>,
    ureq: ureq::Proxy,
    _redaction: Vec<SecretGuard>,
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proxy")
            .field("proxy", &self.display)
            .field("source", &self.source)
            .field("has_credentials", &self.credentials.is_some())
            .finish()
    }
}

impl Proxy {
    /// Parse the value of `source` (a variable or git config key, for messages).
    pub fn parse(value: &str, source: &str) -> Result<Self, ProxyProblem> {
        let value = value.trim();
        let text = if value.contains("://") {
            value.to_owned()
        } else {
            format!("http://{value}")
        };
        let shown = strip_url_userinfo(&text);
        let problem = |detail: String| ProxyProblem {
            proxy: shown.clone(),
            detail: format!("{detail} (set by {source})"),
        };
        let url = Url::parse(&text).map_err(|err| problem(format!("not a valid URL: {err}")))?;
        let https = match url.scheme() {
            "http" => false,
            "https" => true,
            scheme if scheme.starts_with("socks") => {
                return Err(problem(format!(
                    "{scheme}:// proxies are not supported (libgit2, which carries the git \
                     traffic, speaks only to HTTP proxies); use an http:// or https:// proxy"
                )))
            }
            scheme => {
                return Err(problem(format!(
                    "the proxy scheme {scheme:?} is not supported; use http:// or https://"
                )))
            }
        };
        let host = match url.host() {
            Some(Host::Domain(name)) if !name.is_empty() => name.to_owned(),
            Some(Host::Ipv4(ip)) => ip.to_string(),
            Some(Host::Ipv6(ip)) => format!("[{ip}]"),
            _ => return Err(problem("the URL names no host".to_owned())),
        };
        let port = url.port_or_known_default().unwrap_or(80);
        let display = format!("{}://{host}:{port}", url.scheme());
        let decode = |text: &str| -> Result<String, ProxyProblem> {
            percent_decode_str(text)
                .decode_utf8()
                .map(|decoded| decoded.into_owned())
                .map_err(|_| problem("the credentials are not valid percent-encoded UTF-8".into()))
        };
        let user = decode(url.username())?;
        let password = url.password().map(decode).transpose()?;
        let credentials = (!user.is_empty() || password.is_some()).then(|| {
            SecretString::from(format!("{user}:{}", password.clone().unwrap_or_default()))
        });
        // Messages never hold the password (proxies are named by `display`); masking it anywhere
        // it might still appear is the second line of defence. A password of a few characters
        // would mask the same letters in every message, so those are left to the first line.
        let mut redaction = Vec::new();
        for secret in [password, url.password().map(str::to_owned)]
            .into_iter()
            .flatten()
            .filter(|secret| secret.chars().count() >= 4)
        {
            redaction.push(SecretGuard::register(&SecretString::from(secret)));
        }
        if let Some(credentials) = &credentials {
            let basic = super::basic_credentials(credentials.expose_secret());
            redaction.push(SecretGuard::register(&SecretString::from(basic)));
        }
        // Normalised: explicit scheme and port, no path.
        let userinfo = match (url.username(), url.password()) {
            ("", None) => String::new(),
            (user, None) => format!("{user}@"),
            (user, Some(password)) => format!("{user}:{password}@"),
        };
        let full = format!("{}://{userinfo}{host}:{port}", url.scheme());
        let ureq = ureq::Proxy::new(&full)
            .map_err(|err| problem(format!("not a usable proxy URL: {err}")))?;
        Ok(Self {
            url: SecretString::from(full),
            display,
            source: source.to_owned(),
            https,
            host,
            port,
            credentials,
            ureq,
            _redaction: redaction,
        })
    }

    /// `scheme://host:port`: how messages name the proxy (never with credentials).
    pub fn display(&self) -> &str {
        &self.display
    }

    /// The variable or git config key the proxy was set by.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The full URL, credentials included, for libgit2's proxy options.
    pub fn url(&self) -> &SecretString {
        &self.url
    }

    /// The proxy's host (an IPv6 address in brackets) and port.
    pub fn host_port(&self) -> (&str, u16) {
        (&self.host, self.port)
    }

    /// What to tell the user when the proxy answered `status` (401 or 407, 403, 5xx) to a request
    /// or tunnel for `target` (`host[:port]`), and whether trying again may help.
    pub fn refusal(&self, target: &str, status: u16) -> (String, bool) {
        let source = &self.source;
        // tinyproxy answers a tunnel with wrong credentials 401, not 407.
        match status {
            401 | 407 if self.credentials.is_some() => (
                format!(
                    "the proxy refused the user name and password in its URL (HTTP {status} \
                     {}); correct them in {source}",
                    if status == 401 {
                        "Unauthorized"
                    } else {
                        "Proxy Authentication Required"
                    }
                ),
                false,
            ),
            401 | 407 => (
                format!(
                    "the proxy asks for a user name and password (HTTP 407 Proxy Authentication \
                     Required); put them in its URL in {source}: http://user:password@host:port \
                     (percent-encoded)"
                ),
                false,
            ),
            403 => (
                format!(
                    "the proxy refused to connect to {target} (HTTP 403 Forbidden): its rules do \
                     not allow it. Ask its administrator, or if {target} can be reached without \
                     the proxy, add it to NO_PROXY (the proxy comes from {source})"
                ),
                false,
            ),
            _ => (
                format!(
                    "the proxy could not connect to {target} (HTTP {status}); the proxy comes \
                     from {source}"
                ),
                true,
            ),
        }
    }

    /// What to tell the user when the proxy could not be reached (`error`, already redacted).
    pub fn unreachable(&self, error: &str) -> String {
        format!(
            "cannot connect to the proxy ({error}). Check that it is running and that {} names \
             it correctly",
            self.source
        )
    }

    /// Whether the proxy itself is spoken to over TLS (`https://`).
    pub fn is_https(&self) -> bool {
        self.https
    }

    /// Whether the proxy runs on this machine, so plain-http traffic to it stays here.
    pub fn is_loopback(&self) -> bool {
        let host = self.host.trim_matches(['[', ']']);
        host.eq_ignore_ascii_case("localhost")
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    }

    /// The `Proxy-Authorization` value for a plain-http request sent to the proxy, if it has
    /// credentials.
    pub(crate) fn authorization(&self) -> Option<String> {
        self.credentials
            .as_ref()
            .map(|credentials| super::basic_credentials(credentials.expose_secret()))
    }

    /// The same proxy as ureq takes it (for CONNECT tunnels).
    pub(crate) fn ureq(&self) -> &ureq::Proxy {
        &self.ureq
    }
}

/// What one setting says: a proxy, explicitly none, or a value that cannot be used.
type Choice = Result<Option<Arc<Proxy>>, ProxyProblem>;

/// A git `http.<url>.*` subsection, matched as git's urlmatch does.
struct UrlPattern {
    url: Url,
    wildcard_host: bool,
}

impl UrlPattern {
    fn parse(text: &str) -> Option<Self> {
        let url = Url::parse(text).ok()?;
        url.host_str()?;
        let wildcard_host = url.host_str().is_some_and(|host| host.contains('*'));
        Some(Self { url, wildcard_host })
    }

    /// How well the pattern matches `target`: `None` if not at all, else a score that is higher
    /// for a more specific match (exact host, then longer path, then a user name).
    fn score(&self, target: &Url) -> Option<(bool, usize, bool)> {
        let pattern = &self.url;
        if pattern.scheme() != target.scheme()
            || pattern.port_or_known_default() != target.port_or_known_default()
        {
            return None;
        }
        let (Some(want), Some(have)) = (pattern.host_str(), target.host_str()) else {
            return None;
        };
        let want: Vec<&str> = want.split('.').collect();
        let have: Vec<&str> = have.split('.').collect();
        let host_matches = want.len() == have.len()
            && want
                .iter()
                .zip(&have)
                .all(|(want, have)| *want == "*" || want.eq_ignore_ascii_case(have));
        if !host_matches {
            return None;
        }
        if !pattern.username().is_empty() && pattern.username() != target.username() {
            return None;
        }
        let prefix = pattern.path().trim_end_matches('/');
        let path = target.path();
        let path_matches = prefix.is_empty()
            || path == prefix
            || path
                .strip_prefix(prefix)
                .is_some_and(|rest| rest.starts_with('/'));
        path_matches.then_some((
            !self.wildcard_host,
            prefix.len(),
            !pattern.username().is_empty(),
        ))
    }
}

/// The proxy settings of the environment and a git config, read once per operation.
#[derive(Default)]
pub struct ProxySettings {
    no_proxy: NoProxy,
    by_url: Vec<(UrlPattern, Choice)>,
    git: Option<Choice>,
    https: Option<Choice>,
    http: Option<Choice>,
    all: Option<Choice>,
}

impl std::fmt::Debug for ProxySettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProxySettings")
            .field("no_proxy", &self.no_proxy)
            .field("http_proxy_entries", &self.by_url.len())
            .finish_non_exhaustive()
    }
}

fn choice(value: &str, source: &str) -> Choice {
    if value.trim().is_empty() {
        Ok(None)
    } else {
        Proxy::parse(value, source).map(|proxy| Some(Arc::new(proxy)))
    }
}

/// The value of the first of `names` that is set and not empty, with the name.
fn env_choice(names: &[&str]) -> Option<Choice> {
    names.iter().find_map(|name| {
        let value = std::env::var(name).ok()?;
        (!value.trim().is_empty()).then(|| choice(&value, name))
    })
}

impl ProxySettings {
    /// Read the environment and `git` (the repository's config, or the user's and system's when
    /// `None`). A git config that cannot be read counts as empty.
    pub fn from_environment(git: Option<&git2::Config>) -> Self {
        let default_config;
        let git = match git {
            Some(config) => Some(config),
            None => {
                default_config = git2::Config::open_default().ok();
                default_config.as_ref()
            }
        };
        let mut settings = Self {
            no_proxy: NoProxy::from_environment(),
            https: env_choice(&["https_proxy", "HTTPS_PROXY"]),
            http: env_choice(&["http_proxy", "HTTP_PROXY"]),
            all: env_choice(&["all_proxy", "ALL_PROXY"]),
            ..Self::default()
        };
        if let Some(config) = git {
            settings.read_git_config(config);
        }
        settings
    }

    fn read_git_config(&mut self, config: &git2::Config) {
        let Ok(mut entries) = config.entries(Some(r"^http\..*proxy$")) else {
            return;
        };
        while let Some(Ok(entry)) = entries.next() {
            let (Ok(name), Ok(value)) = (entry.name(), entry.value()) else {
                continue;
            };
            let Some(middle) = name
                .strip_prefix("http.")
                .and_then(|rest| rest.strip_suffix("proxy"))
            else {
                continue;
            };
            let source = format!("git config {name}");
            if middle.is_empty() {
                self.git = Some(choice(value, &source));
            } else if let Some(pattern) = middle.strip_suffix('.').and_then(UrlPattern::parse) {
                // A later entry for the same URL replaces the earlier one, as in git.
                self.by_url
                    .retain(|(earlier, _)| earlier.url.as_str() != pattern.url.as_str());
                self.by_url.push((pattern, choice(value, &source)));
            }
        }
    }

    /// The proxy for a request to `target`, or `None` to connect directly.
    pub fn route(&self, target: &Url) -> Result<Option<Arc<Proxy>>, ProxyProblem> {
        if self.no_proxy.bypasses(target) {
            return Ok(None);
        }
        let best_url_match = self
            .by_url
            .iter()
            .filter_map(|(pattern, choice)| pattern.score(target).map(|score| (score, choice)))
            .fold(
                None,
                |best: Option<(_, &Choice)>, (score, choice)| match best {
                    Some((best_score, _)) if best_score > score => best,
                    _ => Some((score, choice)),
                },
            );
        if let Some((_, choice)) = best_url_match {
            return choice.clone();
        }
        if let Some(choice) = &self.git {
            return choice.clone();
        }
        let from_env = match target.scheme() {
            "https" => self.https.as_ref().or(self.all.as_ref()),
            "http" => self.http.as_ref().or(self.all.as_ref()),
            _ => None,
        };
        from_env.cloned().unwrap_or(Ok(None))
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    fn shown(settings: &ProxySettings, target: &str) -> Option<String> {
        settings
            .route(&url(target))
            .unwrap()
            .map(|proxy| proxy.display().to_owned())
    }

    fn settings(pairs: &[(&str, &str)], config: Option<&Path>) -> ProxySettings {
        let mut settings = ProxySettings::default();
        for (name, value) in pairs {
            let slot = match name.to_ascii_lowercase().as_str() {
                "https_proxy" => &mut settings.https,
                "http_proxy" => &mut settings.http,
                "all_proxy" => &mut settings.all,
                "no_proxy" => {
                    settings.no_proxy = NoProxy::parse(value);
                    continue;
                }
                other => panic!("{other}"),
            };
            *slot = Some(choice(value, name));
        }
        if let Some(path) = config {
            settings.read_git_config(&git2::Config::open(path).unwrap());
        }
        settings
    }

    #[test]
    fn the_variable_follows_the_target_scheme_then_all_proxy() {
        let s = settings(
            &[
                ("HTTPS_PROXY", "secure.example:3128"),
                ("HTTP_PROXY", "http://plain.example:8080"),
                ("ALL_PROXY", "https://all.example"),
            ],
            None,
        );
        assert_eq!(
            shown(&s, "https://huggingface.co/x").as_deref(),
            Some("http://secure.example:3128")
        );
        assert_eq!(
            shown(&s, "http://127.0.0.1:9/x").as_deref(),
            Some("http://plain.example:8080")
        );
        let only_all = settings(&[("ALL_PROXY", "https://all.example")], None);
        assert_eq!(
            shown(&only_all, "http://a.b/x").as_deref(),
            Some("https://all.example:443")
        );
        assert_eq!(shown(&settings(&[], None), "https://a.b/x"), None);
    }

    #[test]
    fn no_proxy_wins_over_every_source() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config");
        std::fs::write(&config, "[http]\n\tproxy = http://git.example:1\n").unwrap();
        let s = settings(
            &[
                ("HTTPS_PROXY", "http://p.example:1"),
                ("NO_PROXY", "huggingface.co,10.0.0.0/8"),
            ],
            Some(&config),
        );
        assert_eq!(shown(&s, "https://cdn.huggingface.co/x"), None);
        assert_eq!(shown(&s, "http://10.1.1.1/x"), None);
        assert_eq!(
            shown(&s, "https://example.org/x").as_deref(),
            Some("http://git.example:1")
        );
    }

    #[test]
    fn git_config_beats_the_environment_and_the_best_url_entry_wins() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config");
        std::fs::write(
            &config,
            "[http]\n\tproxy = http://general.example:1\n\
             [http \"https://huggingface.co\"]\n\tproxy = http://hub.example:2\n\
             [http \"https://huggingface.co/datasets\"]\n\tproxy = http://datasets.example:3\n\
             [http \"https://*.hf.co\"]\n\tproxy = http://wild.example:4\n\
             [http \"https://cdn.hf.co\"]\n\tproxy = http://cdn.example:5\n\
             [http \"https://direct.example\"]\n\tproxy = \n",
        )
        .unwrap();
        let s = settings(&[("HTTPS_PROXY", "http://env.example:9")], Some(&config));
        let cases = [
            (
                "https://huggingface.co/alice/model",
                Some("http://hub.example:2"),
            ),
            (
                "https://huggingface.co/datasets/alice/data",
                Some("http://datasets.example:3"),
            ),
            (
                "https://huggingface.co/datasetsx/a",
                Some("http://hub.example:2"),
            ),
            ("https://lfs.hf.co/x", Some("http://wild.example:4")),
            ("https://cdn.hf.co/x", Some("http://cdn.example:5")),
            ("https://a.b.hf.co/x", Some("http://general.example:1")),
            ("http://huggingface.co/x", Some("http://general.example:1")),
            (
                "https://huggingface.co:8443/x",
                Some("http://general.example:1"),
            ),
            ("https://direct.example/x", None),
        ];
        for (target, expected) in cases {
            assert_eq!(shown(&s, target).as_deref(), expected, "{target}");
        }
        let empty_general = dir.path().join("empty");
        std::fs::write(&empty_general, "[http]\n\tproxy =\n").unwrap();
        let s = settings(
            &[("HTTPS_PROXY", "http://env.example:9")],
            Some(&empty_general),
        );
        assert_eq!(shown(&s, "https://huggingface.co/x"), None);
    }

    #[test]
    fn credentials_are_decoded_for_the_header_and_never_shown() {
        let proxy =
            Proxy::parse("http://us%40er:p%3Ass%20w@127.0.0.1:3128/", "HTTPS_PROXY").unwrap();
        assert_eq!(proxy.display(), "http://127.0.0.1:3128");
        assert_eq!(
            proxy.authorization().as_deref(),
            Some(crate::net::basic_credentials("us@er:p:ss w").as_str())
        );
        assert!(proxy.is_loopback());
        let debug = format!("{proxy:?}");
        assert!(
            !debug.contains("p%3Ass") && !debug.contains("p:ss"),
            "{debug}"
        );
        let message = crate::auth::redact::redact_text("proxy said p%3Ass%20w and p:ss w");
        assert!(!message.contains("p%3Ass%20w"), "{message}");
        assert!(!message.contains("p:ss w"), "{message}");
    }

    #[test]
    fn unusable_values_are_problems_naming_the_setting_without_credentials() {
        let err = Proxy::parse("socks5://u:secret@127.0.0.1:1080", "ALL_PROXY").unwrap_err();
        assert_eq!(err.proxy, "socks5://127.0.0.1:1080");
        assert!(err.detail.contains("ALL_PROXY"), "{err:?}");
        assert!(!format!("{err:?}").contains("secret"));
        let err = Proxy::parse("http://", "HTTP_PROXY").unwrap_err();
        assert!(err.detail.contains("HTTP_PROXY"), "{err:?}");
        let ok = Proxy::parse("[::1]:8080", "HTTP_PROXY").unwrap();
        assert_eq!(ok.display(), "http://[::1]:8080");
        assert!(ok.is_loopback());
        assert!(!Proxy::parse("proxy.corp:80", "x").unwrap().is_loopback());
    }
}
