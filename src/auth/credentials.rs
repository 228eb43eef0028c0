//! The one place a token is handed to libgit2, with a bound on retries.
//!
//! libgit2 calls the credential callback again every time the server answers 401, forever if the
//! callback keeps answering (the endless-loop bug pygit2 and rugged users hit with a bad token).
//! The broker offers the token once; a second request means the server rejected it, and the
//! broker then refuses so the operation ends with an authentication error straight away.

use std::cell::Cell;

use git2::{Cred, CredentialType};
use secrecy::{ExposeSecret, SecretString};

/// The username sent with a token; the Hub ignores it, and huggingface_hub uses the same.
pub const TOKEN_USERNAME: &str = "hf_user";

/// What happened at the credential callback during one operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CredentialOutcome {
    /// The server never asked for credentials.
    #[default]
    NotAsked,
    /// The token was sent once.
    Offered,
    /// The server asked again after the token was sent: it was rejected.
    Rejected,
    /// The server asked and there was no token to give.
    Missing,
    /// A server other than the remote's host asked (after a redirect): the token was withheld.
    WrongHost,
}

pub struct CredentialBroker {
    token: Option<SecretString>,
    host: String,
    outcome: Cell<CredentialOutcome>,
}

impl CredentialBroker {
    /// `host` is the remote's host: the only one that ever receives the token.
    pub fn new(token: Option<SecretString>, host: impl Into<String>) -> Self {
        Self {
            token,
            host: host.into(),
            outcome: Cell::new(CredentialOutcome::NotAsked),
        }
    }

    pub fn has_token(&self) -> bool {
        self.token.is_some()
    }

    pub fn outcome(&self) -> CredentialOutcome {
        self.outcome.get()
    }

    /// The body of libgit2's credential callback.
    pub fn provide(&self, url: &str, allowed: CredentialType) -> Result<Cred, git2::Error> {
        let Some(token) = &self.token else {
            self.outcome.set(CredentialOutcome::Missing);
            return Err(git2::Error::from_str(
                "authentication required but no token was given",
            ));
        };
        if self.outcome.get() == CredentialOutcome::Offered {
            self.outcome.set(CredentialOutcome::Rejected);
            return Err(git2::Error::from_str("the token was rejected"));
        }
        if host_of(url).as_deref() != Some(self.host.as_str()) {
            self.outcome.set(CredentialOutcome::WrongHost);
            return Err(git2::Error::from_str(
                "credentials requested by another host; token withheld",
            ));
        }
        if !allowed.contains(CredentialType::USER_PASS_PLAINTEXT) {
            self.outcome.set(CredentialOutcome::Missing);
            return Err(git2::Error::from_str(
                "the server does not accept a token as password",
            ));
        }
        self.outcome.set(CredentialOutcome::Offered);
        Cred::userpass_plaintext(TOKEN_USERNAME, token.expose_secret())
    }
}

fn host_of(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    let host = parsed.host_str()?.to_ascii_lowercase();
    Some(match parsed.port() {
        Some(port) => format!("{host}:{port}"),
        None => host,
    })
}

/// The host (and explicit port) of a remote URL, as the broker compares it.
pub fn remote_host(url: &url::Url) -> String {
    host_of(url.as_str()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "https://huggingface.co/alice/model";

    #[test]
    fn token_is_offered_once_then_refused() {
        let broker = CredentialBroker::new(Some("hf_x".to_string().into()), "huggingface.co");
        assert!(broker
            .provide(URL, CredentialType::USER_PASS_PLAINTEXT)
            .is_ok());
        assert_eq!(broker.outcome(), CredentialOutcome::Offered);
        assert!(broker
            .provide(URL, CredentialType::USER_PASS_PLAINTEXT)
            .is_err());
        assert_eq!(broker.outcome(), CredentialOutcome::Rejected);
    }

    #[test]
    fn missing_token_is_reported_as_missing() {
        let broker = CredentialBroker::new(None, "huggingface.co");
        assert!(broker
            .provide(URL, CredentialType::USER_PASS_PLAINTEXT)
            .is_err());
        assert_eq!(broker.outcome(), CredentialOutcome::Missing);
    }

    #[test]
    fn another_host_never_receives_the_token() {
        let broker = CredentialBroker::new(Some("hf_x".to_string().into()), "huggingface.co");
        assert!(broker
            .provide(
                "https://evil.example/x",
                CredentialType::USER_PASS_PLAINTEXT
            )
            .is_err());
        assert_eq!(broker.outcome(), CredentialOutcome::WrongHost);
    }
}
