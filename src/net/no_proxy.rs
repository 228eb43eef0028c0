//! `NO_PROXY`: the hosts that are reached directly even when a proxy is set.
//!
//! The list is read as huggingface_hub's HTTP clients (requests, httpx), curl and so git read
//! it: entries separated by commas, spaces ignored, case-insensitive, and
//!
//! - `*` alone: no proxy for any host;
//! - a domain (`example.com`, `.example.com` or `*.example.com`): that host and every host under
//!   it (`hub.example.com`), never a look-alike (`badexample.com`);
//! - an IP address (`10.1.2.3`, `::1` or `[::1]`): that address, written as an address in the URL;
//! - a CIDR block (`10.0.0.0/8`, `fd00::/8`): every address in it, as requests and httpx accept;
//! - any of these with `:port`: only connections to that port.
//!
//! Nothing is implied: loopback hosts (`127.0.0.1`, `localhost`) go through the proxy unless the
//! list names them, as requests and curl do.

use std::net::IpAddr;

use url::{Host, Url};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Pattern {
    All,
    Domain(String),
    Address(IpAddr),
    Network { base: IpAddr, prefix: u8 },
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    pattern: Pattern,
    port: Option<u16>,
}

/// A parsed `NO_PROXY` list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NoProxy {
    entries: Vec<Entry>,
}

impl NoProxy {
    /// Parse a `NO_PROXY` value; entries that cannot mean anything are skipped, as the other
    /// clients skip them.
    pub fn parse(value: &str) -> Self {
        let entries = value
            .split(',')
            .map(|entry| entry.chars().filter(|c| !c.is_whitespace()).collect())
            .filter_map(|entry: String| parse_entry(&entry))
            .collect();
        Self { entries }
    }

    /// Read `no_proxy`, else `NO_PROXY` (the lower-case name wins, as in Python's urllib).
    pub fn from_environment() -> Self {
        ["no_proxy", "NO_PROXY"]
            .iter()
            .find_map(|name| std::env::var(name).ok())
            .map(|value| Self::parse(&value))
            .unwrap_or_default()
    }

    /// Whether `url` is to be reached without a proxy.
    pub fn bypasses(&self, url: &Url) -> bool {
        let Some(host) = url.host() else {
            return false;
        };
        let port = url.port_or_known_default();
        self.entries.iter().any(|entry| {
            entry.port.is_none_or(|wanted| Some(wanted) == port) && entry.matches(&host)
        })
    }
}

impl Entry {
    fn matches(&self, host: &Host<&str>) -> bool {
        let address = match host {
            Host::Ipv4(ip) => Some(IpAddr::V4(*ip)),
            Host::Ipv6(ip) => Some(IpAddr::V6(*ip)),
            Host::Domain(_) => None,
        };
        match (&self.pattern, host, address) {
            (Pattern::All, _, _) => true,
            (Pattern::Domain(domain), Host::Domain(name), _) => {
                let name = name.trim_end_matches('.').to_ascii_lowercase();
                name == *domain
                    || name
                        .strip_suffix(domain.as_str())
                        .is_some_and(|rest| rest.ends_with('.'))
            }
            (Pattern::Address(wanted), _, Some(address)) => *wanted == address,
            (Pattern::Network { base, prefix }, _, Some(address)) => {
                in_network(address, *base, *prefix)
            }
            _ => false,
        }
    }
}

fn parse_entry(entry: &str) -> Option<Entry> {
    if entry.is_empty() {
        return None;
    }
    if entry == "*" {
        return Some(Entry {
            pattern: Pattern::All,
            port: None,
        });
    }
    if let Some((base, prefix)) = entry.split_once('/') {
        let base: IpAddr = base.trim_matches(['[', ']']).parse().ok()?;
        let prefix: u8 = prefix.parse().ok()?;
        let bits = if base.is_ipv4() { 32 } else { 128 };
        return (prefix <= bits).then_some(Entry {
            pattern: Pattern::Network { base, prefix },
            port: None,
        });
    }
    if let Ok(address) = entry.trim_matches(['[', ']']).parse::<IpAddr>() {
        return Some(Entry {
            pattern: Pattern::Address(address),
            port: None,
        });
    }
    // `host:port`, `1.2.3.4:port` or `[::1]:port`.
    let (host, port) = match entry.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => {
            (host, Some(port.parse::<u16>().ok()?))
        }
        _ => (entry, None),
    };
    let host = host.trim_matches(['[', ']']);
    let pattern = match host.parse::<IpAddr>() {
        Ok(address) => Pattern::Address(address),
        Err(_) => {
            let domain = host
                .trim_start_matches('*')
                .trim_start_matches('.')
                .trim_end_matches('.')
                .to_ascii_lowercase();
            if domain.is_empty() {
                return None;
            }
            Pattern::Domain(domain)
        }
    };
    Some(Entry { pattern, port })
}

fn in_network(address: IpAddr, base: IpAddr, prefix: u8) -> bool {
    match (address, base) {
        (IpAddr::V4(address), IpAddr::V4(base)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            u32::from(address) & mask == u32::from(base) & mask
        }
        (IpAddr::V6(address), IpAddr::V6(base)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            u128::from(address) & mask == u128::from(base) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bypasses(list: &str, url: &str) -> bool {
        NoProxy::parse(list).bypasses(&Url::parse(url).unwrap())
    }

    #[test]
    fn a_domain_covers_itself_and_its_subdomains_but_no_look_alike() {
        for list in [
            "example.com",
            ".example.com",
            "*.example.com",
            " EXAMPLE.com ",
        ] {
            assert!(bypasses(list, "https://example.com/x"), "{list}");
            assert!(bypasses(list, "https://hub.Example.com/x"), "{list}");
            assert!(bypasses(list, "https://a.b.example.com./x"), "{list}");
            assert!(!bypasses(list, "https://badexample.com/x"), "{list}");
            assert!(!bypasses(list, "https://example.com.evil.io/x"), "{list}");
        }
    }

    #[test]
    fn addresses_and_cidr_blocks_match_addresses_only() {
        assert!(bypasses("10.0.0.0/8", "http://10.20.30.40:8080/x"));
        assert!(!bypasses("10.0.0.0/8", "http://11.0.0.1/x"));
        assert!(bypasses("192.168.1.7", "http://192.168.1.7/x"));
        assert!(!bypasses("192.168.1.7", "http://192.168.1.8/x"));
        assert!(bypasses("::1", "http://[::1]:9/x"));
        assert!(bypasses("[::1]", "http://[::1]:9/x"));
        assert!(bypasses("fd00::/8", "http://[fd12::1]/x"));
        assert!(!bypasses("fd00::/8", "http://[fe80::1]/x"));
        assert!(bypasses("0.0.0.0/0", "http://1.2.3.4/x"));
        // An address pattern is not a host name, nor the other way round.
        assert!(!bypasses("127.0.0.1", "http://localhost/x"));
        assert!(!bypasses("localhost", "http://127.0.0.1/x"));
    }

    #[test]
    fn a_port_narrows_an_entry_to_that_port() {
        assert!(bypasses("example.com:8080", "http://example.com:8080/x"));
        assert!(!bypasses("example.com:8080", "http://example.com/x"));
        assert!(bypasses("example.com:443", "https://example.com/x"));
        assert!(bypasses("127.0.0.1:9000", "http://127.0.0.1:9000/x"));
        assert!(!bypasses("127.0.0.1:9000", "http://127.0.0.1:9001/x"));
        assert!(bypasses("[::1]:9000", "http://[::1]:9000/x"));
    }

    #[test]
    fn star_bypasses_everything_and_nothing_is_implied() {
        assert!(bypasses("*", "https://huggingface.co/x"));
        assert!(bypasses("a.org, *", "http://127.0.0.1/x"));
        assert!(!bypasses("", "http://127.0.0.1/x"));
        assert!(!bypasses("a.org,,b.org", "http://localhost/x"));
        assert!(!bypasses("*.", "http://localhost/x"));
        assert!(!bypasses("10.0.0.0/99", "http://10.0.0.1/x"));
    }
}
