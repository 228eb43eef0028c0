"""LocalHub's Git LFS endpoints: batch, verify, locks, and the storage the hrefs point to.

What a client sees (hub-protocol.md sections 4, 5, 9, 10):

* `POST {repo}.git/info/lfs/objects/batch` and `.../objects/verify` check the token like the
  git endpoints (Basic with any user and the token as password, or Bearer) and answer JSON
  with content type `application/vnd.git-lfs+json`; errors are `{"message": ...}`.
* Storage hrefs live outside the LFS path, at `/_lfs_storage/...`, and authorize themselves
  with an HMAC signature and an expiry in the query, like presigned S3 URLs: clients must not
  send them credentials, and any Authorization header that reaches storage is recorded (the
  path only) so tests can assert that none did.
* Multipart uploads follow the Hub's shape: the upload action's header holds `chunk_size` and
  zero-padded part numbers mapping to part URLs, and its href is the completion URL.
* `.../info/lfs/locks*` answers 501, which git-lfs takes as "locking not supported" silently.

The functions here take the request handler; routing and the shared helpers they use
(authentication, body reading, simple responses) live in `http_handler`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode

from .lfs_faults import FaultCounters, magic_name, magic_status
from .lfs_store import LfsStore, StorageError, is_oid, part_count
from .repos import URL_PREFIXES
from .xet import xet_upload_actions

if TYPE_CHECKING:
    from .http_handler import HubRequestHandler, RepoRequest

__all__ = [
    "LFS_MEDIA_TYPE",
    "STORAGE_PREFIX",
    "AuthorizationSightings",
    "LfsContext",
    "LfsSettings",
    "UrlSigner",
    "serve_batch",
    "serve_locks",
    "serve_storage",
    "serve_unknown",
    "serve_verify",
]

LFS_MEDIA_TYPE = "application/vnd.git-lfs+json"
STORAGE_PREFIX = "/_lfs_storage/"
STORAGE_BLOCK = 1024 * 1024
MAX_JSON_BODY = 16 * 1024 * 1024
MAX_PARTS = 10_000  # S3's limit; bigger objects get bigger parts
DISCARD_LIMIT = 256 * 1024 * 1024
"""Bodies up to this size are read and discarded before an injected storage error, so the
client reliably gets the response instead of a reset connection."""

_ACCEPTED_CONTENT_TYPES = frozenset({LFS_MEDIA_TYPE, "application/json"})
_ACCEPTABLE = ("vnd.git-lfs+json", "application/json", "*/*", "application/*")
_STORAGE_PATH = re.compile(
    r"/_lfs_storage/(?P<oid>[0-9a-f]{64})(?:/(?P<complete>complete)|/parts/(?P<part>[1-9][0-9]{0,4}))?"
)
_OPERATION_METHODS = {
    "upload": ("PUT",),
    "part": ("PUT",),
    "download": ("GET", "HEAD"),
    "complete": ("POST",),
}


@dataclass
class LfsSettings:
    """Knobs a test may change while the hub runs (read by request threads per request)."""

    multipart_threshold: int
    multipart_chunk_size: int
    expires_in: int
    max_whole_download: int | None = None
    """Storage GETs may answer at most this many bytes: a whole-object GET of a bigger object,
    or a longer Range, is refused (the Hub serves objects over 50 GB only in ranges)."""
    storage_rate_limit: int | None = None
    """Bytes per second each storage request may move, in either direction (a CDN's cap)."""
    storage_ignores_range: bool = False
    """Storage GETs answer 200 with the whole object whatever Range they carry."""
    multipart_resume: bool = False
    """A new upload batch for an object whose multipart upload is unfinished hands out fresh
    part URLs for that same upload (as S3 allows), so the parts already sent still count."""
    bearer_accepted: bool = True


class AuthorizationSightings:
    """Paths of storage requests that carried an Authorization header (never the value)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._paths: list[str] = []

    def add(self, path: str) -> None:
        with self._lock:
            self._paths.append(path)

    def snapshot(self) -> list[str]:
        with self._lock:
            return list(self._paths)


class SignatureError(Exception):
    """A storage URL whose signature is wrong or expired."""


class UrlSigner:
    """Signs storage URLs with a per-hub random key, so they authorize themselves."""

    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)

    def query(self, path: str, params: Sequence[tuple[str, str]]) -> str:
        canonical = urlencode(params, safe="/")
        return f"{canonical}&sig={self._sign(path, canonical)}"

    def verify(self, path: str, query: str) -> dict[str, str]:
        """Check a signed query; returns its parameters or raises SignatureError."""
        pairs = parse_qsl(query, keep_blank_values=True)
        signatures = [value for name, value in pairs if name == "sig"]
        unsigned = [(name, value) for name, value in pairs if name != "sig"]
        params = dict(unsigned)
        if len(signatures) != 1 or len(params) != len(unsigned):
            raise SignatureError("the storage URL is not signed")
        expected = self._sign(path, urlencode(unsigned, safe="/"))
        if not hmac.compare_digest(expected, signatures[0]):
            raise SignatureError("the storage URL's signature does not match")
        expires = params.get("exp", "")
        if not expires.isdigit() or time.time() > int(expires):
            raise SignatureError("the storage URL has expired; request a new batch")
        return params

    def _sign(self, path: str, canonical: str) -> str:
        message = f"{path}?{canonical}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()


class OpenUploads:
    """Multipart uploads handed out and not completed yet, per (repo, oid, chunk size)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids: dict[tuple[str, str, int], str] = {}

    def get_or_start(self, key: tuple[str, str, int], reuse: bool) -> str:
        with self._lock:
            if not reuse or key not in self._ids:
                self._ids[key] = secrets.token_hex(8)
            return self._ids[key]

    def finish(self, key: tuple[str, str, int]) -> None:
        with self._lock:
            self._ids.pop(key, None)


@dataclass
class LfsContext:
    """Everything the LFS endpoints share across request threads."""

    store: LfsStore
    settings: LfsSettings
    signer: UrlSigner = field(default_factory=UrlSigner)
    counters: FaultCounters = field(default_factory=FaultCounters)
    authorization_seen: AuthorizationSightings = field(default_factory=AuthorizationSightings)
    open_uploads: OpenUploads = field(default_factory=OpenUploads)


# ---------------------------------------------------------------------- helpers


def send_json(
    handler: HubRequestHandler,
    status: int,
    payload: Mapping[str, Any],
    headers: list[tuple[str, str]] | None = None,
    *,
    content_type: str = LFS_MEDIA_TYPE,
) -> None:
    handler.send_text(status, json.dumps(payload) + "\n", headers, content_type=content_type)


def send_message(
    handler: HubRequestHandler,
    status: int,
    message: str,
    headers: list[tuple[str, str]] | None = None,
    *,
    content_type: str = LFS_MEDIA_TYPE,
) -> None:
    send_json(handler, status, {"message": message}, headers, content_type=content_type)


def _read_json(handler: HubRequestHandler) -> tuple[Any, str | None]:
    """Read a small JSON body: (value, None), or (None, why it is unusable)."""
    body = handler.read_body(MAX_JSON_BODY)
    if body is None:
        return None, "request body too large"
    try:
        return json.loads(body.decode("utf-8")), None
    except (UnicodeDecodeError, ValueError):
        return None, "request body is not valid JSON"


def _media_types_ok(handler: HubRequestHandler) -> bool:
    """Check Accept and Content-Type as the LFS API asks; answer 406/415 otherwise."""
    accept = (handler.headers.get("Accept") or "").lower()
    if accept and not any(kind in accept for kind in _ACCEPTABLE):
        send_message(handler, 406, f"Accept must allow {LFS_MEDIA_TYPE}")
        return False
    content_type = (handler.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if content_type not in _ACCEPTED_CONTENT_TYPES:
        send_message(handler, 415, f"Content-Type must be {LFS_MEDIA_TYPE}")
        return False
    return True


def _authorize(
    handler: HubRequestHandler, request: RepoRequest, *, write: bool, read_token_ok: bool = False
) -> bool:
    """The git endpoints' access rules with LFS-style answers (JSON bodies, LFS-Authenticate);
    uploads also need a write token unless `read_token_ok` (a pull request's upload, verify).
    With `LocalHub.lfs_bearer_accepted` off, Bearer credentials count as bad ones."""
    refused_bearer = (
        request.identity.scheme == "Bearer"
        and not handler.server.context.lfs.settings.bearer_accepted
    )
    decision = "challenge" if refused_bearer else handler.access(request, write=write)
    if decision == "challenge":
        send_message(
            handler,
            401,
            "Invalid username or password.",
            [("LFS-Authenticate", f'Basic realm="{handler.realm}"')],
        )
        return False
    if decision == "not_found":
        send_message(
            handler,
            404,
            "Repository not found",
            [("X-Error-Code", "RepoNotFound"), ("X-Error-Message", "Repository not found")],
        )
        return False
    if write and request.identity.scope != "write" and not read_token_ok:
        send_message(
            handler,
            403,
            "Forbidden: this token is read-only; uploading LFS objects needs a write token.",
        )
        return False
    return True


def _endpoint(handler: HubRequestHandler) -> str:
    server = handler.server
    return f"{server.scheme}://127.0.0.1:{server.server_port}"


def _repo_key(request: RepoRequest) -> str:
    return f"{request.repo_type}/{request.repo_id}"


# ---------------------------------------------------------------------- batch


def serve_batch(handler: HubRequestHandler, request: RepoRequest) -> None:
    """`POST {repo}.git/info/lfs/objects/batch`."""
    lfs = handler.server.context.lfs
    payload, problem = _read_json(handler)
    operation = payload.get("operation") if isinstance(payload, dict) else None
    if not _authorize(
        handler,
        request,
        write=operation != "download",
        read_token_ok=_names_no_branch(payload),
    ):
        return
    if not _media_types_ok(handler):
        return
    if problem is not None or not isinstance(payload, dict):
        send_message(handler, 400 if problem else 422, problem or "body must be a JSON object")
        return
    objects = payload.get("objects")
    transfers = payload.get("transfers", ["basic"])
    if operation not in ("upload", "download"):
        send_message(handler, 422, "operation must be 'upload' or 'download'")
        return
    if not isinstance(objects, list) or not all(isinstance(obj, dict) for obj in objects):
        send_message(handler, 422, "objects must be a list of {oid, size} objects")
        return
    if transfers is None:
        transfers = ["basic"]
    if not isinstance(transfers, list):
        send_message(handler, 422, "transfers must be a list of transfer adapter names")
        return

    repo = _repo_key(request)
    if "batch-500" in request.repo_id:
        send_message(handler, 500, "LocalHub injected fault (batch-500): internal error")
        return
    if "batch-429" in request.repo_id and lfs.counters.bump(("batch-429", repo)) < 2:
        send_message(
            handler, 429, "LocalHub injected fault (batch-429): slow down", [("Retry-After", "1")]
        )
        return

    hash_algo = payload.get("hash_algo")
    sha256 = hash_algo is None or re.sub(r"[^a-z0-9]", "", str(hash_algo).lower()) == "sha256"
    entries: list[tuple[dict[str, Any], str | None, int]] = []
    for raw in objects:
        oid, size = raw.get("oid"), raw.get("size")
        size_ok = isinstance(size, int) and not isinstance(size, bool) and size >= 0
        entry: dict[str, Any] = {"oid": oid if isinstance(oid, str) else "", "size": size}
        if not size_ok:
            entry["size"] = 0
        if not sha256:
            entry["error"] = {"code": 409, "message": f"unsupported hash_algo {hash_algo!r}"}
        elif not is_oid(oid) or not size_ok:
            entry["error"] = {"code": 422, "message": "invalid object: needs a sha256 oid and size"}
        usable = "error" not in entry  # implies a valid oid and size
        entries.append((entry, oid if usable else None, size if usable else 0))

    store = lfs.store
    pending: list[tuple[dict[str, Any], str, int]] = []
    for entry, oid, size in entries:
        if oid is None:
            continue
        status = magic_status(magic_name(oid), "status-batch-")
        if status is not None:
            entry["error"] = {
                "code": status,
                "message": f"LocalHub magic fault status-batch-{status}",
            }
        elif store.in_repo(request.repo_id, request.repo_type, oid):
            if operation == "download":
                entry["actions"] = {"download": _download_action(handler, request, oid, size)}
            # upload: already stored for this repo, so no actions (the client skips it)
        elif operation == "download":
            entry["error"] = {"code": 404, "message": "Object does not exist"}
        else:
            pending.append((entry, oid, size))

    xet_action = (
        xet_upload_actions(handler, request, payload) if operation == "upload" and pending else None
    )
    if xet_action is not None or (
        operation == "upload" and not pending and _xet_offered(handler, request, transfers)
    ):
        for entry, _, _ in pending:
            entry["actions"] = {"upload": xet_action}
        response = {
            "transfer": "xet",
            "objects": [entry for entry, _, _ in entries],
            "hash_algo": "sha256",
        }
        send_json(handler, 200, response)
        return

    settings = lfs.settings
    multipart = "multipart" in transfers and any(
        size >= settings.multipart_threshold for _, _, size in pending
    )
    for entry, oid, size in pending:
        upload = (
            _multipart_action(handler, request, oid, size)
            if multipart
            else _signed_action(handler, f"/_lfs_storage/{oid}", request, "upload", size)
        )
        entry["actions"] = {"upload": upload, "verify": _verify_action(handler, request)}
    response = {
        "transfer": "multipart" if multipart else "basic",
        "objects": [entry for entry, _, _ in entries],
        "hash_algo": "sha256",
    }
    send_json(handler, 200, response)


def _xet_offered(handler: HubRequestHandler, request: RepoRequest, transfers: list[Any]) -> bool:
    return "xet" in transfers and handler.server.context.xet.enabled_for(
        request.repo_type, request.repo_id
    )


def _names_no_branch(payload: Any) -> bool:
    """An upload batch whose `ref` is missing, null or a pull request's `refs/pr/N`: the Hub
    refuses a non-writer's upload that names a branch and lets pull request uploads through
    (hub-2026.md rows 4-5; huggingface.js and hf-hub send no `ref` for pull requests). That a
    read token's upload passes is *inferred*: the Hub states it for Xet write tokens of
    `refs/pr/N`."""
    if not isinstance(payload, dict):
        return False
    ref = payload.get("ref")
    if ref is None:
        return True
    name = ref.get("name") if isinstance(ref, dict) else None
    return name is None or (isinstance(name, str) and name.startswith("refs/pr/"))


def _signed_action(
    handler: HubRequestHandler,
    path: str,
    request: RepoRequest,
    operation: str,
    size: int,
    extra: Sequence[tuple[str, str]] = (),
) -> dict[str, Any]:
    href = _signed_href(handler, path, request, operation, size, extra)
    return {"href": href, "expires_in": handler.server.context.lfs.settings.expires_in}


def _signed_href(
    handler: HubRequestHandler,
    path: str,
    request: RepoRequest,
    operation: str,
    size: int,
    extra: Sequence[tuple[str, str]] = (),
) -> str:
    lfs = handler.server.context.lfs
    expires = int(time.time() + lfs.settings.expires_in)
    params = [
        ("repo", _repo_key(request)),
        ("op", operation),
        ("size", str(size)),
        *extra,
        ("exp", str(expires)),
    ]
    return f"{_endpoint(handler)}{path}?{lfs.signer.query(path, params)}"


def _download_action(
    handler: HubRequestHandler, request: RepoRequest, oid: str, size: int
) -> dict[str, Any]:
    return _signed_action(handler, f"/_lfs_storage/{oid}", request, "download", size)


def _multipart_action(
    handler: HubRequestHandler, request: RepoRequest, oid: str, size: int
) -> dict[str, Any]:
    lfs = handler.server.context.lfs
    settings = lfs.settings
    chunk_size = max(settings.multipart_chunk_size, part_count(size, MAX_PARTS), 1)
    key = (_repo_key(request), oid, chunk_size)
    upload_id = lfs.open_uploads.get_or_start(key, settings.multipart_resume)
    # S3 names the upload `uploadId` in its part URLs; clients may compare it across batches.
    extra = [("uploadId", upload_id), ("chunk", str(chunk_size))]
    header = {"chunk_size": str(chunk_size)}
    for number in range(1, part_count(size, chunk_size) + 1):
        path = f"/_lfs_storage/{oid}/parts/{number}"
        header[f"{number:05d}"] = _signed_href(handler, path, request, "part", size, extra)
    action = _signed_action(
        handler, f"/_lfs_storage/{oid}/complete", request, "complete", size, extra
    )
    action["header"] = header
    return action


def _verify_action(handler: HubRequestHandler, request: RepoRequest) -> dict[str, Any]:
    prefix = URL_PREFIXES[request.repo_type]
    href = f"{_endpoint(handler)}/{prefix}{request.repo_id}.git/info/lfs/objects/verify"
    return {"href": href, "expires_in": handler.server.context.lfs.settings.expires_in}


# ---------------------------------------------------------------------- verify, locks


def serve_verify(handler: HubRequestHandler, request: RepoRequest) -> None:
    """`POST {repo}.git/info/lfs/objects/verify` with `{"oid", "size"}`: 200 if stored."""
    lfs = handler.server.context.lfs
    payload, problem = _read_json(handler)
    # A read token may verify: a pull request's upload is verified like any other (*inferred*).
    if not _authorize(handler, request, write=True, read_token_ok=True) or not _media_types_ok(
        handler
    ):
        return
    if problem is not None:
        send_message(handler, 400, problem)
        return
    oid = payload.get("oid") if isinstance(payload, dict) else None
    size = payload.get("size") if isinstance(payload, dict) else None
    if not is_oid(oid) or not isinstance(size, int) or isinstance(size, bool) or size < 0:
        send_message(handler, 422, "verify needs a JSON body {oid: <sha256 hex>, size: <int>}")
        return
    assert isinstance(oid, str)
    repo = _repo_key(request)
    if "verify-fail" in request.repo_id and lfs.counters.first(("verify-fail", repo, oid)):
        send_message(handler, 503, "LocalHub injected fault (verify-fail): try again")
        return
    stored = lfs.store.object_size(oid)
    if stored is None:
        send_message(handler, 404, "Object does not exist")
        return
    if stored != size:
        send_message(handler, 422, f"Object size is {stored}, not {size}")
        return
    lfs.store.add_to_repo(request.repo_id, request.repo_type, oid)
    send_json(handler, 200, {"oid": oid, "size": size})


def serve_locks(handler: HubRequestHandler, request: RepoRequest) -> None:
    """Every locks endpoint: 501, which git-lfs reads as "no locking here" without warning."""
    send_message(handler, 501, "LocalHub does not implement the Git LFS locking API")


def serve_unknown(handler: HubRequestHandler, request: RepoRequest) -> None:
    send_message(handler, 404, "Not Found")


# ---------------------------------------------------------------------- storage


def serve_storage(handler: HubRequestHandler, path: str, query: str) -> None:
    """Requests to the signed storage URLs handed out by the batch endpoint."""
    lfs = handler.server.context.lfs
    match = _STORAGE_PATH.fullmatch(path)
    if match is None:
        _storage_error(handler, 404, "Not Found")
        return
    try:
        params = lfs.signer.verify(path, query)
    except SignatureError as exc:
        _storage_error(handler, 403, str(exc))
        return
    operation = params.get("op", "")
    shape = "complete" if match["complete"] else "part" if match["part"] else "object"
    expected_shape = {"complete": "complete", "part": "part"}.get(operation, "object")
    repo_type, _, repo_id = params.get("repo", "").partition("/")
    size_text = params.get("size", "")
    if operation not in _OPERATION_METHODS or shape != expected_shape or not size_text.isdigit():
        _storage_error(handler, 403, "the storage URL does not allow this")
        return
    methods = _OPERATION_METHODS[operation]
    if handler.command not in methods:
        _storage_error(handler, 405, "Method Not Allowed", [("Allow", ", ".join(methods))])
        return
    target = _StorageTarget(
        oid=match["oid"],
        repo_type=repo_type,
        repo_id=repo_id,
        size=int(size_text),
        params=params,
        part=int(match["part"]) if match["part"] else None,
    )
    if operation in ("upload", "part", "download") and _storage_fault(handler, target, operation):
        return
    if operation == "upload":
        _serve_upload(handler, target)
    elif operation == "part":
        _serve_part(handler, target)
    elif operation == "complete":
        _serve_complete(handler, target)
    else:
        _serve_download(handler, target)


@dataclass(frozen=True)
class _StorageTarget:
    oid: str
    repo_type: str
    repo_id: str
    size: int
    params: dict[str, str]
    part: int | None

    @property
    def repo(self) -> str:
        return f"{self.repo_type}/{self.repo_id}"


def _storage_error(
    handler: HubRequestHandler,
    status: int,
    message: str,
    headers: list[tuple[str, str]] | None = None,
) -> None:
    """Answer a storage request with an error before reading its body: read and drop the body
    first (up to DISCARD_LIMIT), so the client gets the response rather than a connection reset
    while it is still sending."""
    handler.discard_body(DISCARD_LIMIT)
    extra = [("Retry-After", "1")] if status == 429 else []
    send_message(
        handler, status, message, [*extra, *(headers or [])], content_type="application/json"
    )


def _storage_fault(handler: HubRequestHandler, target: _StorageTarget, operation: str) -> bool:
    """Apply repo-name and magic-content faults; True if the request was answered."""
    counters = handler.server.context.lfs.counters
    oid, repo = target.oid, target.repo
    direction = "download" if operation == "download" else "upload"
    if "storage-500-once" in target.repo_id and counters.first(
        ("storage-500-once", repo, oid, direction)
    ):
        _storage_error(handler, 503, "LocalHub injected fault (storage-500-once)")
        return True
    name = magic_name(oid)
    if name is None:
        return False
    if direction == "upload":
        status = magic_status(name, "status-storage-")
        if status is not None:
            _storage_error(handler, status, f"LocalHub magic fault {name}")
            return True
        if name == "storage-upload-retry" and counters.first((name, repo)):
            _storage_error(handler, 500, f"LocalHub magic fault {name}")
            return True
        if name == "storage-upload-retry-later" and counters.first((name, repo)):
            _storage_error(handler, 429, f"LocalHub magic fault {name}")
            return True
        if name == "storage-upload-drop" and counters.first((name, repo)):
            _drop_mid_upload(handler)
            return True
    elif name == "storage-download-retry-later" and counters.first((name, repo)):
        _storage_error(handler, 429, f"LocalHub magic fault {name}")
        return True
    return False


def _drop_mid_upload(handler: HubRequestHandler) -> None:
    """Read about half of the body, then close the connection without answering."""
    handler.close_connection = True
    wanted = max(1, handler.content_length() // 2) if not handler.is_chunked() else STORAGE_BLOCK
    received = 0
    if handler.has_body():
        for block in handler.iter_body(STORAGE_BLOCK):
            received += len(block)
            if received >= wanted:
                break


def _length_mismatch(handler: HubRequestHandler, expected: int, what: str) -> bool:
    """Refuse (before reading the body) a Content-Length that cannot be right."""
    if handler.is_chunked() or handler.headers.get("Content-Length") is None:
        return False
    declared = handler.content_length()
    if declared == expected:
        return False
    _storage_error(handler, 400, f"Content-Length {declared} does not match the {what} {expected}")
    return True


def _serve_upload(handler: HubRequestHandler, target: _StorageTarget) -> None:
    if _length_mismatch(handler, target.size, "object size"):
        return
    if _receive(
        handler, lambda body: _store(handler).receive_object(body, target.oid, target.size)
    ):
        _store(handler).add_to_repo(target.repo_id, target.repo_type, target.oid)
        handler.send_text(200, "", content_type="text/plain")


def _serve_part(handler: HubRequestHandler, target: _StorageTarget) -> None:
    chunk_text, upload_id = target.params.get("chunk", ""), target.params.get("uploadId", "")
    number = target.part or 0
    if not chunk_text.isdigit() or int(chunk_text) <= 0:
        _storage_error(handler, 403, "the storage URL does not allow this")
        return
    chunk_size = int(chunk_text)
    parts = part_count(target.size, chunk_size)
    if not 1 <= number <= parts:
        _storage_error(handler, 400, f"the object has only {parts} parts")
        return
    expected = min(chunk_size, target.size - (number - 1) * chunk_size)
    if _length_mismatch(handler, expected, f"size of part {number}, which is"):
        return
    etags: list[str] = []

    def receive(body: Iterable[bytes]) -> None:
        etags.append(_store(handler).receive_part(upload_id, number, body, expected))

    if _receive(handler, receive):
        handler.send_text(200, "", [("ETag", etags[0])], content_type="text/plain")


def _serve_complete(handler: HubRequestHandler, target: _StorageTarget) -> None:
    payload, problem = _read_json(handler)
    if problem is not None:
        send_message(handler, 400, problem, content_type="application/json")
        return
    raw_parts = payload.get("parts") if isinstance(payload, dict) else None
    parts: list[tuple[int, str]] = []
    valid = isinstance(payload, dict) and payload.get("oid") == target.oid
    if valid and isinstance(raw_parts, list):
        for raw in raw_parts:
            number = raw.get("partNumber") if isinstance(raw, dict) else None
            etag = raw.get("etag") if isinstance(raw, dict) else None
            if not isinstance(number, int) or isinstance(number, bool) or not isinstance(etag, str):
                valid = False
                break
            parts.append((number, etag))
    else:
        valid = False
    if not valid:
        send_message(
            handler,
            400,
            'completion needs {"oid": <this object>, "parts": [{"partNumber": n, "etag": e}]}',
            content_type="application/json",
        )
        return
    chunk_text = target.params.get("chunk", "")
    if not chunk_text.isdigit() or int(chunk_text) <= 0:
        send_message(
            handler, 403, "the storage URL does not allow this", content_type="application/json"
        )
        return
    store = _store(handler)
    try:
        store.complete_multipart(
            target.params.get("uploadId", ""), target.oid, target.size, int(chunk_text), parts
        )
    except StorageError as exc:
        send_message(handler, exc.status, exc.message, content_type="application/json")
        return
    handler.server.context.lfs.open_uploads.finish((target.repo, target.oid, int(chunk_text)))
    store.add_to_repo(target.repo_id, target.repo_type, target.oid)
    send_json(
        handler, 200, {"oid": target.oid, "size": target.size}, content_type="application/json"
    )


def _receive(handler: HubRequestHandler, consume: Callable[[Iterable[bytes]], None]) -> bool:
    """Feed the request body to `consume`; on StorageError answer it and return False."""
    rate = handler.server.context.lfs.settings.storage_rate_limit
    block = _paced_block(rate)
    body: Iterable[bytes] = handler.iter_body(block) if handler.has_body() else ()
    if rate is not None:
        body = _paced(body, rate)
    try:
        consume(body)
    except StorageError as exc:
        send_message(handler, exc.status, exc.message, content_type="application/json")
        return False
    return True


def _store(handler: HubRequestHandler) -> LfsStore:
    return handler.server.context.lfs.store


def _serve_download(handler: HubRequestHandler, target: _StorageTarget) -> None:
    settings = handler.server.context.lfs.settings
    lfs = handler.server.context.lfs
    try:
        lfs.store.materialize(target.oid)  # an object that arrived through Xet: the bridge
    except Exception as exc:
        send_message(handler, 502, f"LFS bridge failed: {exc}", content_type="application/json")
        return
    try:
        source = open(lfs.store.object_path(target.oid), "rb")  # noqa: SIM115
    except OSError:
        send_message(handler, 404, "Object does not exist", content_type="application/json")
        return
    with source:
        stat = os.fstat(source.fileno())
        size = stat.st_size
        # Like a web server's: the file's identity, not its content (which the oid names).
        etag = f'"{stat.st_mtime_ns:x}-{size:x}"'
        header = None if settings.storage_ignores_range else handler.headers.get("Range")
        requested = _parse_range(header, size)
        if requested == "unsatisfiable":
            handler.send_text(
                416, "", [("Content-Range", f"bytes */{size}")], content_type="text/plain"
            )
            return
        start, end = requested if isinstance(requested, tuple) else (0, size)
        limit = settings.max_whole_download
        if limit is not None and end - start > limit:
            what = "a range" if isinstance(requested, tuple) else "the whole object"
            send_message(
                handler,
                400,
                f"LocalHub serves at most {limit} bytes per GET (max_whole_download), and "
                f"{what} is {end - start} bytes: request it in Range requests of at most "
                f"{limit} bytes",
                content_type="application/json",
            )
            return
        name = magic_name(target.oid)
        drop = name == "storage-download-drop" and lfs.counters.first((name, target.repo))
        handler.send_response(206 if isinstance(requested, tuple) else 200)
        handler.send_header("Content-Type", "application/octet-stream")
        handler.send_header("Content-Length", str(end - start))
        handler.send_header("ETag", etag)
        if not settings.storage_ignores_range:
            handler.send_header("Accept-Ranges", "bytes")
        if isinstance(requested, tuple):
            handler.send_header("Content-Range", f"bytes {start}-{end - 1}/{size}")
        if drop:
            handler.close_connection = True
        handler.end_headers()
        if handler.command == "HEAD":
            return
        count = (end - start) // 2 if drop else end - start
        if name == "storage-download-corrupt":
            source.seek(start)
            data = bytearray(source.read(count))
            if data:
                data[0] ^= 0xFF
            handler.wfile.write(bytes(data))
        else:
            rates = [r for r in (settings.storage_rate_limit, handler.slowed_to) if r is not None]
            _send_file(handler, source, start, count, min(rates, default=None))


def _send_file(
    handler: HubRequestHandler, source: IO[bytes], start: int, count: int, rate: int | None
) -> None:
    if count <= 0:
        return
    try:
        if rate is None:
            handler.connection.sendfile(source, start, count)
            return
        block = _paced_block(rate)
        began = time.monotonic()
        sent = 0
        while sent < count:
            sent += handler.connection.sendfile(source, start + sent, min(block, count - sent))
            _pace(began, sent, rate)
    except OSError:
        handler.close_connection = True  # the client went away mid-download


def _paced_block(rate: int | None) -> int:
    """Block size for a paced transfer: about 20 blocks a second, so the rate is smooth."""
    if rate is None:
        return STORAGE_BLOCK
    return max(16 * 1024, min(STORAGE_BLOCK, rate // 20))


def _pace(began: float, moved: int, rate: int) -> None:
    """Sleep until `moved` bytes since `began` are within `rate` bytes per second."""
    ahead = began + moved / rate - time.monotonic()
    if ahead > 0:
        time.sleep(ahead)


def _paced(blocks: Iterable[bytes], rate: int) -> Iterator[bytes]:
    began = time.monotonic()
    moved = 0
    for block in blocks:
        yield block
        moved += len(block)
        _pace(began, moved, rate)


def _parse_range(header: str | None, size: int) -> tuple[int, int] | str | None:
    """A single `bytes=` range as [start, end), "unsatisfiable", or None to send everything
    (no header, or one this server ignores, such as several ranges)."""
    if header is None:
        return None
    match = re.fullmatch(r"\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*", header)
    if match is None or (not match[1] and not match[2]):
        return None
    if not match[1]:  # suffix range: the last N bytes
        length = int(match[2])
        if length == 0:
            return "unsatisfiable"
        return max(0, size - length), size
    start = int(match[1])
    end = min(size, int(match[2]) + 1) if match[2] else size
    if start >= size or end <= start:
        return "unsatisfiable"
    return start, end
