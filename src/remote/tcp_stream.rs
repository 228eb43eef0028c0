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

use std::ffi::{c_char, c_int, c_uint, c_void, CStr, CString};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::sync::Once;
use std::time::Duration;

use libgit2_sys as raw;

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
        host: text(host),
        port: text(port),
        socket: None,
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
    let Some(socket) = ours(stream).socket.as_mut() else {
        set_error("could not read from socket: not connected");
        return -1;
    };
    let buffer = std::slice::from_raw_parts_mut(data.cast::<u8>(), len);
    transferred(|| socket.read(buffer), "read from")
}

unsafe extern "C" fn stream_write(
    stream: *mut GitStream,
    data: *const c_char,
    len: usize,
    _flags: c_int,
) -> isize {
    let Some(socket) = ours(stream).socket.as_mut() else {
        set_error("could not write to socket: not connected");
        return -1;
    };
    let buffer = std::slice::from_raw_parts(data.cast::<u8>(), len);
    let written = transferred(|| socket.write(buffer), "write to");
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

/// A server that refuses a request (a 503 while busy, say) may answer and close before it has
/// read the body, so the client's next write fails with a broken pipe that hides the answer. The
/// answer is often already in the receive buffer: read its status line, without waiting. Only
/// plain HTTP can be read here; under TLS the bytes are encrypted and this gives `None`.
fn early_reply_status(socket: &TcpStream) -> Option<String> {
    let mut head = [0u8; 256];
    socket.set_nonblocking(true).ok()?;
    let peeked = socket.peek(&mut head);
    let _ = socket.set_nonblocking(false);
    let head = &head[..peeked.ok()?];
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
