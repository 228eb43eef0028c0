//! Scrubbing secrets out of any text before it reaches a user: error messages, `repr`s, logs.
//!
//! Three layers, because text comes from places we do not control (libgit2, servers, user URLs):
//! URL userinfo is dropped, anything shaped like a Hub token is masked, and every token currently
//! in use by an operation (registered through [`SecretGuard`]) is masked wherever it appears.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use secrecy::{ExposeSecret, SecretString};

const MASK: &str = "***";

static ACTIVE_SECRETS: Mutex<Vec<(u64, SecretString)>> = Mutex::new(Vec::new());
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Keeps a token on the redaction list for as long as an operation may echo it back.
pub struct SecretGuard(u64);

impl SecretGuard {
    pub fn register(secret: &SecretString) -> Self {
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let copy = SecretString::from(secret.expose_secret().to_owned());
        lock_secrets().push((id, copy));
        Self(id)
    }
}

impl Drop for SecretGuard {
    fn drop(&mut self) {
        lock_secrets().retain(|(id, _)| *id != self.0);
    }
}

fn lock_secrets() -> std::sync::MutexGuard<'static, Vec<(u64, SecretString)>> {
    ACTIVE_SECRETS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Return `text` with URL userinfo, token-shaped words and registered tokens removed.
pub fn redact_text(text: &str) -> String {
    let mut out = strip_url_userinfo(text);
    for (_, secret) in lock_secrets().iter() {
        let secret = secret.expose_secret();
        if !secret.is_empty() {
            out = out.replace(secret, MASK);
        }
    }
    mask_token_shapes(&out)
}

/// `https://user:pass@host/x` → `https://host/x`, anywhere in a text.
pub fn strip_url_userinfo(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find("://") {
        let (head, tail) = rest.split_at(pos + 3);
        out.push_str(head);
        let authority_end = tail
            .find(|c: char| {
                c == '/' || c == '?' || c == '#' || c.is_whitespace() || c == '\'' || c == '"'
            })
            .unwrap_or(tail.len());
        let authority = &tail[..authority_end];
        match authority.rfind('@') {
            Some(at) => out.push_str(&authority[at + 1..]),
            None => out.push_str(authority),
        }
        rest = &tail[authority_end..];
    }
    out.push_str(rest);
    out
}

/// Mask words that look like Hub user or org tokens (`hf_…`, `api_org_…`) even if not registered.
fn mask_token_shapes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        if looks_like_token(word) {
            out.push_str(MASK);
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in text.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

fn looks_like_token(word: &str) -> bool {
    ["hf_", "api_org_"].iter().any(|prefix| {
        word.strip_prefix(prefix)
            .is_some_and(|body| body.len() >= 20 && body.chars().all(|c| c.is_ascii_alphanumeric()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn userinfo_is_removed_from_every_url_in_a_message() {
        let text = "failed https://u:secret@h.co/a then http://tok@127.0.0.1:80/b.";
        assert_eq!(
            strip_url_userinfo(text),
            "failed https://h.co/a then http://127.0.0.1:80/b."
        );
    }

    #[test]
    fn token_shaped_words_are_masked() {
        let text = "bad token hf_abcdefghijklmnopqrstuvwxyzABCDEFGH here; hf_short stays";
        assert_eq!(redact_text(text), "bad token *** here; hf_short stays");
    }

    #[test]
    fn registered_secrets_are_masked_until_their_guard_drops() {
        let secret = SecretString::from("plain-secret-value".to_string());
        {
            let _guard = SecretGuard::register(&secret);
            assert_eq!(redact_text("x plain-secret-value y"), "x *** y");
        }
        assert_eq!(
            redact_text("x plain-secret-value y"),
            "x plain-secret-value y"
        );
    }
}
