//! One conversation with a remote: credentials, TLS trust, progress, cancellation and the
//! server's per-ref verdicts, wired into libgit2's callbacks in one place for clone, pull and push.

mod tcp_stream;
mod tls;

use std::cell::RefCell;

use git2::{FetchOptions, Oid, PushOptions, RemoteCallbacks, RemoteRedirect};
use secrecy::SecretString;
use url::Url;

use crate::auth::redact::{redact_text, SecretGuard};
use crate::auth::{CredentialBroker, CredentialOutcome};
use crate::error::{classify_git_error, GitContext, HfGitError, Result};
use crate::hub::{ensure_online, ensure_token_transport_is_safe};
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
    remote_messages: RefCell<String>,
    rejections: RefCell<Vec<RefRejection>>,
    proposed: RefCell<Vec<ProposedUpdate>>,
}

impl RemoteSession {
    /// Prepare to talk to `url` (already free of credentials) with `token`. Refused before any
    /// connection when `HF_HUB_OFFLINE` is set or the token would travel in clear text.
    pub fn new(url: Url, token: Option<SecretString>) -> Result<Self> {
        ensure_online(&url)?;
        ensure_token_transport_is_safe(&url, token.is_some())?;
        tls::apply_environment_ca_bundle()?;
        tls::apply_timeouts();
        tcp_stream::register();
        let redaction = token.as_ref().map(SecretGuard::register);
        let host = crate::auth::credentials::remote_host(&url);
        let display = url.as_str().trim_end_matches('/').to_owned();
        Ok(Self {
            url,
            display,
            broker: CredentialBroker::new(token, host),
            _redaction: redaction,
            remote_messages: RefCell::default(),
            rejections: RefCell::default(),
            proposed: RefCell::default(),
        })
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
        options.follow_redirects(RemoteRedirect::Initial);
        options
    }

    pub fn push_options<'a>(&'a self, monitor: &'a Monitor) -> PushOptions<'a> {
        let mut options = PushOptions::new();
        options.remote_callbacks(self.callbacks(monitor));
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
}
