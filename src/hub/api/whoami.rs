//! `whoami`: `GET /api/whoami-v2`, and the commit author it implies.
//!
//! The answer is huggingface_hub's `HfApi.whoami()` dictionary (`type`, `name`, `fullname`,
//! `orgs`, `auth.accessToken.role`, ...), passed on as it is. For commits made where git config
//! names nobody, the token's owner is a better author than a placeholder: the name is the account's
//! full name (else its user name), the address the Hub's no-reply form
//! `<user>@users.noreply.huggingface.co`. That form is what the Hub writes as the author of
//! commits made on the website or through its API; it is observed in Hub repositories' histories
//! (e.g. `Lim Hwang <Lordplay@users.noreply.huggingface.co>`), not documented (*inferred*).
//!
//! The lookup is made once per process for each Hub and token (the endpoint is rate-limited,
//! huggingface_hub offers `whoami(cache=True)` for the same reason), and its failure is
//! remembered too, so a training loop that commits every few minutes never waits on it twice.

use std::collections::HashMap;
use std::sync::Mutex;

use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use super::{text_field, ApiError, HubApi};
use crate::error::{HfGitError, Result};
use crate::progress::Monitor;

/// The domain of the Hub's no-reply commit addresses (*inferred*, see the module docs).
pub const NOREPLY_DOMAIN: &str = "users.noreply.huggingface.co";

/// Who the token belongs to, as huggingface_hub's `whoami()` returns it.
pub fn whoami(api: &HubApi, monitor: &Monitor) -> Result<serde_json::Value> {
    let target = api.endpoint().to_owned();
    if !api.has_token() {
        return Err(HfGitError::Authentication {
            target,
            detail: "whoami needs a token and none was found. Pass token=..., set HF_TOKEN, or \
                     log in with `hf auth login`."
                .into(),
        });
    }
    let url = format!("{}/api/whoami-v2", api.endpoint());
    api.get_json(&url, monitor).map_err(|error| match error {
        ApiError::Status {
            status: 401,
            message,
        } => HfGitError::Authentication {
            target,
            detail: format!(
                "the Hub does not know this token ({}). Check HF_TOKEN, the token passed, or \
                 log in again with `hf auth login` (https://huggingface.co/settings/tokens).",
                if message.is_empty() {
                    "HTTP 401".to_owned()
                } else {
                    message
                }
            ),
        },
        other => other.into_error(&target, "whoami", true),
    })
}

/// A commit author.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Author {
    pub name: String,
    pub email: String,
}

/// The author a `whoami` answer implies: only for user accounts (an organization's token has no
/// person behind it).
pub fn author_from_whoami(answer: &serde_json::Value) -> Option<Author> {
    if text_field(answer, "type").is_some_and(|kind| kind != "user") {
        return None;
    }
    let user = text_field(answer, "name")?;
    if !user
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return None;
    }
    let name = text_field(answer, "fullname")
        .map(str::trim)
        .filter(|name| !name.is_empty() && !name.contains(['<', '>', '\n']))
        .unwrap_or(user);
    Some(Author {
        name: name.to_owned(),
        email: format!("{user}@{NOREPLY_DOMAIN}"),
    })
}

type AuthorCache = Mutex<HashMap<[u8; 32], Option<Author>>>;
static AUTHORS: std::sync::OnceLock<AuthorCache> = std::sync::OnceLock::new();

/// The author for `token` on the Hub at `endpoint`: from the cache, else from `lookup` (whose
/// answer, `None` included, is kept for the rest of the process). Neither the token nor a
/// reversible form of it is kept: the key is a SHA-256 of endpoint and token.
pub fn cached_author(
    endpoint: &str,
    token: &SecretString,
    lookup: impl FnOnce() -> Option<Author>,
) -> Option<Author> {
    let mut hasher = Sha256::new();
    hasher.update(endpoint.trim_end_matches('/').as_bytes());
    hasher.update([0]);
    hasher.update(token.expose_secret().as_bytes());
    let key: [u8; 32] = hasher.finalize().into();
    let cache = AUTHORS.get_or_init(Mutex::default);
    if let Some(known) = cache.lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
        return known.clone();
    }
    // Looked up without the lock held: two threads may both ask once, which is harmless.
    let found = lookup();
    cache
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .entry(key)
        .or_insert(found)
        .clone()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_author_is_the_full_name_at_the_no_reply_address_of_the_user_name() {
        let answer = json!({"type": "user", "name": "alice", "fullname": "Alice Liddell"});
        assert_eq!(
            author_from_whoami(&answer),
            Some(Author {
                name: "Alice Liddell".into(),
                email: "alice@users.noreply.huggingface.co".into()
            })
        );
        let no_full_name = json!({"type": "user", "name": "bob", "fullname": ""});
        assert_eq!(author_from_whoami(&no_full_name).unwrap().name, "bob");
    }

    #[test]
    fn organizations_and_odd_answers_give_no_author() {
        assert_eq!(
            author_from_whoami(&json!({"type": "org", "name": "acme"})),
            None
        );
        assert_eq!(author_from_whoami(&json!({"type": "user"})), None);
        assert_eq!(
            author_from_whoami(&json!({"type": "user", "name": "a b<c>"})),
            None
        );
    }

    #[test]
    fn each_hub_and_token_is_looked_up_once_per_process_even_when_it_failed() {
        let token = SecretString::from("hf_cache_test_token".to_owned());
        let endpoint = "http://127.0.0.1:1/cache-test";
        let mut calls = 0;
        for _ in 0..3 {
            let found = cached_author(endpoint, &token, || {
                calls += 1;
                None
            });
            assert_eq!(found, None);
        }
        assert_eq!(calls, 1);
        let other = SecretString::from("hf_cache_test_token_2".to_owned());
        let found = cached_author(endpoint, &other, || {
            Some(Author {
                name: "x".into(),
                email: "x@y".into(),
            })
        });
        assert_eq!(found.unwrap().name, "x");
    }
}
