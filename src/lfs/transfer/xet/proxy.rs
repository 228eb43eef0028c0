//! Whether the Xet crates would reach the CAS through the proxy hfgit's rules pick.
//!
//! The crates (1.8.0) send CAS and token-route requests through their own reqwest client, which
//! takes no proxy from its caller: reqwest reads the environment (hyper-util's matcher), and on
//! macOS and Windows the system's settings when no variable is set. For an `https` target it uses
//! `HTTPS_PROXY`, else `https_proxy`; for `http`, `HTTP_PROXY`, else `http_proxy` (none at all
//! when `REQUEST_METHOD` is set, as under CGI); then `ALL_PROXY`, else `all_proxy`; and no proxy
//! for a host `NO_PROXY` (else `no_proxy`) names. The upper-case name wins there, the lower-case
//! one in hfgit ([`crate::net::proxy`], as requests does); and git config's `http.proxy` and
//! `http.<url>.proxy`, which hfgit's git and LFS traffic follow, never reach the crates.
//!
//! So before a Xet upload hfgit works out both routes for the CAS URL and for the token route.
//! When they agree (no proxy, or the same proxy and credentials) the upload goes ahead through the
//! crates; when they do not (a git-config proxy, an empty git-config value that turns the proxy
//! off, variables whose two spellings disagree), Xet is not attempted: `auto` sends the objects
//! with basic/multipart, which follow hfgit's rules, with a WARNING saying why; `xet` fails.
//! `NO_PROXY` is judged by hfgit's parser on both sides (reqwest's differs only in corner cases,
//! such as ports in entries).

use secrecy::ExposeSecret;
use url::Url;

use super::access::CasAccess;
use crate::lfs::error::LfsError;
use crate::lfs::transfer::LfsRemote;
use crate::net::no_proxy::NoProxy;
use crate::net::proxy::Proxy;

/// `Err` when the crates would not use the proxy hfgit's rules pick for the CAS or token route.
pub(super) fn check(remote: &LfsRemote, access: &CasAccess) -> Result<(), LfsError> {
    let var = |name: &str| std::env::var(name).ok();
    for target in [&access.cas_url, &access.refresh] {
        let ours = remote
            .proxy_route(target)
            .map_err(|problem| LfsError::InvalidSetting {
                detail: format!("the proxy {}: {}", problem.proxy, problem.detail),
            })?;
        let theirs = crates_route(target, &var);
        let same = match (&ours, &theirs) {
            (None, Ok(None)) => true,
            (Some(ours), Ok(Some(theirs))) => ours.url().expose_secret() == theirs,
            _ => false,
        };
        if !same {
            let host = target.host_str().unwrap_or_default();
            let wanted = match &ours {
                Some(proxy) => format!("the proxy {} (from {})", proxy.display(), proxy.source()),
                None => "no proxy".to_owned(),
            };
            return Err(LfsError::InvalidSetting {
                detail: format!(
                    "hfgit's proxy rules give {wanted} for {host}, but the Xet client takes its \
                     proxy only from the HTTPS_PROXY/HTTP_PROXY/ALL_PROXY/NO_PROXY variables \
                     (upper-case first) and would not use it; to push through Xet, give that \
                     proxy in those variables instead of git config"
                ),
            });
        }
    }
    Ok(())
}

/// The normalised proxy URL reqwest would use for `target` with the environment `var`, `None`
/// for a direct connection, `Err` for a value hfgit cannot read as a proxy.
fn crates_route(target: &Url, var: &dyn Fn(&str) -> Option<String>) -> Result<Option<String>, ()> {
    if var("REQUEST_METHOD").is_some() {
        return Ok(None);
    }
    let first = |names: [&str; 2]| names.iter().find_map(|name| var(name));
    let no_proxy = first(["NO_PROXY", "no_proxy"]).unwrap_or_default();
    if NoProxy::parse(&no_proxy).bypasses(target) {
        return Ok(None);
    }
    let set = |value: Option<String>| value.filter(|value| !value.trim().is_empty());
    let all = set(first(["ALL_PROXY", "all_proxy"]));
    let chosen = match target.scheme() {
        "http" => set(first(["HTTP_PROXY", "http_proxy"])).or(all),
        "https" => set(first(["HTTPS_PROXY", "https_proxy"])).or(all),
        _ => None,
    };
    chosen
        .map(|value| {
            Proxy::parse(&value, "the environment")
                .map(|proxy| proxy.url().expose_secret().to_owned())
                .map_err(|_| ())
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(target: &str, vars: &[(&str, &str)]) -> Result<Option<String>, ()> {
        let var = |name: &str| {
            vars.iter()
                .find(|(have, _)| *have == name)
                .map(|(_, value)| (*value).to_owned())
        };
        crates_route(&Url::parse(target).unwrap(), &var)
    }

    #[test]
    fn the_crates_route_reads_upper_case_variables_first_as_reqwest_does() {
        let vars = [
            ("HTTPS_PROXY", "proxy.a:3128"),
            ("https_proxy", "http://b:1"),
        ];
        assert_eq!(
            route("https://cas.example/x", &vars),
            Ok(Some("http://proxy.a:3128".to_owned()))
        );
        assert_eq!(route("http://cas.example/x", &vars), Ok(None));
        let vars = [
            ("HTTP_PROXY", ""),
            ("http_proxy", "http://b:1"),
            ("ALL_PROXY", "http://c:2"),
        ];
        assert_eq!(
            route("http://cas.example/x", &vars),
            Ok(Some("http://c:2".to_owned()))
        );
    }

    #[test]
    fn no_proxy_and_cgi_mean_a_direct_connection_for_the_crates() {
        let vars = [("HTTP_PROXY", "http://p:1"), ("no_proxy", "127.0.0.1")];
        assert_eq!(route("http://127.0.0.1:9/x", &vars), Ok(None));
        let vars = [("HTTP_PROXY", "http://p:1"), ("REQUEST_METHOD", "GET")];
        assert_eq!(route("http://cas.example/x", &vars), Ok(None));
        assert_eq!(
            route("http://cas.example/x", &[("ALL_PROXY", "socks5://p:1")]),
            Err(())
        );
    }
}
