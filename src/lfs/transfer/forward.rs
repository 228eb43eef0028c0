//! Plain-http requests through a forwarding proxy, in absolute form (RFC 9112 §3.2.2).
//!
//! A proxy is asked for `https://` targets with `CONNECT`, which ureq does itself. For `http://`
//! targets curl, requests and git send the request to the proxy with the whole URL as its target
//! (`GET http://host:port/path HTTP/1.1`), and proxies expect that: most allow `CONNECT` only to
//! port 443 (squid's `SSL_ports`, tinyproxy's `ConnectPort`). ureq 3 only tunnels (ureq 2 did
//! not, algesten/ureq#587), and its request line always has the origin form. So the agent gets
//! two small parts, through ureq's low-level `unversioned` API (not covered by ureq's semver:
//! check them when upgrading ureq):
//!
//! - [`ForwardResolver`]: a request routed this way is connected to the proxy's address, not the
//!   target's (which then needs no local DNS, as with any proxy);
//! - [`ForwardConnector`]: its connection rewrites each request line to the absolute form, taking
//!   the target from the `Host` header the client sets. `Proxy-Authorization` is an ordinary
//!   header, set by the client.
//!
//! Which requests go this way is decided by the same [`ProxySettings`] the client routes with, so
//! both always agree: plain http, no tunnel configured for the request, a proxy chosen for it.

use std::fmt;
use std::sync::Arc;

use ureq::config::Config;
use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{Buffers, ConnectionDetails, Connector, NextTimeout, Transport};
use ureq::Error;
use url::Url;

use crate::net::proxy::{Proxy, ProxySettings};

/// The proxy a request to `uri` is forwarded through in absolute form, if any.
fn forwarding_proxy(settings: &ProxySettings, uri: &Uri, config: &Config) -> Option<Arc<Proxy>> {
    if config.proxy().is_some() || uri.scheme_str() != Some("http") {
        return None;
    }
    let url = Url::parse(&uri.to_string()).ok()?;
    settings.route(&url).ok().flatten()
}

/// Resolves the proxy's address for requests forwarded through it, the target's otherwise.
pub(crate) struct ForwardResolver {
    settings: Arc<ProxySettings>,
    inner: DefaultResolver,
}

impl ForwardResolver {
    pub(crate) fn new(settings: Arc<ProxySettings>) -> Self {
        Self {
            settings,
            inner: DefaultResolver::default(),
        }
    }
}

impl fmt::Debug for ForwardResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ForwardResolver").finish_non_exhaustive()
    }
}

impl Resolver for ForwardResolver {
    fn resolve(
        &self,
        uri: &Uri,
        config: &Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, Error> {
        match forwarding_proxy(&self.settings, uri, config) {
            Some(proxy) => {
                let origin: Uri = proxy
                    .display()
                    .parse()
                    .map_err(|_| Error::BadUri(proxy.display().to_owned()))?;
                self.inner.resolve(&origin, config, timeout)
            }
            None => self.inner.resolve(uri, config, timeout),
        }
    }
}

/// Wraps the connections of forwarded requests in [`AbsoluteForm`].
pub(crate) struct ForwardConnector {
    settings: Arc<ProxySettings>,
}

impl ForwardConnector {
    pub(crate) fn new(settings: Arc<ProxySettings>) -> Self {
        Self { settings }
    }
}

impl fmt::Debug for ForwardConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ForwardConnector").finish_non_exhaustive()
    }
}

impl Connector<Box<dyn Transport>> for ForwardConnector {
    type Out = Box<dyn Transport>;

    fn connect(
        &self,
        details: &ConnectionDetails,
        chained: Option<Box<dyn Transport>>,
    ) -> Result<Option<Self::Out>, Error> {
        Ok(chained.map(|transport| {
            if forwarding_proxy(&self.settings, details.uri, details.config).is_some() {
                Box::new(AbsoluteForm {
                    inner: transport,
                    request_starts: true,
                }) as Box<dyn Transport>
            } else {
                transport
            }
        }))
    }
}

/// A connection to a forwarding proxy: each request line goes out in absolute form.
#[derive(Debug)]
struct AbsoluteForm {
    inner: Box<dyn Transport>,
    /// The next bytes sent start a request (nothing sent yet, or an answer was read since).
    request_starts: bool,
}

impl Transport for AbsoluteForm {
    fn buffers(&mut self) -> &mut dyn Buffers {
        self.inner.buffers()
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), Error> {
        if !std::mem::take(&mut self.request_starts) {
            return self.inner.transmit_output(amount, timeout);
        }
        let Some(rewritten) = absolute_form(&self.inner.buffers().output()[..amount]) else {
            return self.inner.transmit_output(amount, timeout);
        };
        let mut rest = rewritten.as_slice();
        while !rest.is_empty() {
            let output = self.inner.buffers().output();
            let chunk = rest.len().min(output.len());
            output[..chunk].copy_from_slice(&rest[..chunk]);
            self.inner.transmit_output(chunk, timeout)?;
            rest = &rest[chunk..];
        }
        Ok(())
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, Error> {
        self.request_starts = true;
        self.inner.await_input(timeout)
    }

    fn is_open(&mut self) -> bool {
        self.inner.is_open()
    }

    fn is_tls(&self) -> bool {
        self.inner.is_tls()
    }
}

/// `data` (a request's first bytes) with its origin-form target made absolute from its `Host`
/// header: `GET /a?b HTTP/1.1` → `GET http://host:port/a?b HTTP/1.1`. `None` when `data` does not
/// start with an origin-form request line and a `Host` header (the body of a request, say).
fn absolute_form(data: &[u8]) -> Option<Vec<u8>> {
    let line_end = data.windows(2).position(|pair| pair == b"\r\n")?;
    let line = std::str::from_utf8(&data[..line_end]).ok()?;
    let mut parts = line.splitn(3, ' ');
    let (method, target, version) = (parts.next()?, parts.next()?, parts.next()?);
    if method.is_empty()
        || !method.bytes().all(|b| b.is_ascii_uppercase())
        || !target.starts_with('/')
        || !version.starts_with("HTTP/")
    {
        return None;
    }
    let head_end = data
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .unwrap_or(data.len());
    let head = std::str::from_utf8(&data[line_end + 2..head_end]).ok()?;
    let host = head.split("\r\n").find_map(|header| {
        let (name, value) = header.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("host")
            .then(|| value.trim())
    })?;
    if host.is_empty() || host.contains(['/', ' ', '@']) {
        return None;
    }
    let mut out = Vec::with_capacity(data.len() + host.len() + 8);
    out.extend_from_slice(format!("{method} http://{host}{target} {version}").as_bytes());
    out.extend_from_slice(&data[line_end..]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_origin_form_request_line_becomes_absolute_from_the_host_header() {
        let request = b"POST /a/b.git/info/lfs/objects/batch?x=1 HTTP/1.1\r\nAccept: */*\r\n\
                        host: 127.0.0.1:8080\r\nContent-Length: 2\r\n\r\n{}";
        let rewritten = absolute_form(request).unwrap();
        assert_eq!(
            String::from_utf8(rewritten).unwrap(),
            "POST http://127.0.0.1:8080/a/b.git/info/lfs/objects/batch?x=1 HTTP/1.1\r\n\
             Accept: */*\r\nhost: 127.0.0.1:8080\r\nContent-Length: 2\r\n\r\n{}"
        );
    }

    #[test]
    fn bodies_and_requests_without_a_host_are_left_alone() {
        assert_eq!(
            absolute_form(b"GET /x HTTP/1.1\r\nAccept: */*\r\n\r\n"),
            None
        );
        assert_eq!(absolute_form(b"\x00\x01binary body bytes"), None);
        assert_eq!(
            absolute_form(b"GET http://h/x HTTP/1.1\r\nHost: h\r\n\r\n"),
            None
        );
        assert_eq!(absolute_form(b"get /x HTTP/1.1\r\nHost: h\r\n\r\n"), None);
        assert_eq!(absolute_form(b"GET /x HTTP/1.1\r\nHost: a/b\r\n\r\n"), None);
    }
}
