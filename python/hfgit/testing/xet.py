"""LocalHub's Xet side: the crates' own CAS server behind a front that acts as the Hub's CAS.

What a client sees (hub-2026.md section 1 rows 2-4, section 5 cases 4, 6 and 12):

* An upload batch that offers `xet` for a Xet-enabled repo (the default, as on the Hub) answers
  `transfer: "xet"`; each object to upload gets an `upload` action whose `href` is the token
  route below and whose `header` holds `X-Xet-Cas-Url`, `X-Xet-Access-Token`,
  `X-Xet-Token-Expiration` (unix seconds) and `X-Xet-Session-Id`. Stored objects get no actions.
* `GET /api/{type}s/{repo}/xet-write-token/{rev}` takes Bearer only (Basic: 401); a read token
  gets 403 on a branch and 200 on `refs/pr/N`; the answer is `{accessToken, exp, casUrl}`. Tokens
  live `LocalHub.xet_token_lifetime` seconds (short in tests, so the client must refresh).
* The CAS is `local_cas_server`, the binary of the `xet-client` crate's `simulation` feature
  (scripts/check.sh installs it into `target/xet-cas/`). It checks no token, so LocalHub puts a
  front before it on its own port: the front refuses a missing, unknown or expired CAS token
  with 401, counts the bytes clients send, and reads every shard that goes up. A shard names each
  file's Xet hash and, from git clients, its LFS SHA-256: that is how the repo learns that an
  object arrived through Xet, so its pointer passes the pre-receive check, and how a later LFS
  download of it is served (the bridge: the file is reconstructed from the CAS once, through the
  same crates, then served like any LFS object).

Without the CAS binary, repos answer `basic` as before and `LocalHub.xet_available` is False.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import secrets
import shutil
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

if TYPE_CHECKING:
    from .http_handler import HubRequestHandler, RepoRequest
    from .lfs_store import LfsStore
    from .state import Identity

__all__ = [
    "CAS_SERVER_ENV",
    "XetState",
    "find_cas_server",
    "serve_xet_token",
    "xet_upload_actions",
]

CAS_SERVER_ENV = "HFGIT_XET_CAS_SERVER"
"""Path of the `local_cas_server` binary, when it is not in `target/xet-cas/bin/`."""
DEFAULT_TOKEN_LIFETIME = 3600
READ_TOKEN_ON_BRANCH = (
    "Forbidden: pass `create_pr=1` as a query parameter to create a Pull Request."
)
_MAX_CAS_BODY = 512 * 1024 * 1024
_SHARD_PATHS = ("/v1/shards", "/v2/shards")
_GRANT_UPLOAD_PREFIX = "/simulation/xorb-uploads/"
_API_TYPES = {"model": "models", "dataset": "datasets", "space": "spaces"}


def find_cas_server() -> str | None:
    """`HFGIT_XET_CAS_SERVER`, else the checkout's `target/xet-cas/bin/local_cas_server`, else
    `local_cas_server` on PATH; None when there is none."""
    named = os.environ.get(CAS_SERVER_ENV)
    if named:
        return named if os.access(named, os.X_OK) else None
    target = Path(__file__).resolve().parents[3] / "target"
    checkout = target / "xet-cas" / "bin" / "local_cas_server"
    if os.access(checkout, os.X_OK):
        return str(checkout)
    return shutil.which("local_cas_server")


@dataclass
class CasToken:
    repo_key: str
    expires_at: int


@dataclass
class XetState:
    """Everything Xet shared across LocalHub's request threads."""

    root: Path
    store: LfsStore
    binary: str | None = field(default_factory=find_cas_server)
    token_lifetime: int = DEFAULT_TOKEN_LIFETIME
    disabled: set[str] = field(default_factory=set)
    bytes_received: int = 0
    token_requests: int = 0
    shards_received: int = 0
    failures: int = 0
    """The next this many CAS requests are answered 503 (a CAS that is down)."""
    _tokens: dict[str, CasToken] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _process: subprocess.Popen[bytes] | None = None
    _cas_port: int = 0
    _front: ThreadingHTTPServer | None = None
    _front_thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle

    @property
    def available(self) -> bool:
        return self.binary is not None

    def start(self) -> None:
        """Start the CAS server and its front (once); a no-op without the binary."""
        if self.binary is None or self._front is not None:
            return
        data = self.root / "xet-cas"
        data.mkdir(parents=True, exist_ok=True)
        self._cas_port = _free_port()
        self._process = subprocess.Popen(
            [
                self.binary,
                "--data-directory",
                str(data),
                "--host",
                "127.0.0.1",
                "--port",
                str(self._cas_port),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_for_health(self._cas_port, self._process)
        front = ThreadingHTTPServer(("127.0.0.1", 0), _CasFrontHandler)
        front.daemon_threads = True
        front.xet = self  # type: ignore[attr-defined]
        self._front = front
        self._front_thread = threading.Thread(
            target=front.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"localhub-cas-{front.server_port}",
            daemon=True,
        )
        self._front_thread.start()
        self.store.reconstruct = self.reconstruct

    def stop(self) -> None:
        front, process = self._front, self._process
        self._front = self._process = None
        if front is not None:
            front.shutdown()
            front.server_close()
        if process is not None:
            process.terminate()
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    @property
    def cas_url(self) -> str:
        front = self._front
        if front is None:
            raise RuntimeError("the LocalHub CAS is not running")
        return f"http://127.0.0.1:{front.server_port}"

    def enabled_for(self, repo_type: str, repo_id: str) -> bool:
        return self._front is not None and f"{repo_type}/{repo_id}" not in self.disabled

    # ------------------------------------------------------------------ tokens

    def issue(self, repo_key: str) -> tuple[str, int]:
        token = "xet_" + secrets.token_urlsafe(24)
        expires_at = int(time.time()) + self.token_lifetime
        with self._lock:
            self._tokens[token] = CasToken(repo_key, expires_at)
        return token, expires_at

    def check(self, authorization: str | None) -> CasToken | None:
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer":
            return None
        with self._lock:
            found = self._tokens.get(token.strip())
        if found is None or time.time() >= found.expires_at:
            return None
        return found

    def take_failure(self) -> bool:
        with self._lock:
            if self.failures <= 0:
                return False
            self.failures -= 1
            return True

    def count(self, received: int = 0, token_request: bool = False, shard: bool = False) -> None:
        with self._lock:
            self.bytes_received += received
            self.token_requests += int(token_request)
            self.shards_received += int(shard)

    # ------------------------------------------------------------------ the bridge

    def reconstruct(self, xet_hash: str, size: int, dest: Path) -> None:
        """Write a Xet file's bytes to `dest`, read back from the CAS through the crates."""
        from hfgit import _native  # the extension; imported late so LocalHub loads without it

        token, expires_at = self.issue("localhub/bridge")
        _native._xet_reconstruct(
            f"http://127.0.0.1:{self._cas_port}", token, expires_at, xet_hash, size, str(dest)
        )


# ---------------------------------------------------------------------- the Hub's routes


def xet_upload_actions(
    handler: HubRequestHandler, request: RepoRequest, payload: dict[str, Any]
) -> dict[str, Any] | None:
    """The `upload` action for every new object of a `xet` batch answer, or None when the
    batch does not get `xet` (not offered, repo not Xet-enabled, no CAS)."""
    xet: XetState = handler.server.context.xet
    transfers = payload.get("transfers") or []
    if "xet" not in transfers or not xet.enabled_for(request.repo_type, request.repo_id):
        return None
    ref = payload.get("ref")
    name = ref.get("name") if isinstance(ref, dict) else None
    revision = name.removeprefix("refs/heads/") if isinstance(name, str) and name else "main"
    token, expires_at = xet.issue(f"{request.repo_type}/{request.repo_id}")
    server = handler.server
    href = (
        f"{server.scheme}://127.0.0.1:{server.server_port}/api/{_API_TYPES[request.repo_type]}/"
        f"{request.repo_id}/xet-write-token/{quote(revision, safe='')}"
    )
    return {
        "href": href,
        "header": {
            "X-Xet-Cas-Url": xet.cas_url,
            "X-Xet-Access-Token": token,
            "X-Xet-Token-Expiration": str(expires_at),
            "X-Xet-Session-Id": secrets.token_hex(8),
        },
    }


def serve_xet_token(
    handler: HubRequestHandler, identity: Identity, repo_type: str, repo_id: str, revision: str
) -> None:
    """`GET /api/{type}s/{repo}/xet-write-token/{rev}`: Bearer only; a read token may write a
    pull request's ref only."""
    context = handler.server.context
    xet: XetState = context.xet
    if identity.scheme != "Bearer" or identity.scope is None:
        _json(handler, 401, {"error": "Invalid credentials in Authorization header"})
        return
    if not context.store.exists(repo_id, repo_type):
        _json(handler, 404, {"error": "Repository not found"})
        return
    revision = unquote(revision)
    if identity.scope != "write" and not revision.startswith("refs/pr/"):
        _json(handler, 403, {"error": READ_TOKEN_ON_BRANCH})
        return
    if not xet.enabled_for(repo_type, repo_id):
        _json(handler, 400, {"error": "This repository is not Xet-enabled"})
        return
    xet.count(token_request=True)
    token, expires_at = xet.issue(f"{repo_type}/{repo_id}")
    _json(handler, 200, {"accessToken": token, "exp": expires_at, "casUrl": xet.cas_url})


def _json(handler: HubRequestHandler, status: int, payload: dict[str, Any]) -> None:
    handler.send_text(status, json.dumps(payload), content_type="application/json")


# ---------------------------------------------------------------------- the CAS front


class _CasFrontHandler(BaseHTTPRequestHandler):
    """Checks the CAS token, counts bytes, reads shards, and forwards to `local_cas_server`."""

    protocol_version = "HTTP/1.1"
    server_version = "LocalHubCAS"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _forward(self) -> None:
        xet: XetState = self.server.xet  # type: ignore[attr-defined]
        path = self.path.split("?", 1)[0]
        grant_upload = path.startswith(_GRANT_UPLOAD_PREFIX)  # the grant id is the capability
        token = xet.check(self.headers.get("Authorization"))
        if token is None and not grant_upload and path != "/health":
            self._reply(401, b'{"error":"invalid or expired CAS token"}')
            return
        length = int(self.headers.get("Content-Length") or 0)
        if length > _MAX_CAS_BODY:
            self._reply(413, b'{"error":"body too large"}')
            return
        body = self.rfile.read(length) if length else b""
        if xet.take_failure():
            self._reply(503, b'{"error":"LocalHub injected fault: CAS unavailable"}')
            return
        xet.count(received=len(body))
        files: list[tuple[str, str | None, int]] = []
        if self.command == "POST" and path in _SHARD_PATHS:
            from hfgit import _native

            try:
                files = _native._xet_shard_files(body)
            except Exception:
                files = []
        status, headers, answer = self._relay(xet, body)
        if files and 200 <= status < 300 and token is not None:
            xet.count(shard=True)
            repo_type, _, repo_id = token.repo_key.partition("/")
            for xet_hash, sha256, size in files:
                if sha256 is not None:
                    xet.store.record_xet(repo_id, repo_type, sha256, xet_hash, size)
        self._reply(status, answer, headers)

    do_GET = _forward
    do_HEAD = _forward
    do_POST = _forward
    do_PUT = _forward

    def _relay(self, xet: XetState, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", xet._cas_port, timeout=300)
        try:
            headers = {
                name: value
                for name, value in self.headers.items()
                if name.lower() not in ("connection", "content-length", "transfer-encoding")
            }
            connection.request(self.command, self.path, body=body or None, headers=headers)
            response = connection.getresponse()
            answer = response.read()
            kept = [
                (name, value)
                for name, value in response.getheaders()
                if name.lower() not in ("connection", "content-length", "transfer-encoding")
            ]
            return response.status, kept, answer
        finally:
            connection.close()

    def _reply(
        self, status: int, body: bytes, headers: list[tuple[str, str]] | None = None
    ) -> None:
        self.send_response(status)
        for name, value in headers or [("Content-Type", "application/json")]:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


def _free_port() -> int:
    with contextlib.closing(socket.socket()) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_for_health(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"local_cas_server exited with status {process.returncode}")
        with contextlib.suppress(OSError):
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            try:
                connection.request("GET", "/health")
                if connection.getresponse().status == 200:
                    return
            finally:
                connection.close()
        time.sleep(0.05)
    process.kill()
    raise RuntimeError("local_cas_server did not become healthy within 30 s")
