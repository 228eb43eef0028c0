//! One HTTP attempt, on one shared ureq agent: TLS trust, timeouts, redirects and error shapes.
//!
//! TLS goes through native-tls, which is OpenSSL on Linux (the copy git2 already vendors), so the
//! LFS client trusts what libgit2 trusts: the bundles named by `REQUESTS_CA_BUNDLE` and
//! `SSL_CERT_FILE` when set, else the platform's roots. Connections wait 15 s to connect and 60 s
//! for any single read or write, but a multi-gigabyte body may take as long as it needs.
//!
//! Only GETs follow redirects, and ureq drops `Authorization` on every redirect, so the token never
//! follows a download to another host. Uploads get a redirect back as an error: their streamed
//! bodies cannot be replayed to a new location anyway.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::Duration;

use ureq::config::RedirectAuthHeaders;
use ureq::http::{self, HeaderMap, Response};
use ureq::tls::{parse_pem, PemItem, RootCerts, TlsConfig, TlsProvider};
use ureq::{Agent, AsSendBody, Body, SendBody};
use url::Url;

use super::remote::short_url;
use super::retry::{parse_retry_after, Failure};
use super::tracker::{CountingReader, Tracker};
use crate::auth::redact::redact_text;
use crate::lfs::error::LfsError;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
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
}

impl HttpClient {
    /// An agent trusting the CA bundles the environment names, or the platform's roots.
    pub(crate) fn from_environment() -> Result<Self, LfsError> {
        Self::from_environment_with(CONNECT_TIMEOUT, IDLE_TIMEOUT)
    }

    /// The same agent with other timeouts: `connect` to resolve and connect, `idle` for any
    /// single read or write (a lookup that must not hold up a local operation for long).
    pub(crate) fn from_environment_with(
        connect: Duration,
        idle: Duration,
    ) -> Result<Self, LfsError> {
        let roots = root_certs(&environment_bundles())?;
        Ok(Self::with_roots(roots, connect, idle))
    }

    fn with_roots(roots: RootCerts, connect: Duration, idle: Duration) -> Self {
        let tls = TlsConfig::builder()
            .provider(TlsProvider::NativeTls)
            .root_certs(roots)
            .build();
        let config = Agent::config_builder()
            .http_status_as_error(false)
            .tls_config(tls)
            .timeout_resolve(Some(connect))
            .timeout_connect(Some(connect))
            .timeout_per_read(Some(idle))
            .timeout_per_write(Some(idle))
            .max_redirects(MAX_REDIRECTS)
            .redirect_auth_headers(RedirectAuthHeaders::Never)
            .user_agent(concat!("hfgit/", env!("CARGO_PKG_VERSION")))
            .max_idle_connections(64)
            .max_idle_connections_per_host(32)
            .build();
        Self {
            agent: config.into(),
        }
    }

    /// Make one attempt. A 2xx answer comes back for the caller to read; anything else is a
    /// [`Failure`] that says whether trying again may help. Bytes of a file payload count as
    /// progress, and are taken back out if the attempt fails.
    pub(crate) fn send(
        &self,
        outgoing: &Outgoing<'_>,
        tracker: &Tracker<'_>,
    ) -> Result<Response<Body>, Failure> {
        tracker.check()?;
        let mut builder = http::Request::builder()
            .method(outgoing.method.as_str())
            .uri(outgoing.url.as_str());
        for (name, value) in &outgoing.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let has_header = |wanted: &str| {
            outgoing
                .headers
                .iter()
                .any(|(name, _)| name.eq_ignore_ascii_case(wanted))
        };
        if let Some(authorization) = outgoing.authorization {
            if !has_header("authorization") {
                builder = builder.header("Authorization", authorization);
            }
        }

        let mut file_reader = None;
        let result = match &outgoing.payload {
            Payload::Empty => self.run(builder, outgoing, ()),
            Payload::Bytes(bytes) => self.run(builder, outgoing, *bytes),
            Payload::File { path, offset, len } => {
                if !has_header("transfer-encoding") {
                    builder = builder.header("Content-Length", *len);
                }
                let range = open_range(path, *offset, *len)?;
                let reader = file_reader.insert(CountingReader::new(range, tracker));
                self.run(builder, outgoing, SendBody::from_reader(reader))
            }
        };
        let sent = file_reader.as_ref().map_or(0, CountingReader::counted);
        let outcome = match result {
            Ok(response) if response.status().is_success() => Ok(response),
            Ok(response) => Err(status_failure(response)),
            Err(err) => Err(transport_failure(err, tracker)),
        };
        if outcome.is_err() {
            tracker.remove_bytes(sent);
        }
        outcome
    }

    fn run(
        &self,
        builder: http::request::Builder,
        outgoing: &Outgoing<'_>,
        body: impl AsSendBody,
    ) -> Result<Response<Body>, ureq::Error> {
        let request = builder.body(body)?;
        let redirects = if outgoing.method == Method::Get {
            MAX_REDIRECTS
        } else {
            0
        };
        let request = self
            .agent
            .configure_request(request)
            .max_redirects(redirects)
            .build();
        self.agent.run(request)
    }
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

/// Turn a non-2xx answer into a failure with the server's own words, redacted and kept short.
fn status_failure(mut response: Response<Body>) -> Failure {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let retry_after = header_text(&headers, "retry-after").and_then(|v| parse_retry_after(&v));
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
    Failure::Status {
        status,
        message,
        retry_after,
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
