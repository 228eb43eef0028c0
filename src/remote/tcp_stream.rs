//! libgit2's TCP connections, made by us so that Nagle's algorithm is off.
//!
//! libgit2's HTTP client writes a POST's headers and its body with two separate `send` calls,
//! and its own socket stream leaves Nagle's algorithm on. The body then waits for the server to
//! acknowledge the headers, and a server that delays its acknowledgements (Linux does, by up
//! to 40 ms) stalls every fetch negotiation and every push by that much: a clone of a tiny repo
//! took 65 ms against git's 24 ms, 45 of them in that wait. libgit2 lets a program supply the
//! plain TCP stream it builds everything on (HTTP directly, HTTPS through its OpenSSL stream),
//! so this module registers one that sets `TCP_NODELAY`, as curl (and so git) does. Connect,
//! read and write timeouts and the error messages follow libgit2's own socket stream.
//!
//! Two more things need the socket, so they live here too:
//!
//! - **Proxies for plain-http remotes.** libgit2 sends a request for an `http://` remote in
//!   absolute form, as a proxy wants it, but then opens its connection to the remote itself
//!   instead of the proxy (libgit2/libgit2#5650; https remotes are fine, libgit2 opens a `CONNECT`
//!   tunnel). While an operation is proxied, [`route_through`] makes every connection this thread
//!   opens go to the proxy, which is where libgit2 meant to send it.
//! - **Connections closed while idle.** libgit2 reuses a keep-alive connection without checking
//!   that the other end still has it open, and a server that closed it makes the next request
//!   fail with "unexpected EOF". curl and ureq look before they reuse; so does this stream, for
//!   plain-HTTP requests: a new request about to go on a connection the peer closed goes on a new
//!   connection instead. Through a proxy, a plain-HTTP request always gets a new connection:
//!   libgit2 does not send `Proxy-Connection: Keep-Alive`, and a proxy may then close after its
//!   answer without saying so (tinyproxy does), too late for a look before the next request.
//! - **Proxy credentials.** libgit2 sends a proxy's credentials only after a 407 challenge, and
//!   then misreads the challenge of a proxy that answers it without a length (tinyproxy: HTTP/1.0,
//!   the page ends when the connection does), failing with "http parser error". Like curl, this
//!   stream sends `Proxy-Authorization` with every plain-text request to the proxy (a `CONNECT`,
//!   or a plain-http request in absolute form), never inside a tunnel: what goes through a tunnel
//!   is TLS, which this stream cannot read and does not touch.
//! - **Rate-limit headers.** libgit2 reports a 429 as a bare "unexpected http status code", without
//!   the `RateLimit` or `Retry-After` header that says how long to wait. On plain HTTP the answer
//!   passes through here in the clear, so its head is read on the way; [`take_requested_wait`]
//!   hands the wait to the error classification. Under TLS the bytes are encrypted and there is
//!   no hint: the wait then doubles from a second.

use std::cell::{Cell, RefCell};
use std::ffi::{c_char, c_int, c_uint, c_void, CStr, CString};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::sync::Once;
use std::time::Duration;

use libgit2_sys as raw;
use secrecy::{ExposeSecret, SecretString};

/// `git_stream` from `git2/sys/stream.h` (libgit2 1.9), field for field.
#[repr(C)]
struct GitStream {
    version: c_int,
    /// The `encrypted` and `proxy_support` bit fields: both zero for plain TCP.
    flags: c_uint,
    timeout: c_int,
    connect_timeout: c_int,
    connect: Option<unsafe extern "C" fn(*mut GitStream) -> c_int>,
    certificate: Option<unsafe extern "C" fn(*mut *mut c_void, *mut GitStream) -> c_int>,
    set_proxy: Option<unsafe extern "C" fn(*mut GitStream, *const c_void) -> c_int>,
    read: Option<unsafe extern "C" fn(*mut GitStream, *mut c_void, usize) -> isize>,
    write: Option<unsafe extern "C" fn(*mut GitStream, *const c_char, usize, c_int) -> isize>,
    close: Option<unsafe extern "C" fn(*mut GitStream) -> c_int>,
    free: Option<unsafe extern "C" fn(*mut GitStream)>,
}

/// `git_stream_registration` from the same header.
#[repr(C)]
struct GitStreamRegistration {
    version: c_int,
    init: Option<unsafe extern "C" fn(*mut *mut GitStream, *const c_char, *const c_char) -> c_int>,
    wrap: Option<unsafe extern "C" fn(*mut *mut GitStream, *mut GitStream, *const c_char) -> c_int>,
}

const GIT_STREAM_VERSION: c_int = 1;
const GIT_STREAM_STANDARD: c_int = 1;

extern "C" {
    fn git_stream_register(kind: c_int, registration: *mut GitStreamRegistration) -> c_int;
}

/// Our stream: libgit2's part first, so a pointer to it is a pointer to the whole.
#[repr(C)]
struct NoDelayStream {
    parent: GitStream,
    host: String,
    port: String,
    socket: Option<TcpStream>,
    /// `scheme://host:port` of the proxy when this connection goes to one, for messages.
    proxy: Option<String>,
    /// The next read starts an answer (a request was just written).
    answer_starts: bool,
    /// Something was read since the connection was opened (an answer, at least in part).
    exchanged: bool,
    /// Open a new connection for every plain-HTTP request (sent to a proxy in absolute form).
    fresh_per_request: bool,
    /// `Proxy-Authorization` for plain-text requests to the proxy.
    proxy_authorization: Option<SecretString>,
}

/// Where this thread's connections go while an operation is proxied.
#[derive(Debug, Clone)]
struct Route {
    host: String,
    port: String,
    display: String,
    /// Send every connection to the proxy (a plain-http remote), not just those libgit2 opens to it.
    all: bool,
    authorization: Option<SecretString>,
}

thread_local! {
    static ROUTE: RefCell<Option<Route>> = const { RefCell::new(None) };
    static REQUESTED_WAIT: Cell<Option<Option<Duration>>> = const { Cell::new(None) };
}

/// Restores the thread's previous route when dropped.
pub struct RouteGuard {
    previous: Option<Route>,
}

impl Drop for RouteGuard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        ROUTE.with(|route| *route.borrow_mut() = previous);
    }
}

/// The proxy a thread's git traffic goes through, as [`route_through`] takes it.
pub struct ProxyRoute<'a> {
    pub host: &'a str,
    pub port: u16,
    /// How messages name it (`scheme://host:port`).
    pub display: &'a str,
    /// `Proxy-Authorization` to send it with plain-text requests, if it has credentials.
    pub authorization: Option<SecretString>,
}

/// While the guard lives, connections this thread opens for libgit2 know they go to `proxy`;
/// with `all`, every connection goes there (the remote is plain http, see the module docs).
/// `None` clears the route.
pub fn route_through(proxy: Option<ProxyRoute<'_>>, all: bool) -> RouteGuard {
    let next = proxy.map(|proxy| Route {
        host: proxy.host.trim_matches(['[', ']']).to_owned(),
        port: proxy.port.to_string(),
        display: proxy.display.to_owned(),
        all,
        authorization: proxy.authorization,
    });
    let previous = ROUTE.with(|route| std::mem::replace(&mut *route.borrow_mut(), next));
    RouteGuard { previous }
}

/// The wait asked for by the last 429 answer this thread read in the clear, if there was one
/// since the last call: `Some(None)` for a 429 that named no wait.
pub fn take_requested_wait() -> Option<Option<Duration>> {
    REQUESTED_WAIT.with(Cell::take)
}

/// Make libgit2 open its TCP connections through [`NoDelayStream`]; idempotent.
pub fn register() {
    static REGISTERED: Once = Once::new();
    REGISTERED.call_once(|| {
        let mut registration = GitStreamRegistration {
            version: GIT_STREAM_VERSION,
            init: Some(stream_init),
            wrap: None,
        };
        // SAFETY: libgit2 copies the registration; git2 has initialised libgit2 by the time a
        // remote session exists. On failure libgit2 keeps its own stream, which still works.
        unsafe {
            let _ = git_stream_register(GIT_STREAM_STANDARD, &mut registration);
        }
    });
}

fn set_error(message: &str) {
    let text = CString::new(message.replace('\0', " ")).unwrap_or_default();
    // SAFETY: libgit2 copies the message into its thread-local error slot.
    unsafe {
        raw::git_error_set_str(raw::GIT_ERROR_NET as c_int, text.as_ptr());
    }
}

unsafe extern "C" fn stream_init(
    out: *mut *mut GitStream,
    host: *const c_char,
    port: *const c_char,
) -> c_int {
    if out.is_null() || host.is_null() || port.is_null() {
        set_error("invalid arguments to the TCP stream");
        return -1;
    }
    let text = |value: *const c_char| CStr::from_ptr(value).to_string_lossy().into_owned();
    let (mut host, mut port) = (text(host), text(port));
    let mut proxy = None;
    let mut fresh_per_request = false;
    let mut proxy_authorization = None;
    if let Some(route) = ROUTE.with(|route| route.borrow().clone()) {
        let to_proxy = host.trim_matches(['[', ']']) == route.host && port == route.port;
        if to_proxy || route.all {
            host = route.host;
            port = route.port;
            proxy = Some(route.display);
            fresh_per_request = route.all;
            proxy_authorization = route.authorization;
        }
    }
    // libgit2's own stream takes the process-wide timeouts at creation; so does this one.
    let stream = Box::new(NoDelayStream {
        parent: GitStream {
            version: GIT_STREAM_VERSION,
            flags: 0,
            timeout: git2::opts::get_server_timeout_in_milliseconds().unwrap_or(0),
            connect_timeout: git2::opts::get_server_connect_timeout_in_milliseconds().unwrap_or(0),
            connect: Some(stream_connect),
            certificate: None,
            set_proxy: None,
            read: Some(stream_read),
            write: Some(stream_write),
            close: Some(stream_close),
            free: Some(stream_free),
        },
        host,
        port,
        socket: None,
        proxy,
        answer_starts: false,
        exchanged: false,
        fresh_per_request,
        proxy_authorization,
    });
    *out = Box::into_raw(stream).cast::<GitStream>();
    0
}

/// The stream behind a pointer libgit2 hands back.
///
/// # Safety
/// `stream` must come from [`stream_init`] and not be freed yet.
unsafe fn ours<'a>(stream: *mut GitStream) -> &'a mut NoDelayStream {
    &mut *stream.cast::<NoDelayStream>()
}

fn millis(value: c_int) -> Option<Duration> {
    u64::try_from(value)
        .ok()
        .filter(|ms| *ms > 0)
        .map(Duration::from_millis)
}

unsafe extern "C" fn stream_connect(stream: *mut GitStream) -> c_int {
    let stream = ours(stream);
    let code = connect(stream);
    if code < 0 {
        if let Some(proxy) = &stream.proxy {
            // Say which end failed: the proxy, not the remote.
            set_error(&format!(
                "{}; that is the proxy {proxy}, which this git traffic goes through",
                last_error_message()
            ));
        }
    }
    code
}

fn last_error_message() -> String {
    // SAFETY: libgit2 returns its thread-local last error, or null; the text is copied at once.
    unsafe {
        let error = raw::git_error_last();
        if error.is_null() || (*error).message.is_null() {
            return String::new();
        }
        CStr::from_ptr((*error).message)
            .to_string_lossy()
            .into_owned()
    }
}

fn connect(stream: &mut NoDelayStream) -> c_int {
    let Ok(port) = stream.port.parse::<u16>() else {
        set_error(&format!(
            "failed to connect to {}: invalid port {:?}",
            stream.host, stream.port
        ));
        return -1;
    };
    let addresses = match (stream.host.as_str(), port).to_socket_addrs() {
        Ok(addresses) => addresses,
        Err(err) => {
            set_error(&format!(
                "failed to resolve address for {}: {err}",
                stream.host
            ));
            return -1;
        }
    };
    let connect_timeout = millis(stream.parent.connect_timeout);
    let mut last_error = None;
    for address in addresses {
        let attempt = match connect_timeout {
            Some(limit) => TcpStream::connect_timeout(&address, limit),
            None => TcpStream::connect(address),
        };
        match attempt {
            Ok(socket) => {
                let timeout = millis(stream.parent.timeout);
                let configured = socket
                    .set_nodelay(true)
                    .and_then(|()| socket.set_read_timeout(timeout))
                    .and_then(|()| socket.set_write_timeout(timeout));
                if let Err(err) = configured {
                    set_error(&format!(
                        "failed to set up the socket to {}: {err}",
                        stream.host
                    ));
                    return -1;
                }
                stream.socket = Some(socket);
                return 0;
            }
            Err(err) => {
                let timed_out = err.kind() == std::io::ErrorKind::TimedOut;
                last_error = Some(err);
                if timed_out {
                    break;
                }
            }
        }
    }
    match last_error {
        Some(err) if err.kind() == std::io::ErrorKind::TimedOut => {
            set_error(&format!(
                "failed to connect to {}: Operation timed out",
                stream.host
            ));
            raw::GIT_TIMEOUT as c_int
        }
        Some(err) => {
            set_error(&format!("failed to connect to {}: {err}", stream.host));
            -1
        }
        None => {
            set_error(&format!(
                "failed to resolve address for {}: no addresses",
                stream.host
            ));
            -1
        }
    }
}

/// Run one socket call (again if a signal interrupted it) and answer in libgit2's convention:
/// bytes moved, or a negative code with the error set.
fn transferred(mut call: impl FnMut() -> std::io::Result<usize>, action: &str) -> isize {
    let outcome = loop {
        match call() {
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
            outcome => break outcome,
        }
    };
    match outcome {
        Ok(count) => isize::try_from(count).unwrap_or(isize::MAX),
        Err(err)
            if matches!(
                err.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) =>
        {
            set_error(&format!("could not {action} socket: timed out"));
            raw::GIT_TIMEOUT as isize
        }
        Err(err) => {
            set_error(&format!("error {action} socket: {err}"));
            -1
        }
    }
}

unsafe extern "C" fn stream_read(stream: *mut GitStream, data: *mut c_void, len: usize) -> isize {
    let stream = ours(stream);
    let Some(socket) = stream.socket.as_mut() else {
        set_error("could not read from socket: not connected");
        return -1;
    };
    let buffer = std::slice::from_raw_parts_mut(data.cast::<u8>(), len);
    let read = transferred(|| socket.read(buffer), "read from");
    if read > 0 {
        stream.exchanged = true;
        if std::mem::take(&mut stream.answer_starts) {
            note_rate_limit(&buffer[..read.unsigned_abs()]);
        }
    }
    read
}

/// If `head` starts a 429 answer in the clear, remember the wait its headers ask for.
fn note_rate_limit(head: &[u8]) {
    let Some(text) = head
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .and_then(|end| std::str::from_utf8(&head[..end]).ok())
    else {
        return;
    };
    let mut lines = text.split("\r\n");
    let is_429 = lines
        .next()
        .and_then(|status| status.strip_prefix("HTTP/1."))
        .and_then(|rest| rest.get(2..5))
        == Some("429");
    if !is_429 {
        return;
    }
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    let wait = crate::net::rate_limit::requested_wait(429, |name| {
        headers
            .iter()
            .find(|(have, _)| have == name)
            .map(|(_, value)| value.clone())
    });
    REQUESTED_WAIT.with(|cell| cell.set(Some(wait)));
}

unsafe extern "C" fn stream_write(
    stream: *mut GitStream,
    data: *const c_char,
    len: usize,
    _flags: c_int,
) -> isize {
    let stream = ours(stream);
    let buffer = std::slice::from_raw_parts(data.cast::<u8>(), len);
    let request_starts = !stream.answer_starts && starts_a_request(buffer);
    let new_request = stream.exchanged && request_starts;
    if new_request && (stream.fresh_per_request || stream.socket.as_ref().is_some_and(peer_closed))
    {
        if let Some(old) = stream.socket.take() {
            let _ = old.shutdown(Shutdown::Both);
        }
        stream.exchanged = false;
        let code = connect(stream);
        if code < 0 {
            return code as isize;
        }
    }
    stream.answer_starts = true;
    let with_credentials = stream
        .proxy_authorization
        .as_ref()
        .filter(|_| request_starts)
        .and_then(|authorization| with_proxy_authorization(buffer, authorization));
    let Some(socket) = stream.socket.as_mut() else {
        set_error("could not write to socket: not connected");
        return -1;
    };
    let written = match &with_credentials {
        // All of it or nothing: libgit2 counts only the bytes it gave.
        Some(request) => {
            match transferred(|| socket.write_all(request).map(|()| len), "write to") {
                written if written < 0 => written,
                _ => isize::try_from(len).unwrap_or(isize::MAX),
            }
        }
        None => transferred(|| socket.write(buffer), "write to"),
    };
    if written < 0 {
        if let Some(status) = early_reply_status(socket) {
            set_error(&format!(
                "the server answered {status} before the request was sent in full, and closed \
                 the connection"
            ));
        }
    }
    written
}

/// `request` (the head of a plain-text request) with a `Proxy-Authorization` header after its
/// request line, unless it has one (libgit2 adds its own after a challenge).
fn with_proxy_authorization(request: &[u8], authorization: &SecretString) -> Option<Vec<u8>> {
    let line_end = request.windows(2).position(|pair| pair == b"\r\n")? + 2;
    let head_end = request
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .unwrap_or(request.len());
    let head = String::from_utf8_lossy(&request[..head_end]).to_ascii_lowercase();
    if head.contains("\r\nproxy-authorization:") {
        return None;
    }
    let header = format!("Proxy-Authorization: {}\r\n", authorization.expose_secret());
    let mut out = Vec::with_capacity(request.len() + header.len());
    out.extend_from_slice(&request[..line_end]);
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(&request[line_end..]);
    Some(out)
}

/// Whether `data` begins a plain-HTTP request (`GET /...`, `POST http://...`), not TLS records.
fn starts_a_request(data: &[u8]) -> bool {
    let method_len = data.iter().take_while(|b| b.is_ascii_uppercase()).count();
    (3..=7).contains(&method_len) && data.get(method_len) == Some(&b' ')
}

/// Whether the peer closed an idle connection: a read that does not wait finds its end. Data
/// nobody asked for counts as closed too (ureq's probe, `transport/tcp.rs`, decides the same).
fn peer_closed(socket: &TcpStream) -> bool {
    let mut probe = [0u8; 1];
    if socket.set_nonblocking(true).is_err() {
        return false;
    }
    let peeked = socket.peek(&mut probe);
    let _ = socket.set_nonblocking(false);
    match peeked {
        Err(err) => err.kind() != std::io::ErrorKind::WouldBlock,
        Ok(_) => true,
    }
}

/// A server that refuses a request (a 503 while busy, say) may answer and close before it has
/// read the body, so the client's next write fails with a broken pipe that hides the answer. The
/// answer is often already in the receive buffer: read its status line, without waiting. Only
/// plain HTTP can be read here; under TLS the bytes are encrypted and this gives `None`.
fn early_reply_status(socket: &TcpStream) -> Option<String> {
    let mut head = [0u8; 4096];
    socket.set_nonblocking(true).ok()?;
    let peeked = socket.peek(&mut head);
    let _ = socket.set_nonblocking(false);
    let head = &head[..peeked.ok()?];
    // A 429 refusing a push this way still says how long to wait.
    note_rate_limit(head);
    let line = std::str::from_utf8(head).ok()?.lines().next()?;
    let status = line.strip_prefix("HTTP/1.")?.get(2..)?.trim();
    status
        .split(' ')
        .next()
        .filter(|code| code.len() == 3 && code.bytes().all(|b| b.is_ascii_digit()))
        .map(|_| format!("HTTP {status}"))
}

unsafe extern "C" fn stream_close(stream: *mut GitStream) -> c_int {
    if let Some(socket) = ours(stream).socket.take() {
        let _ = socket.shutdown(Shutdown::Both);
    }
    0
}

unsafe extern "C" fn stream_free(stream: *mut GitStream) {
    if !stream.is_null() {
        drop(Box::from_raw(stream.cast::<NoDelayStream>()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_requests_are_told_from_tls_records_and_bodies() {
        assert!(starts_a_request(b"GET /a/info/refs HTTP/1.1\r\n"));
        assert!(starts_a_request(
            b"POST http://h/a/git-upload-pack HTTP/1.1\r\n"
        ));
        assert!(starts_a_request(b"CONNECT h:443 HTTP/1.1\r\n"));
        assert!(!starts_a_request(b"\x16\x03\x01\x02\x00"));
        assert!(!starts_a_request(b"0032want 1234"));
        assert!(!starts_a_request(b"PACK\x00\x00"));
    }

    #[test]
    fn proxy_credentials_go_after_the_request_line_once() {
        let secret = SecretString::from("Basic YTpi".to_owned());
        let request = b"CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n";
        let sent = with_proxy_authorization(request, &secret).unwrap();
        assert_eq!(
            sent,
            b"CONNECT h:443 HTTP/1.1\r\nProxy-Authorization: Basic YTpi\r\nHost: h:443\r\n\r\n"
        );
        let answered = b"GET http://h/ HTTP/1.1\r\nproxy-authorization: Basic x\r\n\r\n";
        assert_eq!(with_proxy_authorization(answered, &secret), None);
    }

    #[test]
    fn a_429_head_read_in_the_clear_leaves_the_wait_it_asks_for() {
        let _ = take_requested_wait();
        note_rate_limit(b"HTTP/1.1 429 Too Many Requests\r\nRateLimit: \"api\";r=0;t=41\r\n\r\n{}");
        assert_eq!(take_requested_wait(), Some(Some(Duration::from_secs(42))));
        assert_eq!(take_requested_wait(), None);
        note_rate_limit(b"HTTP/1.1 429 Too Many Requests\r\nContent-Length: 0\r\n\r\n");
        assert_eq!(take_requested_wait(), Some(None));
        note_rate_limit(b"HTTP/1.1 200 OK\r\nRetry-After: 5\r\n\r\n");
        assert_eq!(take_requested_wait(), None);
    }
}
