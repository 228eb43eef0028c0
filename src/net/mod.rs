//! What every HTTP request of hfgit shares, git's smart HTTP included: the proxy it goes through,
//! the User-Agent it sends, how long it may wait, and how it waits out the Hub's rate limits.
//!
//! The rules live here once; the two HTTP stacks apply them in one place each: the ureq agent of
//! the LFS and Hub API client (`lfs::transfer::client`) and libgit2's options
//! (`remote`). Everything is read from the environment (and git config) when an operation starts,
//! so a notebook that sets `os.environ["HTTPS_PROXY"]` sees it take effect on its next call.

pub mod no_proxy;
pub mod proxy;
pub mod rate_limit;
pub mod timeouts;

/// `hfgit/<version>`, with `; origin/<value>` when `HF_HUB_USER_AGENT_ORIGIN` is set, as
/// huggingface_hub appends it (`utils/_headers.py`, `_http_user_agent`). Characters that cannot
/// go in a header are dropped.
pub fn user_agent() -> String {
    let mut agent = concat!("hfgit/", env!("CARGO_PKG_VERSION")).to_owned();
    if let Ok(origin) = std::env::var("HF_HUB_USER_AGENT_ORIGIN") {
        let origin: String = origin
            .chars()
            .filter(|c| c.is_ascii() && !c.is_ascii_control())
            .collect();
        agent.push_str("; origin/");
        agent.push_str(origin.trim());
    }
    agent
}

/// `Basic base64(user:password)`, the value of an `Authorization` or `Proxy-Authorization` header.
pub(crate) fn basic_credentials(pair: &str) -> String {
    format!("Basic {}", base64(pair.as_bytes()))
}

/// Standard base64 with padding, as HTTP Basic wants it.
pub(crate) fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let group = match *chunk {
            [a] => u32::from(a) << 16,
            [a, b] => (u32::from(a) << 16) | (u32::from(b) << 8),
            [a, b, c] => (u32::from(a) << 16) | (u32::from(b) << 8) | u32::from(c),
            _ => unreachable!("chunks(3) yields one to three bytes"),
        };
        let sextets = [18, 12, 6, 0].map(|shift| ALPHABET[((group >> shift) & 63) as usize]);
        for (index, sextet) in sextets.iter().enumerate() {
            out.push(if index <= chunk.len() {
                char::from(*sextet)
            } else {
                '='
            });
        }
    }
    out
}

/// A setting from the environment that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidSetting {
    pub name: &'static str,
    pub detail: String,
}

/// A number of seconds from the variable `name`: `None` when unset, empty or 0 (0 means "the
/// default", as huggingface_hub's `_as_int(...) or DEFAULT` reads its timeouts).
pub(crate) fn seconds_from_env(
    name: &'static str,
) -> Result<Option<std::time::Duration>, InvalidSetting> {
    let Ok(value) = std::env::var(name) else {
        return Ok(None);
    };
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    match value.parse::<f64>() {
        Ok(0.0) => Ok(None),
        Ok(seconds) if seconds.is_finite() && seconds > 0.0 && seconds < 1e9 => {
            Ok(Some(std::time::Duration::from_secs_f64(seconds)))
        }
        _ => Err(InvalidSetting {
            name,
            detail: format!("{name} must be a positive number of seconds, not {value:?}"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        let vectors = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
            ("hf_user:tok", "aGZfdXNlcjp0b2s="),
        ];
        for (plain, encoded) in vectors {
            assert_eq!(base64(plain.as_bytes()), encoded, "{plain}");
        }
        assert_eq!(basic_credentials("a:b"), "Basic YTpi");
    }
}
