//! The CAS access a `xet` batch answer hands out: `X-Xet-*` headers and the token route.
//!
//! The Hub puts the same four headers on every new object's upload action (hub-2026.md §1 row 2):
//! `X-Xet-Cas-Url`, `X-Xet-Access-Token`, `X-Xet-Token-Expiration` (unix seconds) and, optionally,
//! `X-Xet-Session-Id`; the action's `href` is where a fresh token is asked for.
//!
//! `X-Xet-Session-Id` is not passed on. hub-2026.md says only that the Hub sends it, not that the
//! CAS expects it back (unconfirmed); and the crates put their own `X-Xet-Session-Id` (their
//! session's id) on every CAS request in a middleware, which would replace one given as a custom
//! header anyway (xet-client 1.8.0, `SessionMiddleware`).

use secrecy::SecretString;
use url::Url;

use crate::lfs::transfer::batch::Action;

/// Where the CAS is, a first token for it, and where to get the next one.
pub(crate) struct CasAccess {
    pub cas_url: Url,
    pub token: SecretString,
    /// Unix seconds.
    pub expires_at: u64,
    pub refresh: Url,
}

/// Read the access from one upload action; `Err` says what is missing or malformed.
pub(crate) fn from_action(action: &Action) -> Result<CasAccess, String> {
    let header = |name: &str| {
        action
            .header
            .iter()
            .find(|(have, _)| have.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.trim())
            .ok_or_else(|| format!("the xet upload action has no {name} header"))
    };
    let cas_url = Url::parse(header("X-Xet-Cas-Url")?)
        .ok()
        .filter(|url| matches!(url.scheme(), "http" | "https") && url.host().is_some())
        .ok_or_else(|| "the X-Xet-Cas-Url header is not an http(s) URL".to_owned())?;
    let token = header("X-Xet-Access-Token")?;
    if token.is_empty() {
        return Err("the X-Xet-Access-Token header is empty".to_owned());
    }
    let expires_at = header("X-Xet-Token-Expiration")?
        .parse::<u64>()
        .map_err(|_| "the X-Xet-Token-Expiration header is not a unix time".to_owned())?;
    Ok(CasAccess {
        cas_url,
        token: SecretString::from(token.to_owned()),
        expires_at,
        refresh: action.href.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;
    use std::collections::BTreeMap;

    fn action(headers: &[(&str, &str)]) -> Action {
        Action {
            href: Url::parse("https://hub.example/api/models/u/r/xet-write-token/main").unwrap(),
            header: headers
                .iter()
                .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
                .collect::<BTreeMap<_, _>>(),
            expires_at: None,
        }
    }

    #[test]
    fn the_hub_headers_give_the_cas_url_token_expiry_and_refresh_route_in_any_case() {
        let access = from_action(&action(&[
            ("x-xet-cas-url", "https://cas.example"),
            ("X-Xet-Access-Token", "jwt"),
            ("X-XET-TOKEN-EXPIRATION", "1700000000"),
            ("X-Xet-Session-Id", "s"),
        ]))
        .unwrap();
        assert_eq!(access.cas_url.as_str(), "https://cas.example/");
        assert_eq!(access.token.expose_secret(), "jwt");
        assert_eq!(access.expires_at, 1_700_000_000);
        assert!(access.refresh.path().ends_with("/xet-write-token/main"));
    }

    #[test]
    fn a_missing_or_malformed_header_is_named() {
        let err = from_action(&action(&[("X-Xet-Access-Token", "jwt")]))
            .err()
            .unwrap();
        assert!(err.contains("X-Xet-Cas-Url"), "{err}");
        let err = from_action(&action(&[
            ("X-Xet-Cas-Url", "ftp://cas"),
            ("X-Xet-Access-Token", "jwt"),
            ("X-Xet-Token-Expiration", "1"),
        ]))
        .err()
        .unwrap();
        assert!(err.contains("not an http(s) URL"), "{err}");
        let err = from_action(&action(&[
            ("X-Xet-Cas-Url", "https://cas"),
            ("X-Xet-Access-Token", "jwt"),
            ("X-Xet-Token-Expiration", "soon"),
        ]))
        .err()
        .unwrap();
        assert!(err.contains("unix time"), "{err}");
    }
}
