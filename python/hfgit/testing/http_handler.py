"""LocalHub's HTTP layer: the threaded server, routing, authentication and fault injection.

Each request goes through the same steps, in this order: latency, injected faults, routing,
credentials, repo access, then the route's handler. Routing is a small table of paths below a
repo (`info/refs`, `git-upload-pack`, `info/lfs/objects/batch`, ...); the Git LFS handlers and
the signed storage URLs under `/_lfs_storage/` live in `lfs_http`. Access rules copy what
clients observe on the Hub (hub-protocol.md section 2): anonymous users may only fetch public
repos, and for them a missing repo looks exactly like a private one (401), so the Hub never
reveals whether a repo exists.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import logging
import re
import socket
import socketserver
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Literal, Union
from urllib.parse import parse_qs

from . import lfs_http
from .discussions import DiscussionStore
from .faults import HubFaults
from .git_cgi import BLOCK_SIZE, CgiError, GitTools, ProcessRegistry, run_cgi
from .hub_api import Account, serve_api
from .repos import RepoStore, is_valid_repo_id
from .state import Identity, RequestLog, RequestRecord, TokenRegistry
from .xet import XetState

__all__ = ["HandlerContext", "HubHTTPServer", "HubRequestHandler"]

logger = logging.getLogger("hfgit.testing")

REALM = "LocalHub"
UNAUTHORIZED_BODY = "Invalid username or password."
MAX_LINE = 64 * 1024
DRAIN_LIMIT = 1024 * 1024
"""Unread request bodies up to this size are discarded so the connection can be reused; larger
ones close the connection instead."""

# Request headers never passed to the CGI: credentials (git does not need them and hooks should
# not see them), hop-by-hop framing this server already decoded, and CGI's own variables.
_PRIVATE_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "connection",
        "keep-alive",
        "transfer-encoding",
        "te",
        "trailer",
        "upgrade",
        "expect",
        "content-length",
        "content-type",
    }
)
_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade"}
)
_HEADER_NAME = re.compile(r"[A-Za-z0-9-]+")
_URL_TYPE_PREFIXES = {"datasets": "dataset", "spaces": "space"}
_Request = Union[socket.socket, tuple[bytes, socket.socket]]  # socketserver's request type


@dataclass
class HandlerContext:
    """Everything request threads need from the hub, and nothing else."""

    store: RepoStore
    tokens: TokenRegistry
    faults: HubFaults
    log: RequestLog
    git: GitTools
    cgi_env: dict[str, str]
    processes: ProcessRegistry
    lfs: lfs_http.LfsContext
    discussions: DiscussionStore
    account: Account
    xet: XetState


class BadRequestError(Exception):
    """The request is malformed (e.g. broken chunked encoding); answered with 400."""


@dataclass(frozen=True)
class Route:
    """One row of the routing table: a path below a repo and the handler serving it."""

    pattern: re.Pattern[str]
    methods: frozenset[str]
    handler: str  # name of a HubRequestHandler method taking a RepoRequest


@dataclass(frozen=True)
class RepoRequest:
    """A request that routed to a repo: which repo and what below it."""

    repo_type: str
    repo_id: str
    rest: str
    query: str
    identity: Identity


_ANY_METHOD = frozenset({"GET", "POST", "PUT", "DELETE", "HEAD", "PATCH"})

ROUTES: tuple[Route, ...] = (
    Route(re.compile(r"info/refs"), frozenset({"GET"}), "serve_git"),
    Route(re.compile(r"git-upload-pack"), frozenset({"POST"}), "serve_git"),
    Route(re.compile(r"git-receive-pack"), frozenset({"POST"}), "serve_git"),
    Route(re.compile(r"info/lfs/objects/batch"), frozenset({"POST"}), "serve_lfs_batch"),
    Route(re.compile(r"info/lfs/objects/verify"), frozenset({"POST"}), "serve_lfs_verify"),
    Route(re.compile(r"info/lfs/locks(?:/.*)?"), _ANY_METHOD, "serve_lfs_locks"),
    Route(re.compile(r"info/lfs(?:/.*)?"), _ANY_METHOD, "serve_lfs_unknown"),
)


def match_route(path: str) -> tuple[str, str, str, Route] | None:
    """Split a request path into (repo_type, repo_id, rest, route), or None if no route fits.

    `repo_id` may be `name` or `namespace/name`, each optionally ending in `.git`; the
    two-segment reading wins when both fit, as on the Hub.
    """
    segments = path.lstrip("/").split("/")
    repo_type = "model"
    if len(segments) > 1 and segments[0] in _URL_TYPE_PREFIXES:
        repo_type = _URL_TYPE_PREFIXES[segments.pop(0)]
    for width in (2, 1):
        if len(segments) <= width:
            continue
        repo_id = "/".join(segments[:width])
        rest = "/".join(segments[width:])
        for route in ROUTES:
            if route.pattern.fullmatch(rest):
                if repo_id.endswith(".git"):
                    repo_id = repo_id[: -len(".git")]
                return repo_type, repo_id, rest, route
    return None


class HubHTTPServer(ThreadingHTTPServer):
    """Threaded HTTP(S) server on 127.0.0.1 that knows its open connections, so stop() can
    close keep-alive connections instead of waiting for their timeouts."""

    daemon_threads = True

    def __init__(self, context: HandlerContext, ssl_context: ssl.SSLContext | None) -> None:
        self.context = context
        self._ssl_context = ssl_context
        self._connections: set[socket.socket] = set()
        self._connections_changed = threading.Condition()
        super().__init__(("127.0.0.1", 0), HubRequestHandler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind would call socket.getfqdn(), a reverse DNS lookup; skip it.
        socketserver.TCPServer.server_bind(self)
        host, port = self.socket.getsockname()[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def server_activate(self) -> None:
        super().server_activate()
        if self._ssl_context is not None:
            # The handshake runs in the connection's own thread (see HubRequestHandler.setup),
            # so a slow or distrustful client cannot stall the accept loop.
            self.socket = self._ssl_context.wrap_socket(
                self.socket, server_side=True, do_handshake_on_connect=False
            )

    @property
    def scheme(self) -> str:
        return "https" if self._ssl_context is not None else "http"

    def process_request_thread(self, request: _Request, client_address: Any) -> None:
        connection = request if isinstance(request, socket.socket) else request[1]
        with self._connections_changed:
            self._connections.add(connection)
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._connections_changed:
                self._connections.discard(connection)
                self._connections_changed.notify_all()

    def handle_error(self, request: _Request, client_address: Any) -> None:
        # Failed TLS handshakes and clients vanishing mid-request are routine in tests.
        logger.debug("LocalHub connection from %s failed", client_address, exc_info=True)

    def close_connections(self, timeout: float) -> None:
        """Shut down every open connection and wait up to `timeout` s for their threads."""
        with self._connections_changed:
            connections = list(self._connections)
        for connection in connections:
            # The plain socket method: SSLSocket.shutdown would drop its SSL object under the
            # feet of the thread still using it.
            with contextlib.suppress(OSError):
                socket.socket.shutdown(connection, socket.SHUT_RDWR)
        deadline = time.monotonic() + timeout
        with self._connections_changed:
            while self._connections:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._connections_changed.wait(remaining)


class _ChunkedWriter:
    """The CGI's response as HTTP/1.1 (chunked unless the CGI gave a length)."""

    def __init__(self, handler: HubRequestHandler) -> None:
        self._handler = handler
        self._chunked = False

    def start(self, status: int, reason: str, headers: list[tuple[str, str]]) -> None:
        handler = self._handler
        handler.send_response(status, reason)
        has_length = False
        for name, value in headers:
            lowered = name.lower()
            if lowered in _HOP_BY_HOP:
                continue
            has_length = has_length or lowered == "content-length"
            handler.send_header(name, value)
        if not has_length:
            if handler.request_version == "HTTP/1.1":
                handler.send_header("Transfer-Encoding", "chunked")
                self._chunked = True
            else:
                handler.close_connection = True  # HTTP/1.0: the end of the body is the close
        if handler.close_connection or not handler.request_body_consumed:
            handler.send_header("Connection", "close")
        handler.end_headers()

    def write(self, data: bytes) -> None:
        if not data:
            return
        if self._chunked:
            self._handler.wfile.write(b"%x\r\n%b\r\n" % (len(data), data))
        else:
            self._handler.wfile.write(data)

    def finish(self) -> None:
        if self._chunked:
            self._handler.wfile.write(b"0\r\n\r\n")


class HubRequestHandler(BaseHTTPRequestHandler):
    """Serves one connection (HTTP/1.1 keep-alive) for a LocalHub."""

    protocol_version = "HTTP/1.1"
    server_version = "LocalHub"
    realm = REALM
    sys_version = ""
    timeout = 60  # idle keep-alive connections and stalled clients give up after this
    disable_nagle_algorithm = True
    server: HubHTTPServer
    _status: int | None = None
    _unrecorded: RequestRecord | None = None
    #: Bytes per second a storage download is sent at, set by a `slow_next` fault.
    slowed_to: int | None = None
    request_body_consumed: bool = True

    def setup(self) -> None:
        super().setup()
        if isinstance(self.connection, ssl.SSLSocket):
            self.connection.do_handshake()

    def log_message(self, format: str, *args: object) -> None:
        """Silence http.server's stderr log; LocalHub.requests is the record."""

    def send_response(self, code: int, message: str | None = None) -> None:
        self._status = code
        # Record before anything is sent: once a client sees a response, a test may look at
        # LocalHub.requests and must find this request there.
        self._flush_record()
        super().send_response(code, message)

    def _flush_record(self) -> None:
        record, self._unrecorded = self._unrecorded, None
        if record is not None:
            if self._status is not None:
                record = dataclasses.replace(record, status=self._status)
            self.server.context.log.append(record)

    # ------------------------------------------------------------------ dispatch

    def _dispatch(self) -> None:
        context = self.server.context
        self._status = None
        self.slowed_to = None
        self.request_body_consumed = not self.has_body()
        path, _, query = self.path.partition("?")
        identity = context.tokens.identify(self.headers.get("Authorization"))
        self._unrecorded = RequestRecord(
            method=self.command,
            path=path,
            query=query,
            status=None,
            authorization=identity.scheme,
            token_scope=identity.scope,
            range=self.headers.get("Range"),
            user_agent=self.headers.get("User-Agent"),
            via=self.headers.get("Via"),
            received=time.monotonic(),
        )
        if path.startswith(lfs_http.STORAGE_PREFIX) and "Authorization" in self.headers:
            # Storage URLs authorize themselves; a client sending credentials there would leak
            # its token to a third party on the real Hub. Record where (never the value).
            context.lfs.authorization_seen.add(path)
        try:
            if self.headers.get("Content-Length") is not None:
                self.content_length()  # reject a malformed length before anything else
            latency = context.faults.latency
            if latency:
                time.sleep(latency)
            fault = context.faults.take(self.path)
            if fault is not None and fault.slowed_to is not None:
                self.slowed_to = fault.slowed_to
                fault = None
            if fault is not None and fault.after_serving:
                self._serve_without_reply(path, query, identity)
                return
            if fault is not None:
                if fault.status is None:
                    self.close_connection = True
                    return
                if path.startswith(lfs_http.STORAGE_PREFIX):
                    # Uploads can be large: read them so the client sees the status, not a reset.
                    self.discard_body(lfs_http.DISCARD_LIMIT)
                body = fault.body or f"LocalHub injected fault: HTTP {fault.status}\n"
                json_body = body.startswith("{")
                self.send_text(
                    fault.status,
                    body,
                    list(fault.headers),
                    content_type="application/json" if json_body else "text/plain; charset=utf-8",
                )
                return
            self._route(path, query, identity)
        except BadRequestError as exc:
            self.close_connection = True
            if self._status is None:
                self.send_text(400, f"Bad request: {exc}\n")
        finally:
            self._flush_record()  # no response was sent (dropped, or the client went away)

    # http.server looks handlers up as do_<METHOD>; every method goes through _dispatch.
    do_GET = _dispatch
    do_HEAD = _dispatch
    do_POST = _dispatch
    do_PUT = _dispatch
    do_PATCH = _dispatch
    do_DELETE = _dispatch
    do_OPTIONS = _dispatch

    def _serve_without_reply(self, path: str, query: str, identity: Identity) -> None:
        """Handle the request for real, throw the reply away, and close the connection."""
        reply, self.wfile = self.wfile, io.BytesIO()
        try:
            self._route(path, query, identity)
        finally:
            self.wfile = reply
            self.close_connection = True

    def _route(self, path: str, query: str, identity: Identity) -> None:
        if path.startswith(lfs_http.STORAGE_PREFIX):
            lfs_http.serve_storage(self, path, query)
            return
        if path.startswith("/api/"):
            serve_api(self, path, identity)
            return
        found = match_route(path)
        if found is None:
            self.send_text(404, "Not Found\n")
            return
        repo_type, repo_id, rest, route = found
        if self.command not in route.methods:
            allowed = ", ".join(sorted(route.methods))
            self.send_text(405, "Method Not Allowed\n", [("Allow", allowed)])
            return
        handler: Callable[[RepoRequest], None] = getattr(self, route.handler)
        handler(RepoRequest(repo_type, repo_id, rest, query, identity))

    # ------------------------------------------------------------------ access control

    def authorize(self, request: RepoRequest, *, write: bool) -> bool:
        """Apply the Hub's access rules; on refusal send the answer and return False.

        Any valid token may read and push to every repo (LocalHub has a single user); the
        read-only restriction on pushes is enforced per ref by the pre-receive hook, as on
        the Hub, so the transport itself succeeds.
        """
        decision = self.access(request, write=write)
        if decision == "challenge":
            self.send_challenge()
            return False
        if decision == "not_found":
            self.send_text(
                404,
                "Repository not found",
                [("X-Error-Code", "RepoNotFound"), ("X-Error-Message", "Repository not found")],
            )
            return False
        return True

    def access(
        self, request: RepoRequest, *, write: bool
    ) -> Literal["ok", "challenge", "not_found"]:
        """Decide (without answering) whether a request may reach its repo: "challenge" for
        bad credentials, and for anonymous writes or anonymous reads of a private or missing
        repo; "not_found" for a valid token and a missing repo."""
        identity = request.identity
        if not identity.anonymous and not identity.authenticated:
            return "challenge"
        store = self.server.context.store
        exists = is_valid_repo_id(request.repo_id) and store.exists(
            request.repo_id, request.repo_type
        )
        if identity.anonymous:
            if write or not exists or store.is_private(request.repo_id, request.repo_type):
                return "challenge"
            return "ok"
        return "ok" if exists else "not_found"

    def send_challenge(self) -> None:
        self.send_text(401, UNAUTHORIZED_BODY, [("WWW-Authenticate", f'Basic realm="{REALM}"')])

    # ------------------------------------------------------------------ route handlers

    def serve_git(self, request: RepoRequest) -> None:
        """Smart HTTP through git http-backend."""
        if request.rest == "info/refs":
            service = parse_qs(request.query).get("service", [""])[0]
            write = service == "git-receive-pack"
        else:
            write = request.rest == "git-receive-pack"
        if not self.authorize(request, write=write):
            return
        context = self.server.context
        env = self._cgi_env(request)
        body = self.iter_body() if self.has_body() else None
        try:
            result = run_cgi(
                context.git.http_backend,
                env,
                body,
                _ChunkedWriter(self),
                cwd=context.store.root,
                registry=context.processes,
            )
        except CgiError as exc:
            logger.warning("git http-backend failed: %s", exc)
            self.close_connection = True
            if self._status is None:
                self.send_text(502, "git http-backend failed\n")
            return
        if not result.body_complete:
            self.close_connection = True
        if result.body_error is not None:
            logger.debug("request body failed: %r", result.body_error)
            self.close_connection = True
        if result.status >= 500 and result.stderr_tail:
            logger.warning(
                "git http-backend: %s", result.stderr_tail.decode("utf-8", "replace").strip()
            )

    def serve_lfs_batch(self, request: RepoRequest) -> None:
        lfs_http.serve_batch(self, request)

    def serve_lfs_verify(self, request: RepoRequest) -> None:
        lfs_http.serve_verify(self, request)

    def serve_lfs_locks(self, request: RepoRequest) -> None:
        lfs_http.serve_locks(self, request)

    def serve_lfs_unknown(self, request: RepoRequest) -> None:
        lfs_http.serve_unknown(self, request)

    # ------------------------------------------------------------------ CGI environment

    def _cgi_env(self, request: RepoRequest) -> dict[str, str]:
        context = self.server.context
        relative = context.store.relative_path(request.repo_id, request.repo_type)
        env = dict(context.cgi_env)
        env.update(
            GATEWAY_INTERFACE="CGI/1.1",
            SERVER_SOFTWARE=self.server_version,
            SERVER_PROTOCOL=self.request_version,
            SERVER_NAME=self.server.server_name,
            SERVER_PORT=str(self.server.server_port),
            REQUEST_METHOD=self.command,
            SCRIPT_NAME="",
            PATH_INFO=f"/{relative}/{request.rest}",
            QUERY_STRING=request.query,
            REMOTE_ADDR=str(self.client_address[0]),
            HFHUB_REPO_TYPE=request.repo_type,
            HFHUB_REPO_ID=request.repo_id,
            # The pre-receive hook checks pushed LFS pointers against the repo's LFS index.
            HFHUB_LFS_INDEX=str(context.lfs.store.index_dir(request.repo_id, request.repo_type)),
            # ... and lets a push update refs/pr/N only for a pull request that exists.
            HFHUB_PULL_REQUESTS=" ".join(
                str(num)
                for num in context.discussions.pull_request_numbers(
                    request.repo_id, request.repo_type
                )
            ),
        )
        content_type = self.headers.get("Content-Type")
        if content_type is not None:
            env["CONTENT_TYPE"] = content_type
        length = self.headers.get("Content-Length")
        if length is not None and not self.is_chunked():
            env["CONTENT_LENGTH"] = length.strip()
        for name in set(self.headers.keys()):
            if name.lower() in _PRIVATE_HEADERS or not _HEADER_NAME.fullmatch(name):
                continue
            value = ", ".join(self.headers.get_all(name) or [])
            env["HTTP_" + name.upper().replace("-", "_")] = value
        git_protocol = self.headers.get("Git-Protocol")
        if git_protocol is not None:
            env["GIT_PROTOCOL"] = git_protocol
        identity = request.identity
        if identity.scope is not None:
            # REMOTE_USER makes http-backend allow receive-pack; the hook reads the scope.
            env["REMOTE_USER"] = f"localhub-{identity.scope}"
            env["AUTH_TYPE"] = identity.scheme or ""
            env["HFHUB_TOKEN_SCOPE"] = identity.scope
        return env

    # ------------------------------------------------------------------ request bodies

    def is_chunked(self) -> bool:
        codings = self.headers.get("Transfer-Encoding", "")
        return codings.split(",")[-1].strip().lower() == "chunked"

    def has_body(self) -> bool:
        if self.is_chunked():
            return True
        length = self.headers.get("Content-Length")
        return length is not None and length.strip() not in ("", "0")

    def content_length(self) -> int:
        text = (self.headers.get("Content-Length") or "0").strip()
        if not text.isdigit():
            raise BadRequestError(f"invalid Content-Length {text!r}")
        return int(text)

    def iter_body(self, block_size: int = BLOCK_SIZE) -> Iterator[bytes]:
        """Yield the request body in blocks as it arrives, decoding chunked framing."""
        if self.is_chunked():
            yield from self._iter_chunked(block_size)
        else:
            remaining = self.content_length()
            while remaining:
                data = self.rfile.read(min(remaining, block_size))
                if not data:
                    raise BadRequestError("request body ended early")
                remaining -= len(data)
                yield data
        self.request_body_consumed = True

    def _iter_chunked(self, block_size: int) -> Iterator[bytes]:
        while True:
            line = self.rfile.readline(MAX_LINE)
            if not line.endswith(b"\n"):
                raise BadRequestError("malformed chunk size line")
            size_text = line.split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise BadRequestError(f"malformed chunk size {size_text!r}") from None
            if size < 0:
                raise BadRequestError("negative chunk size")
            if size == 0:
                while self.rfile.readline(MAX_LINE).strip():  # trailer fields, ignored
                    pass
                return
            remaining = size
            while remaining:
                data = self.rfile.read(min(remaining, block_size))
                if not data:
                    raise BadRequestError("request body ended inside a chunk")
                remaining -= len(data)
                yield data
            if self.rfile.readline(MAX_LINE).strip():
                raise BadRequestError("missing CRLF after chunk data")

    def read_body(self, limit: int) -> bytes | None:
        """Read a whole (small) request body; None if it is longer than `limit` bytes (the
        connection is then closed, as the rest stays unread)."""
        if not self.has_body():
            return b""
        if not self.is_chunked() and self.content_length() > limit:
            self.close_connection = True
            return None
        blocks: list[bytes] = []
        total = 0
        for block in self.iter_body():
            total += len(block)
            if total > limit:
                self.close_connection = True
                return None
            blocks.append(block)
        return b"".join(blocks)

    def discard_body(self, limit: int) -> None:
        """Read and drop the request body if it is at most `limit` bytes; otherwise (or if it
        turns out malformed) mark the connection for closing."""
        if self.request_body_consumed:
            return
        if not self.is_chunked() and self.content_length() > limit:
            self.close_connection = True
            return
        total = 0
        try:
            for block in self.iter_body(1024 * 1024):
                total += len(block)
                if total > limit:
                    self.close_connection = True
                    return
        except (BadRequestError, OSError):
            self.close_connection = True

    def drain_body(self) -> None:
        """Before answering without reading the body: discard a small one so the connection
        stays usable, or mark the connection for closing."""
        if self.request_body_consumed:
            return
        if self.is_chunked() or self.content_length() > DRAIN_LIMIT:
            self.close_connection = True
            return
        try:
            for _ in self.iter_body():
                pass
        except (BadRequestError, OSError):
            self.close_connection = True

    # ------------------------------------------------------------------ simple responses

    def send_text(
        self,
        status: int,
        text: str,
        headers: list[tuple[str, str]] | None = None,
        *,
        content_type: str = "text/plain; charset=utf-8",
    ) -> None:
        try:
            self.drain_body()
        except BadRequestError:
            self.close_connection = True
        body = text.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers or []:
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
