//! Where a token may travel: https anywhere, plain http only to this machine.

use url::{Host, Url};

use crate::error::{HfGitError, Result};

pub fn is_loopback_host(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// Refuse before connecting when a token would cross the network unencrypted.
pub fn ensure_token_transport_is_safe(url: &Url, has_token: bool) -> Result<()> {
    if has_token && url.scheme() == "http" && !is_loopback_host(url) {
        return Err(HfGitError::InsecureTransport {
            host: url.host_str().unwrap_or_default().to_owned(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(url: &str, has_token: bool) -> bool {
        ensure_token_transport_is_safe(&Url::parse(url).unwrap(), has_token).is_ok()
    }

    #[test]
    fn token_over_plain_http_is_refused_except_to_loopback() {
        assert!(!check("http://example.com/a/b", true));
        assert!(check("http://127.0.0.1:8080/a/b", true));
        assert!(check("http://127.3.4.5/a/b", true));
        assert!(check("http://[::1]:80/a/b", true));
        assert!(check("http://localhost/a/b", true));
        assert!(check("https://example.com/a/b", true));
        assert!(check("http://example.com/a/b", false));
    }
}
