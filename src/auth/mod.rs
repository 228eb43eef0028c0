//! Access tokens: where they come from, how they reach libgit2, and how they are kept out of sight.
//!
//! A token is a [`SecretString`] from the moment it enters (argument, environment, token file, or a
//! URL's userinfo) until libgit2's credential callback asks for it; it is never written into a
//! remote URL, `.git/config`, a reflog or a message.

pub mod credentials;
pub mod redact;
pub mod token;

pub use credentials::{CredentialBroker, CredentialOutcome};
pub use secrecy::{ExposeSecret, SecretString};
pub use token::{
    implicit_token_without_notebook, notebook_secret_checked, resolve_token, set_notebook_secret,
    ProcessEnv, TokenEnv, TokenRequest,
};
