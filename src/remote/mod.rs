//! One conversation with a remote: credentials, TLS trust, proxy, progress, cancellation and the
//! server's per-ref verdicts, wired into libgit2's callbacks in one place for clone, pull and push.
//!
//! The proxy is chosen by [`crate::net::proxy`] (the same rules as the LFS client) and handed to
//! libgit2 as an explicit proxy URL, so libgit2's own guess (`GIT_PROXY_AUTO`) never applies.
//! The Hub's rate limits are waited out around whole operations by [`retrying_rate_limits`].

mod rate_limit;
mod tcp_stream;
mod tls;

use std::cell::RefCell;
use std::sync::Arc;

use git2::{FetchOptions, Oid, ProxyOptions, PushOptions, RemoteCallbacks, RemoteRedirect};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

pub use rate_limit::retrying_rate_limits;

use crate::auth::redact::{redact_text, SecretGuard};
use crate::auth::{CredentialBroker, CredentialOutcome};
use crate::error::{classify_git_error, GitContext, HfGitError, Result};
use crate::hub::{ensure_online, ensure_token_transport_is_safe};
use crate::net::proxy::{Proxy, ProxySettings};
use crate::progress::{Monitor, Phase};

/// A ref the server refused, with its reason.
#[derive(Debug, Clone)]
pub struct RefRejection {
    pub reference: String,
    pub reason: String,
}

/// A ref update the client proposed: the remote's old value and the new one.
#[derive(Debug, Clone)]
pub struct ProposedUpdate {
    pub reference: String,
    pub old: Oid,
    pub new: Oid,
}

pub struct RemoteSession {
    url: Url,
    display: String,
    broker: CredentialBroker,
    _redaction: Option<SecretGuard>,
    proxy: Option<Arc<Proxy>>,
    _route: tcp_stream::RouteGuard,
    remote_messages: RefCell<String>,
    rejections: RefCell<Vec<RefRejection>>,
    proposed: RefCell<Vec<ProposedUpdate>>,
}

impl RemoteSession {
    /// Prepare to talk to `url` (already free of credentials) with `token`, through the proxy
    /// the environment and the user's git config name for it. Refused before any connection
    /// when `HF_HUB_OFFLINE` is set or the token would travel in clear text.
    pub fn new(url: Url, token: Option<SecretString>) -> Result<Self> {
        Self::with_git_config(url, token, None)
    }

    /// The same, with `http.proxy` and `http.<url>.proxy` read from `repo`'s config.
    pub fn for_repo(
        repo: &git2::Repository,
        url: Url,
        token: Option<SecretString>,
    ) -> Result<Self> {
        let config = repo.config()?.snapshot()?;
        Self::with_git_config(url, token, Some(&config))
    }

    fn with_git_config(
        url: Url,
        token: Option<SecretString>,
        git: Option<&git2::Config>,
    ) -> Result<Self> {
        ensure_online(&url)?;
        ensure_token_transport_is_safe(&url, token.is_some())?;
        let proxy = ProxySettings::from_environment(git).route(&url)?;
        if let Some(proxy) = &proxy {
            check_proxy_for_remote(proxy, &url, token.is_some())?;
        }
        tls::apply_environment_ca_bundle()?;
        tls::apply_timeouts()?;
        tls::apply_user_agent();
        tcp_stream::register();
        let route = tcp_stream::route_through(
            proxy.as_deref().map(|proxy| {
                let (host, port) = proxy.host_port();
                tcp_stream::ProxyRoute {
                    host,
                    port,
                    display: proxy.display(),
                    // Spoken to in plain text: the stream adds the credentials. Over TLS to the
                    // proxy it cannot, and libgit2 answers the challenge from the URL.
                    authorization: proxy
                        .authorization()
                        .filter(|_| !proxy.is_https())
                        .map(SecretString::from),
                }
            }),
            url.scheme() == "http",
        );
        let redaction = token.as_ref().map(SecretGuard::register);
        let host = crate::auth::credentials::remote_host(&url);
        let display = url.as_str().trim_end_matches('/').to_owned();
        Ok(Self {
            url,
            display,
            broker: CredentialBroker::new(token, host),
            _redaction: redaction,
            proxy,
            _route: route,
            remote_messages: RefCell::default(),
            rejections: RefCell::default(),
            proposed: RefCell::default(),
        })
    }

    /// The proxy this session's git traffic goes through, if any.
    pub fn proxy(&self) -> Option<&Proxy> {
        self.proxy.as_deref()
    }

    /// libgit2's proxy options for this session: the chosen proxy, or explicitly none (so
    /// libgit2 never guesses one from settings hfgit did not choose). The URL carries the
    /// proxy's credentials only for an https proxy: to an http one, the TCP stream sends them.
    pub fn proxy_options(&self) -> ProxyOptions<'static> {
        let mut options = ProxyOptions::new();
        if let Some(proxy) = &self.proxy {
            if proxy.is_https() {
                options.url(proxy.url().expose_secret());
            } else {
                options.url(proxy.display());
            }
        }
        options
    }

    pub fn url(&self) -> &str {
        self.url.as_str().trim_end_matches('/')
    }

    /// Callbacks shared by fetch and push.
    pub fn callbacks<'a>(&'a self, monitor: &'a Monitor) -> RemoteCallbacks<'a> {
        let mut callbacks = RemoteCallbacks::new();
        callbacks.credentials(move |url, _username, allowed| {
            if monitor.is_cancelled() {
                return Err(git2::Error::from_str("cancelled"));
            }
            self.broker.provide(url, allowed)
        });
        callbacks.transfer_progress(move |stats| {
            let (phase, done, total) = if stats.received_objects() < stats.total_objects() {
                (
                    Phase::Receiving,
                    stats.received_objects(),
                    stats.total_objects(),
                )
            } else {
                (
                    Phase::Resolving,
                    stats.indexed_deltas(),
                    stats.total_deltas(),
                )
            };
            monitor.report(
                phase,
                done as u64,
                total as u64,
                stats.received_bytes() as u64,
            );
            monitor.keep_going()
        });
        callbacks.sideband_progress(move |line| {
            self.remote_messages
                .borrow_mut()
                .push_str(&String::from_utf8_lossy(line));
            monitor.keep_going()
        });
        callbacks.pack_progress(move |_stage, done, total| {
            monitor.report(Phase::Packing, done as u64, total as u64, 0);
        });
        callbacks.push_transfer_progress(move |done, total, bytes| {
            monitor.report(Phase::Sending, done as u64, total as u64, bytes as u64);
        });
        callbacks.push_negotiation(move |updates| {
            if monitor.is_cancelled() {
                return Err(git2::Error::from_str("cancelled"));
            }
            let mut proposed = self.proposed.borrow_mut();
            for update in updates {
                proposed.push(ProposedUpdate {
                    reference: update.dst_refname().unwrap_or_default().to_owned(),
                    old: update.src(),
                    new: update.dst(),
                });
            }
            Ok(())
        });
        // libgit2 reports a refused ref only here; the push call itself still succeeds.
        callbacks.push_update_reference(move |reference, status| {
            if let Some(reason) = status {
                self.rejections.borrow_mut().push(RefRejection {
                    reference: reference.to_owned(),
                    reason: redact_text(reason),
                });
            }
            Ok(())
        });
        callbacks
    }

    pub fn fetch_options<'a>(&'a self, monitor: &'a Monitor) -> FetchOptions<'a> {
        let mut options = FetchOptions::new();
        options.remote_callbacks(self.callbacks(monitor));
        options.proxy_options(self.proxy_options());
        options.follow_redirects(RemoteRedirect::Initial);
        options
    }

    pub fn push_options<'a>(&'a self, monitor: &'a Monitor) -> PushOptions<'a> {
        let mut options = PushOptions::new();
        options.remote_callbacks(self.callbacks(monitor));
        options.proxy_options(self.proxy_options());
        options.follow_redirects(RemoteRedirect::Initial);
        options
    }

    /// What the server printed on its sideband (`remote:` lines), redacted.
    pub fn remote_messages(&self) -> String {
        redact_text(self.remote_messages.borrow().trim())
    }

    pub fn take_rejections(&self) -> Vec<RefRejection> {
        std::mem::take(&mut self.rejections.borrow_mut())
    }

    pub fn take_proposed(&self) -> Vec<ProposedUpdate> {
        std::mem::take(&mut self.proposed.borrow_mut())
    }

    /// Turn a libgit2 failure of this session into the error a user can act on.
    pub fn classify(&self, err: &git2::Error, monitor: &Monitor) -> HfGitError {
        if monitor.is_cancelled() {
            return HfGitError::Cancelled;
        }
        let target = self.display.clone();
        let requested_wait = tcp_stream::take_requested_wait();
        if let Some(error) = self.proxy_failure(err) {
            return error;
        }
        // libgit2's words for a 429, or the TCP stream's for one that cut a request short.
        if err.message().contains("status code: 429") || err.message().contains("answered HTTP 429")
        {
            return rate_limit::rate_limited(target, requested_wait.flatten());
        }
        match self.broker.outcome() {
            CredentialOutcome::Rejected | CredentialOutcome::Missing => {
                return HfGitError::Authentication {
                    target,
                    detail: crate::error::classify::auth_hint(self.broker.has_token()),
                };
            }
            CredentialOutcome::WrongHost => {
                return HfGitError::Authentication {
                    target,
                    detail: "the server redirected to another host that asked for credentials; \
                             the token was not sent there"
                        .into(),
                };
            }
            CredentialOutcome::NotAsked | CredentialOutcome::Offered => {}
        }
        classify_git_error(err, &GitContext::remote(target, self.broker.has_token()))
    }

    /// A libgit2 failure that is the proxy's: a refused tunnel, a 407, or no connection to it.
    fn proxy_failure(&self, err: &git2::Error) -> Option<HfGitError> {
        let proxy = self.proxy.as_deref()?;
        let message = redact_text(err.message());
        let lower = message.to_ascii_lowercase();
        let target = &self.url[url::Position::BeforeHost..url::Position::AfterPort];
        let detail = if let Some(status) = lower
            .strip_prefix("proxy returned unexpected status: ")
            .and_then(|code| code.trim().parse::<u16>().ok())
        {
            proxy.refusal(target, status).0
        } else if lower.contains("proxy authentication required")
            || (lower.contains("authentication") && lower.contains("proxy"))
        {
            proxy.refusal(target, 407).0
        } else if lower.contains("that is the proxy") {
            let cause = message
                .split("; that is the proxy")
                .next()
                .unwrap_or(&message);
            proxy.unreachable(cause)
        } else {
            return None;
        };
        Some(HfGitError::Proxy {
            proxy: proxy.display().to_owned(),
            detail,
        })
    }
}

/// Refuse, before connecting, what this proxy cannot carry: a token in clear text to a proxy on
/// another machine, or a plain-http remote through an https proxy (libgit2 would bypass it).
fn check_proxy_for_remote(proxy: &Proxy, url: &Url, has_token: bool) -> Result<()> {
    if url.scheme() != "http" {
        return Ok(());
    }
    if has_token && !proxy.is_loopback() {
        return Err(HfGitError::InsecureTransport {
            host: format!(
                "{} (through the proxy {})",
                url.host_str().unwrap_or_default(),
                proxy.display()
            ),
        });
    }
    if proxy.is_https() {
        return Err(HfGitError::Proxy {
            proxy: proxy.display().to_owned(),
            detail: format!(
                "git traffic to a plain http:// remote cannot go through an https:// proxy \
                 (libgit2 opens no TLS connection to a proxy for it); use an http:// proxy, or \
                 an https:// remote (the proxy comes from {})",
                proxy.source()
            ),
        });
    }
    Ok(())
}
