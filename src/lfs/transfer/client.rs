//! One HTTP attempt, on one shared ureq agent: TLS trust, proxies, User-Agent, timeouts,
//! redirects and error shapes. Every request of the LFS client and of Hub API calls goes through
//! [`HttpClient::send`], so these rules hold for all of them.
//!
//! TLS goes through native-tls, which is OpenSSL on Linux (the copy git2 already vendors), so the
//! LFS client trusts what libgit2 trusts: the bundles named by `REQUESTS_CA_BUNDLE` and
//! `SSL_CERT_FILE` when set, else the platform's roots. Timeouts follow `HF_HUB_DOWNLOAD_TIMEOUT`
//! and `HF_HUB_ETAG_TIMEOUT` ([`crate::net::timeouts`]): a read timeout bounds one wait for data,
//! so a multi-gigabyte body may take as long as it needs. Every request says
//! `User-Agent: hfgit/<version>` ([`crate::net::user_agent`]).
//!
//! Proxies are chosen per request by [`crate::net::proxy`] (so `NO_PROXY` is judged host by
//! host, redirects included). An https target goes through a `CONNECT` tunnel, which ureq opens;
//! a plain-http target is sent to the proxy in absolute form, as curl, requests and git do
//! ([`super::forward`]), with `Proxy-Authorization` when the proxy URL has credentials.
//!
//! Redirects are followed here, for GETs only, up to 10, never with the token (`Authorization`
//! is dropped at the first hop, so it never follows a download to another host), each hop routed
//! by its own host. Uploads get a redirect back as an error: their streamed bodies cannot be
//! replayed to a new location anyway.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use ureq::config::RedirectAuthHeaders;
use ureq::http::{self, HeaderMap, Response};
use ureq::tls::{parse_pem, PemItem, RootCerts, TlsConfig, TlsProvider};
use ureq::unversioned::transport::{Connector, DefaultConnector};
use ureq::{Agent, AsSendBody, Body, SendBody};
use url::Url;

use super::forward::{ForwardConnector, ForwardResolver};
use super::remote::short_url;
use super::retry::{Failure, RateLimitAnswer};
use super::tracker::{CountingReader, Tracker};
use crate::auth::redact::redact_text;
use crate::lfs::error::LfsError;
use crate::net::proxy::{Proxy, ProxyProblem, ProxySettings};
use crate::net::rate_limit::requested_wait;
use crate::net::timeouts::{HttpTimeouts, Timeouts};

const MAX_REDIRECTS: u32 = 10;
/// Error bodies are read this far for their message; the rest is not worth the wait.
const ERROR_BODY_LIMIT: u64 = 64 * 1024;
const MESSAGE_CHARS: usize = 400;

pub(crate) const LFS_MEDIA_TYPE: &str = "application/vnd.git-lfs+json";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    Get,
    Put,
    Post,
}

impl Method {
    fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Put => "PUT",
            Self::Post => "POST",
        }
    }
}

/// What a request carries.
pub(crate) enum Payload<'a> {
    Empty,
    Bytes(&'a [u8]),
    /// `len` bytes of `path` from `offset`, streamed and counted as progress.
    File {
        path: &'a Path,
        offset: u64,
        len: u64,
    },
}

pub(crate) struct Outgoing<'a> {
    pub method: Method,
    pub url: &'a Url,
    /// Sent as given, in this order.
    pub headers: Vec<(String, String)>,
    /// Added as `Authorization` unless `headers` already has one.
    pub authorization: Option<&'a str>,
    pub payload: Payload<'a>,
}

pub(crate) struct HttpClient {
    agent: Agent,
    proxies: Arc<ProxySettings>,
    timeouts: HttpTimeouts,
}

impl HttpClient {
    /// A client set up from the environment (CA bundles, proxies, timeouts) and the user's and
    /// system's git config (`http.proxy`).
    #[allow(dead_code)] // for Hub API calls made outside a repository
    pub(crate) fn from_environment() -> Result<Self, LfsError> {
        Self::with_git_config(None)
    }

    /// The same client with other timeouts: `connect` to resolve and connect, `read` for any
    /// single read (a lookup that must not hold up a local operation for long).
    pub(crate) fn from_environment_with(
        connect: Duration,
        read: Duration,
    ) -> Result<Self, LfsError> {
        let roots = root_certs(&environment_bundles())?;
        let limit = Timeouts { connect, read };
        let timeouts = HttpTimeouts {
            transfer: limit,
            metadata: limit,
        };
        let proxies = Arc::new(ProxySettings::from_environment(None));
        Ok(Self {
            agent: agent(roots, timeouts.transfer, &proxies),
            proxies,
            timeouts,
        })
    }

    /// The same, reading `http.proxy` and `http.<url>.proxy` from `git` (a repository's config;
    /// `None`: the user's and system's).
    pub(crate) fn with_git_config(git: Option<&git2::Config>) -> Result<Self, LfsError> {
        let roots = root_certs(&environment_bundles())?;
        let timeouts = HttpTimeouts::from_environment()?;
        let proxies = Arc::new(ProxySettings::from_environment(git));
        Ok(Self {
            agent: agent(roots, timeouts.transfer, &proxies),
            proxies,
            timeouts,
        })
    }

    /// The proxy a request to `target` goes through, `None` for a direct connection.
    #[cfg_attr(not(feature = "xet"), allow(dead_code))]
    pub(crate) fn proxy_route(&self, target: &Url) -> Result<Option<Arc<Proxy>>, ProxyProblem> {
        self.proxies.route(target)
    }

    /// A client with `timeouts`, no proxy and the platform's roots, whatever the environment says.
    #[cfg(test)]
    pub(crate) fn with_timeouts(timeouts: HttpTimeouts) -> Self {
        let proxies = Arc::new(ProxySettings::default());
        Self {
            agent: agent(RootCerts::PlatformVerifier, timeouts.transfer, &proxies),
            proxies,
            timeouts,
        }
    }

    /// Make one attempt (following a GET's redirects). A 2xx answer comes back for the caller to
    /// read; anything else is a [`Failure`] that says whether trying again may help. Bytes of a
    /// file payload count as progress, and are taken back out if the attempt fails.
    pub(crate) fn send(
        &self,
        outgoing: &Outgoing<'_>,
        tracker: &Tracker<'_>,
    ) -> Result<Response<Body>, Failure> {
        tracker.check()?;
        let mut url = outgoing.url.clone();
        let mut redirected = false;
        for hop in 0..=MAX_REDIRECTS {
            let response = self.exchange(outgoing, &url, redirected, tracker)?;
            let status = response.status().as_u16();
            let location = header_text(response.headers(), "location");
            let follow = outgoing.method == Method::Get
                && matches!(status, 301 | 302 | 303 | 307 | 308)
                && hop < MAX_REDIRECTS;
            match location.and_then(|location| url.join(&location).ok()) {
                Some(next) if follow && matches!(next.scheme(), "http" | "https") => {
                    drain_quietly(response);
                    url = next;
                    redirected = true;
                }
                _ if response.status().is_redirection() => {
                    let request = format!("{} {}", outgoing.method.as_str(), short_url(&url));
                    return Err(status_failure(response, request));
                }
                _ => return Ok(response),
            }
        }
        unreachable!("the last hop returns")
    }

    /// One request to `url`, without following redirects: a 2xx or 3xx answer, or the failure.
    fn exchange(
        &self,
        outgoing: &Outgoing<'_>,
        url: &Url,
        redirected: bool,
        tracker: &Tracker<'_>,
    ) -> Result<Response<Body>, Failure> {
        let route = self.proxies.route(url).map_err(LfsError::from)?;
        let has_header = |wanted: &str| {
            outgoing
                .headers
                .iter()
                .any(|(name, _)| name.eq_ignore_ascii_case(wanted))
        };
        let authorization = outgoing.authorization.filter(|_| !redirected);
        if let Some(proxy) = &route {
            let sends_token =
                authorization.is_some() || (!redirected && has_header("authorization"));
            if sends_token && url.scheme() == "http" && !proxy.is_loopback() {
                return Err(Failure::Fatal(LfsError::InsecureTransport {
                    host: format!(
                        "{} (through the proxy {})",
                        url.host_str().unwrap_or_default(),
                        proxy.display()
                    ),
                }));
            }
        }
        let mut builder = http::Request::builder()
            .method(outgoing.method.as_str())
            .uri(url.as_str());
        if let Some(proxy) = route.as_ref().filter(|_| url.scheme() == "http") {
            // Sent to the proxy in absolute form (see `forward`), which reads the target from
            // `Host` and wants its own credentials in `Proxy-Authorization`.
            if proxy.is_https() {
                return Err(Failure::Fatal(LfsError::Proxy {
                    proxy: proxy.display().to_owned(),
                    detail: format!(
                        "a plain http:// request cannot go through an https:// proxy; use an \
                         http:// proxy or an https:// server (the proxy comes from {})",
                        proxy.source()
                    ),
                }));
            }
            builder = builder.header(
                "Host",
                &url[url::Position::BeforeHost..url::Position::AfterPort],
            );
            if let Some(credentials) = proxy.authorization() {
                builder = builder.header("Proxy-Authorization", credentials);
            }
        }
        for (name, value) in &outgoing.headers {
            if !(redirected && name.eq_ignore_ascii_case("authorization")) {
                builder = builder.header(name.as_str(), value.as_str());
            }
        }
        if let Some(authorization) = authorization {
            if !has_header("authorization") {
                builder = builder.header("Authorization", authorization);
            }
        }
        let tunnel = route.as_ref().filter(|_| url.scheme() == "https");
        let timeouts = match outgoing.method {
            Method::Post => self.timeouts.metadata,
            Method::Get | Method::Put => self.timeouts.transfer,
        };

        let mut file_reader = None;
        let result = match &outgoing.payload {
            Payload::Empty => self.run(builder, tunnel, timeouts, ()),
            Payload::Bytes(bytes) => self.run(builder, tunnel, timeouts, *bytes),
            Payload::File { path, offset, len } => {
                if !has_header("transfer-encoding") {
                    builder = builder.header("Content-Length", *len);
                }
                let range = open_range(path, *offset, *len)?;
                let reader = file_reader.insert(CountingReader::new(range, tracker));
                self.run(builder, tunnel, timeouts, SendBody::from_reader(reader))
            }
        };
        let sent = file_reader.as_ref().map_or(0, CountingReader::counted);
        let request = format!("{} {}", outgoing.method.as_str(), short_url(url));
        let outcome = match result {
            Ok(response)
                if response.status().is_success()
                    || (response.status().is_redirection() && outgoing.method == Method::Get) =>
            {
                Ok(response)
            }
            Ok(response) if response.status().as_u16() == 407 && route.is_some() => {
                drain_quietly(response);
                Err(proxy_refusal(route.as_deref(), url, 407))
            }
            Ok(response) if route.is_some() && tunnel.is_none() && proxy_answered(&response) => {
                let status = response.status().as_u16();
                drain_quietly(response);
                Err(proxy_refusal(route.as_deref(), url, status))
            }
            Ok(response) => Err(status_failure(response, request)),
            Err(err) => Err(failure_through(err, tracker, route.as_deref(), url)),
        };
        if outcome.is_err() {
            tracker.remove_bytes(sent);
        }
        outcome
    }

    fn run(
        &self,
        builder: http::request::Builder,
        tunnel: Option<&Arc<Proxy>>,
        timeouts: Timeouts,
        body: impl AsSendBody,
    ) -> Result<Response<Body>, ureq::Error> {
        let request = builder.body(body)?;
        let request = self
            .agent
            .configure_request(request)
            .proxy(tunnel.map(|proxy| proxy.ureq().clone()))
            .max_redirects(0)
            .timeout_resolve(Some(timeouts.connect))
            .timeout_connect(Some(timeouts.connect))
            .timeout_per_read(Some(timeouts.read))
            .timeout_per_write(Some(timeouts.read))
            .build();
        self.agent.run(request)
    }
}

fn agent(roots: RootCerts, timeouts: Timeouts, proxies: &Arc<ProxySettings>) -> Agent {
    let tls = TlsConfig::builder()
        .provider(TlsProvider::NativeTls)
        .root_certs(roots)
        .build();
    let config = Agent::config_builder()
        .http_status_as_error(false)
        .tls_config(tls)
        .timeout_resolve(Some(timeouts.connect))
        .timeout_connect(Some(timeouts.connect))
        .timeout_per_read(Some(timeouts.read))
        .timeout_per_write(Some(timeouts.read))
        .max_redirects(0)
        .redirect_auth_headers(RedirectAuthHeaders::Never)
        .user_agent(crate::net::user_agent())
        .max_idle_connections(64)
        .max_idle_connections_per_host(32)
        .build();
    let connector = DefaultConnector::new().chain(ForwardConnector::new(Arc::clone(proxies)));
    Agent::with_parts(config, connector, ForwardResolver::new(Arc::clone(proxies)))
}

/// Read and drop a small answer that is not used, so its connection can be reused.
fn drain_quietly(mut response: Response<Body>) {
    let _ = response
        .body_mut()
        .with_config()
        .limit(ERROR_BODY_LIMIT)
        .read_to_vec();
}

fn open_range(path: &Path, offset: u64, len: u64) -> Result<impl Read, LfsError> {
    let context = || format!("reading {}", path.display());
    let mut file = File::open(path).map_err(|err| LfsError::io(context(), err))?;
    let available = file
        .metadata()
        .map_err(|err| LfsError::io(context(), err))?
        .len();
    if available < offset.saturating_add(len) {
        return Err(LfsError::io(
            context(),
            std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!(
                    "the object file has {available} bytes, fewer than the {} the upload needs",
                    offset + len
                ),
            ),
        ));
    }
    file.seek(SeekFrom::Start(offset))
        .map_err(|err| LfsError::io(context(), err))?;
    Ok(file.take(len))
}

/// Turn a non-2xx answer to `request` (`METHOD url`, for messages) into a failure with the
/// server's own words, redacted and kept short; a 429 becomes a rate limit with the wait it asks.
fn status_failure(mut response: Response<Body>, request: String) -> Failure {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let requested = requested_wait(status, |name| header_text(&headers, name));
    let message = if response.status().is_redirection() {
        let target = header_text(&headers, "location")
            .and_then(|location| Url::parse(&location).ok())
            .map_or_else(|| "elsewhere".to_owned(), |url| short_url(&url));
        format!("unexpected redirect to {target}")
    } else {
        let body = response
            .body_mut()
            .with_config()
            .limit(ERROR_BODY_LIMIT)
            .lossy_utf8(true)
            .read_to_string()
            .unwrap_or_default();
        server_message(header_text(&headers, "x-error-message").as_deref(), &body)
    };
    if status == 429 {
        return Failure::RateLimited(RateLimitAnswer {
            request,
            message,
            requested,
            gave_up: None,
        });
    }
    Failure::Status {
        status,
        message,
        retry_after: requested,
    }
}

/// Whether a refusal (401, 403) of a plain-http request sent through a proxy is the proxy's own:
/// a proxy adds `Via` to every answer it forwards (RFC 9110 §7.6.3), so a refusal without one
/// never came from the server behind it.
fn proxy_answered(response: &Response<Body>) -> bool {
    matches!(response.status().as_u16(), 401 | 403) && !response.headers().contains_key("via")
}

/// A refusal by `proxy` (`status` 403 or 407 to a tunnel or a request) of a request to `url`.
fn proxy_refusal(proxy: Option<&Proxy>, url: &Url, status: u16) -> Failure {
    let Some(proxy) = proxy else {
        return Failure::Transport {
            detail: format!("HTTP {status}"),
            retryable: false,
            certificate: false,
        };
    };
    let target = &url[url::Position::BeforeHost..url::Position::AfterPort];
    let (detail, retryable) = proxy.refusal(target, status);
    Failure::Proxy {
        proxy: proxy.display().to_owned(),
        detail,
        retryable,
    }
}

/// [`transport_failure`] of a request that went through `proxy` (if any): a tunnel the proxy
/// refused, or a proxy that cannot be reached, is the proxy's failure.
fn failure_through(
    err: ureq::Error,
    tracker: &Tracker<'_>,
    proxy: Option<&Proxy>,
    url: &Url,
) -> Failure {
    let Some(through) = proxy.filter(|_| !tracker.should_stop()) else {
        return transport_failure(err, tracker);
    };
    match &err {
        ureq::Error::ConnectProxyFailed(reason) => {
            // ureq words it "proxy server responded 403/Forbidden".
            let status = reason
                .split(|c: char| !c.is_ascii_digit())
                .find(|part| part.len() == 3)
                .and_then(|code| code.parse::<u16>().ok());
            match status {
                Some(status) => proxy_refusal(Some(through), url, status),
                None => Failure::Proxy {
                    proxy: through.display().to_owned(),
                    detail: format!(
                        "the proxy did not open a tunnel ({}); the proxy comes from {}",
                        redact_text(reason),
                        through.source()
                    ),
                    retryable: true,
                },
            }
        }
        ureq::Error::Io(io)
            if matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionRefused
                    | std::io::ErrorKind::HostUnreachable
                    | std::io::ErrorKind::NetworkUnreachable
                    | std::io::ErrorKind::AddrNotAvailable
            ) =>
        {
            unreachable_proxy(through, &err)
        }
        ureq::Error::ConnectionFailed
        | ureq::Error::HostNotFound
        | ureq::Error::Timeout(ureq::Timeout::Connect | ureq::Timeout::Resolve) => {
            unreachable_proxy(through, &err)
        }
        _ => transport_failure(err, tracker),
    }
}

fn unreachable_proxy(proxy: &Proxy, err: &ureq::Error) -> Failure {
    Failure::Proxy {
        proxy: proxy.display().to_owned(),
        detail: proxy.unreachable(&redact_text(&err.to_string())),
        retryable: true,
    }
}

/// The best one-line explanation in an error answer: the Hub's `X-Error-Message` header, the
/// JSON `message` the LFS API specifies, or the start of a plain-text body.
pub(crate) fn server_message(error_header: Option<&str>, body: &str) -> String {
    let from_json = || {
        let value: serde_json::Value = serde_json::from_str(body).ok()?;
        ["message", "error"]
            .iter()
            .find_map(|key| value.get(key)?.as_str().map(str::to_owned))
    };
    let text = error_header
        .map(str::to_owned)
        .filter(|text| !text.trim().is_empty())
        .or_else(from_json)
        .unwrap_or_else(|| body.to_owned());
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let short: String = one_line.chars().take(MESSAGE_CHARS).collect();
    let short = if short.len() < one_line.len() {
        format!("{short}...")
    } else {
        short
    };
    redact_text(&short)
}

pub(crate) fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
}

pub(crate) fn transport_failure(err: ureq::Error, tracker: &Tracker<'_>) -> Failure {
    if tracker.should_stop() {
        return Failure::Fatal(LfsError::Cancelled);
    }
    let detail = redact_text(&err.to_string());
    let transport = |retryable: bool, certificate: bool| Failure::Transport {
        detail: detail.clone(),
        retryable,
        certificate,
    };
    match err {
        ureq::Error::Io(_)
        | ureq::Error::Timeout(_)
        | ureq::Error::ConnectionFailed
        | ureq::Error::Protocol(_)
        | ureq::Error::BodyStalled => transport(true, false),
        ureq::Error::NativeTls(_) | ureq::Error::Tls(_) | ureq::Error::Der(_) => {
            transport(false, detail.to_ascii_lowercase().contains("certificate"))
        }
        ureq::Error::Http(_) | ureq::Error::BadUri(_) => Failure::Fatal(LfsError::Protocol {
            detail: format!("cannot make the request the server asked for: {detail}"),
        }),
        _ => transport(false, false),
    }
}

/// Bundles named by the environment, each once, in the order huggingface_hub reads them.
fn environment_bundles() -> Vec<PathBuf> {
    let mut bundles: Vec<PathBuf> = Vec::new();
    for name in ["REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"] {
        if let Some(value) = std::env::var_os(name).filter(|value| !value.is_empty()) {
            let path = PathBuf::from(value);
            if !bundles.contains(&path) {
                bundles.push(path);
            }
        }
    }
    bundles
}

/// Every certificate in `bundles`, or the platform's roots when there are none.
fn root_certs(bundles: &[PathBuf]) -> Result<RootCerts, LfsError> {
    if bundles.is_empty() {
        return Ok(RootCerts::PlatformVerifier);
    }
    let mut certificates = Vec::new();
    for path in bundles {
        let unusable = |detail: String| LfsError::CaBundle {
            path: path.clone(),
            detail,
        };
        let pem = std::fs::read(path).map_err(|err| unusable(err.to_string()))?;
        let before = certificates.len();
        for item in parse_pem(&pem) {
            match item {
                Ok(PemItem::Certificate(certificate)) => certificates.push(certificate),
                Ok(_) => {}
                Err(err) => return Err(unusable(format!("not a valid PEM file ({err})"))),
            }
        }
        if certificates.len() == before {
            return Err(unusable("it holds no PEM certificate".to_owned()));
        }
    }
    Ok(RootCerts::new_with_certs(&certificates))
}

#[cfg(test)]
mod tests {
    use super::*;

    // A self-signed certificate (any will do: only parsing is tested).
    const CERT: &str = "-----BEGIN CERTIFICATE-----
MIIBfTCCASOgAwIBAgIUWgnmhHNxBuE61PYs0UvFuH2PjjowCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJbG9jYWxob3N0MB4XDTI0MDEwMTAwMDAwMFoXDTM0MDEwMTAw
MDAwMFowFDESMBAGA1UEAwwJbG9jYWxob3N0MFkwEwYHKoZIzj0CAQYIKoZIzj0D
AQcDQgAEZ0d7Jr6GG0IYjBqUu9Bx3kkKq7oAq0i4n4JXcMjqz5gBk1iNF3p8l3DZ
m7y1kC0pYyWJQ7GJ6pAq8e2rG4b0b6NTMFEwHQYDVR0OBBYEFKkGzY1m4m0t6m2W
HcN3XMqHv3RxMB8GA1UdIwQYMBaAFKkGzY1m4m0t6m2WHcN3XMqHv3RxMA8GA1Ud
EwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDSAAwRQIhAJ0pQ0V3X3y3u3pZxYp6n1Gx
2Sx8hM3o1m0Xx1o8sH4FAiBvF8wqg5uRZ2O0XW3nQyq8u2y0o2FqU5ZcY7pKjS3w
lA==
-----END CERTIFICATE-----
";

    #[test]
    fn no_bundle_means_platform_roots() {
        assert!(matches!(root_certs(&[]), Ok(RootCerts::PlatformVerifier)));
    }

    #[test]
    fn certificates_of_every_named_bundle_are_trusted() {
        let dir = tempfile::tempdir().unwrap();
        let first = dir.path().join("one.pem");
        let second = dir.path().join("two.pem");
        std::fs::write(&first, CERT).unwrap();
        std::fs::write(&second, format!("junk before\n{CERT}{CERT}")).unwrap();
        match root_certs(&[first, second]).unwrap() {
            RootCerts::Specific(certs) => assert_eq!(certs.len(), 3),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn missing_or_empty_bundle_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let err = root_certs(std::slice::from_ref(&missing)).unwrap_err();
        assert!(matches!(err, LfsError::CaBundle { ref path, .. } if *path == missing));
        assert!(err.to_string().contains("missing.pem"), "{err}");

        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "no certificates here\n").unwrap();
        let err = root_certs(&[empty]).unwrap_err();
        assert!(err.to_string().contains("no PEM certificate"), "{err}");
    }

    #[test]
    fn server_message_prefers_header_then_json_then_text() {
        assert_eq!(
            server_message(Some("Repository not found"), r#"{"message":"x"}"#),
            "Repository not found"
        );
        assert_eq!(
            server_message(
                None,
                r#"{"message":"Too many password attempts","request_id":"1"}"#
            ),
            "Too many password attempts"
        );
        assert_eq!(
            server_message(None, "  Invalid username\n or password.  "),
            "Invalid username or password."
        );
        let long = "x".repeat(1000);
        assert_eq!(server_message(None, &long).len(), MESSAGE_CHARS + 3);
    }

    #[test]
    fn server_message_is_redacted() {
        let message = server_message(
            None,
            r#"{"message":"bad token hf_abcdefghijklmnopqrstuvwxyzABCDEFGH at https://u:p@h.example/x"}"#,
        );
        assert_eq!(message, "bad token *** at https://h.example/x");
    }
}
