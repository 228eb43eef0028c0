//! Who a commit is by when git config names nobody.
//!
//! git takes the author from `user.name` / `user.email`, then `GIT_AUTHOR_NAME` /
//! `GIT_AUTHOR_EMAIL`. A fresh notebook or training container usually has neither, but it has a
//! Hub token: its owner, asked with `whoami` on the Hub the repo's `origin` belongs to, is the
//! author, at the Hub's no-reply address (see [`crate::hub::api::whoami`]). The lookup is made
//! once per process and token; without a token, in offline mode, or when it fails, the author is
//! `hfgit <hfgit@localhost>` as before. Only the implicit token sources count (`HF_TOKEN`, the
//! token file, a notebook secret already read by an earlier call): a commit never prompts.

use git2::{Repository, Signature};

use super::upstream::remote_spec;
use crate::auth::{resolve_token, ProcessEnv, TokenRequest};
use crate::error::Result;
use crate::hub::api::whoami::{author_from_whoami, cached_author, whoami, Author};
use crate::hub::api::HubApi;
use crate::hub::{ensure_token_transport_is_safe, is_offline, resolve_endpoint, HubRepo};
use crate::progress::Monitor;

const FALLBACK_NAME: &str = "hfgit";
const FALLBACK_EMAIL: &str = "hfgit@localhost";

/// The author (and committer) when git config has none: `GIT_AUTHOR_*`, then the token's owner
/// on the Hub, then the fallback, field by field.
pub(crate) fn fallback_signature(
    repo: &Repository,
    monitor: &Monitor,
) -> Result<Signature<'static>> {
    let from_env = |key: &str| std::env::var(key).ok().filter(|v| !v.trim().is_empty());
    let (name, email) = (from_env("GIT_AUTHOR_NAME"), from_env("GIT_AUTHOR_EMAIL"));
    let hub = if name.is_none() || email.is_none() {
        hub_author(repo, monitor)
    } else {
        None
    };
    let name = name
        .or_else(|| hub.as_ref().map(|a| a.name.clone()))
        .unwrap_or_else(|| FALLBACK_NAME.to_owned());
    let email = email
        .or_else(|| hub.map(|a| a.email))
        .unwrap_or_else(|| FALLBACK_EMAIL.to_owned());
    Ok(Signature::now(&name, &email)?)
}

/// The token owner on the Hub of `origin` (else `HF_ENDPOINT`, else the public Hub).
fn hub_author(repo: &Repository, monitor: &Monitor) -> Option<Author> {
    if is_offline() {
        return None;
    }
    let origin = remote_spec(repo, "origin").ok();
    let endpoint = match origin
        .as_ref()
        .map(|spec| HubRepo::from_remote_url(&spec.url))
    {
        Some(Ok(hub_repo)) => hub_repo.endpoint,
        _ => resolve_endpoint(None, std::env::var("HF_ENDPOINT").ok()).ok()?,
    };
    let url_token = origin.and_then(|spec| spec.url_token);
    let token = resolve_token(TokenRequest::Implicit, url_token, &ProcessEnv)?;
    ensure_token_transport_is_safe(&url::Url::parse(&endpoint).ok()?, true).ok()?;
    cached_author(&endpoint, &token, || {
        let api = HubApi::quick(&endpoint, Some(token.clone())).ok()?;
        let answer = whoami(&api, monitor).ok()?;
        author_from_whoami(&answer)
    })
}
