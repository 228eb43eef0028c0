"""`LocalHub`: a throwaway Hugging Face Hub git server on 127.0.0.1 for tests and demos.

It serves the Hub's URL layout (models at `/{repo_id}`, datasets at `/datasets/{repo_id}`, spaces
at `/spaces/{repo_id}`) through the real `git http-backend`, with the Hub's token rules, and the
Hub's Git LFS side (batch API, self-authorizing storage URLs, multipart uploads, verify, push
checks), so a client can be tested end to end without network access or a Hub account. This
module owns the lifecycle (root directory, server thread, clean shutdown) and the test-facing
API; the HTTP behaviour lives in `http_handler` and `lfs_http`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import weakref
from pathlib import Path
from types import TracebackType
from typing import Callable, Literal

from .discussions import Discussion, DiscussionStore
from .errors import LocalHubError
from .faults import HubFaults
from .git_cgi import ProcessRegistry, clean_git_env, find_git_tools
from .http_handler import HandlerContext, HubHTTPServer
from .hub_api import Account
from .lfs_http import LfsContext, LfsSettings
from .lfs_store import LfsStore, is_oid
from .repos import URL_PREFIXES, RepoStore, validate_repo_id, validate_repo_type
from .state import RequestLog, RequestRecord, TokenRegistry
from .tls import TlsFiles, generate_tls_files, server_ssl_context
from .xet import XetState

__all__ = ["LocalHub"]

_SHUTDOWN_TIMEOUT = 5.0
DEFAULT_MULTIPART_THRESHOLD = 5 * 10**9
"""Objects this big or bigger go up in parts when the client offers `multipart` (S3's 5 GB
single-PUT limit, which is why the Hub needs multipart at all)."""
DEFAULT_MULTIPART_CHUNK_SIZE = 64 * 1024 * 1024
DEFAULT_LFS_EXPIRES_IN = 900
"""Lifetime of LFS actions in seconds (the Hub's presigned S3 URLs use 900)."""


class LocalHub:
    """A local git server that behaves like the Hugging Face Hub for git clients.

    LocalHub needs git on the machine: `git` on PATH and its `git-http-backend` (part of every
    full git install). It listens on 127.0.0.1 only, on a free port chosen at start().

    Typical use::

        with LocalHub() as hub:
            url = hub.create_repo("user/model")
            # clone `url` with username anything and password hub.write_token

    Tokens: one write and one read token are created with the hub (`write_token`,
    `read_token`); more with `add_token`. Any valid token may access every repo; a read token's
    pushes reach the server but every branch update is refused (`DENIED update
    refs/heads/main: forbidden`), as on the Hub. Tokens are kept only in memory and never
    written to disk or to `requests`. Every token belongs to one account, `username` /
    `fullname`, which `GET /api/whoami-v2` reports.

    Hub API (see `hfgit.testing.hub_api`): `POST /api/repos/create`, `GET /api/whoami-v2`,
    `GET /api/{type}s/{repo_id}`, and discussions: `POST /api/{type}s/{repo_id}/discussions`
    with `pullRequest: true` opens a pull request whose commits live at `refs/pr/{num}` (created
    at `main`'s tip). A push may update `refs/pr/N` only once pull request N exists, and a read
    token may push there (*inferred* for git: the Hub states it for Xet tokens) and upload its
    LFS objects when the batch names no branch. `set_discussions_enabled(repo_id, False)` turns
    a repo's discussions off (opening one answers 403). `lfs_bearer_accepted = False` makes the
    LFS endpoints refuse Bearer credentials (401), like a Basic-only LFS server.

    `root=None` uses a temporary directory that stop() deletes; a given root is kept. In HTTPS
    mode the certificates are generated into `<root>/tls` and `ca_file` names the CA to trust.
    A stopped hub cannot be restarted: make a new one (it may reuse the same root).

    Git LFS: the batch endpoint is `{repo_url}.git/info/lfs/objects/batch`. Objects are stored
    once per hub (`lfs_object_path`) and belong to the repos they were uploaded for
    (`lfs_objects`); pushes of LFS pointers to objects the repo does not have are refused, as
    are non-LFS files over 10 MiB and binary files over 1 MB. Storage URLs authorize themselves
    and must not receive credentials (`storage_authorization_seen`). An upload batch that
    offers `multipart` gets multipart actions when some object needing upload is at least
    `multipart_threshold` bytes; parts are `multipart_chunk_size` bytes. Both may be changed
    at any time, like `lfs_action_expires_in` (seconds before LFS actions expire; a storage
    URL used later is answered 403) and the storage knobs below. Faults can be injected by
    object content (`hfgit.testing.magic_content`) or repo name (see
    `hfgit.testing.lfs_faults`).

    Storage knobs, for download and network tests: `max_whole_download` (bytes) makes storage
    refuse (400) any GET that would answer more than that, as the Hub serves objects over
    50 GB only in Range requests; `storage_rate_limit` (bytes per second) caps every storage
    request in either direction, like a CDN's per-connection cap; `storage_ignores_range`
    answers every GET with 200 and the whole object; `multipart_resume` makes a new upload
    batch for an object whose multipart upload is unfinished hand out new URLs for the same
    upload, so the parts already sent count (otherwise every batch starts a new upload).
    Storage GETs carry an `ETag` made from the stored file's modification time and size. These
    knobs are LFS storage's only: the Xet CAS (see `xet_available`) has none of them.
    """

    def __init__(
        self,
        root: str | os.PathLike[str] | None = None,
        *,
        https: bool = False,
        multipart_threshold: int = DEFAULT_MULTIPART_THRESHOLD,
        multipart_chunk_size: int = DEFAULT_MULTIPART_CHUNK_SIZE,
        lfs_action_expires_in: int = DEFAULT_LFS_EXPIRES_IN,
        max_whole_download: int | None = None,
        storage_rate_limit: int | None = None,
        storage_ignores_range: bool = False,
        multipart_resume: bool = False,
        username: str = "localhub-user",
        fullname: str = "LocalHub User",
    ) -> None:
        self._lfs_settings = LfsSettings(
            multipart_threshold=_checked_int("multipart_threshold", multipart_threshold, 0),
            multipart_chunk_size=_checked_int("multipart_chunk_size", multipart_chunk_size, 1),
            expires_in=_checked_int("lfs_action_expires_in", lfs_action_expires_in, 1),
            max_whole_download=_checked_optional("max_whole_download", max_whole_download),
            storage_rate_limit=_checked_optional("storage_rate_limit", storage_rate_limit),
            storage_ignores_range=bool(storage_ignores_range),
            multipart_resume=bool(multipart_resume),
        )
        git = find_git_tools()
        if root is None:
            self._root = Path(tempfile.mkdtemp(prefix="localhub-")).resolve()
            # Remove the temp root even if the hub is never started or stopped.
            self._cleanup: Callable[[], object] | None = weakref.finalize(
                self, shutil.rmtree, str(self._root), ignore_errors=True
            )
        else:
            self._root = Path(root).resolve()
            self._root.mkdir(parents=True, exist_ok=True)
            self._cleanup = None
        self._https = https
        self._lock = threading.Lock()
        self._state: Literal["new", "running", "stopped"] = "new"
        self._server: HubHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._tls: TlsFiles | None = None
        self._tokens = TokenRegistry()
        self._log = RequestLog()
        self.faults = HubFaults()
        """Faults to inject into upcoming requests; see HubFaults."""
        self._git_env = clean_git_env(self._root)
        self._store = RepoStore(self._root / "repos", git, self._git_env)
        self._lfs = LfsContext(LfsStore(self._root, self._store), self._lfs_settings)
        self._xet = XetState(self._root, self._lfs.store)
        self._discussions = DiscussionStore(self._store)
        self._account = Account(username=username, fullname=fullname)
        self._context = HandlerContext(
            store=self._store,
            tokens=self._tokens,
            faults=self.faults,
            log=self._log,
            git=git,
            cgi_env={
                **self._git_env,
                "GIT_PROJECT_ROOT": str(self._store.root),
                "GIT_HTTP_EXPORT_ALL": "1",
                # For the pre-receive hook: the git to run and where LFS objects are stored.
                "HFHUB_GIT": git.git,
                "HFHUB_LFS_OBJECTS": str(self._lfs.store.objects_root),
                "HFHUB_XET_FILES": str(self._lfs.store.xet_root),
            },
            processes=ProcessRegistry(),
            lfs=self._lfs,
            discussions=self._discussions,
            account=self._account,
            xet=self._xet,
        )
        self._write_token = self.add_token("write")
        self._read_token = self.add_token("read")

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> LocalHub:
        """Start serving in a background thread; returns self. Calling it again is a no-op."""
        with self._lock:
            if self._state == "running":
                return self
            if self._state == "stopped":
                raise LocalHubError("this LocalHub was stopped; create a new LocalHub instead")
            ssl_context = None
            if self._https:
                self._tls = generate_tls_files(self._root / "tls")
                ssl_context = server_ssl_context(self._tls)
            self._xet.start()
            server = HubHTTPServer(self._context, ssl_context)
            thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.05},  # keeps stop() fast
                name=f"localhub-{server.server_port}",
                daemon=True,
            )
            thread.start()
            self._server, self._thread, self._state = server, thread, "running"
            return self

    def stop(self) -> None:
        """Stop serving, close every connection, kill running git processes, and delete a
        temporary root. Safe to call more than once."""
        with self._lock:
            if self._state == "stopped":
                return
            server, thread = self._server, self._thread
            self._state = "stopped"
        if server is not None and thread is not None:
            server.shutdown()
            server.server_close()
            thread.join(_SHUTDOWN_TIMEOUT)
            self._context.processes.kill_all()
            server.close_connections(_SHUTDOWN_TIMEOUT)
        self._xet.stop()
        if self._cleanup is not None:
            self._cleanup()

    def __enter__(self) -> LocalHub:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.endpoint if self._state == "running" else self._state
        return f"<LocalHub {where} root={str(self._root)!r}>"

    # ------------------------------------------------------------------ addresses

    @property
    def root(self) -> Path:
        """Directory holding the repos (and the TLS files in HTTPS mode)."""
        return self._root

    @property
    def endpoint(self) -> str:
        """Base URL, e.g. `http://127.0.0.1:41234`; what clients use as endpoint/HF_ENDPOINT."""
        server = self._running_server()
        return f"{server.scheme}://127.0.0.1:{server.server_port}"

    @property
    def ca_file(self) -> str | None:
        """Path of the CA certificate (PEM) to trust in HTTPS mode; None for plain HTTP."""
        return str(self._tls.ca_cert) if self._tls is not None else None

    def repo_url(self, repo_id: str, repo_type: str = "model") -> str:
        """Clone URL of a repo (no `.git`, no credentials), whether or not it exists."""
        validate_repo_type(repo_type)
        validate_repo_id(repo_id)
        return f"{self.endpoint}/{URL_PREFIXES[repo_type]}{repo_id}"

    def repo_path(self, repo_id: str, repo_type: str = "model") -> Path:
        """The bare repo on disk behind a repo (it may not exist)."""
        return self._store.path(repo_id, repo_type)

    # ------------------------------------------------------------------ tokens

    @property
    def write_token(self) -> str:
        """A write-scope token created with the hub."""
        return self._write_token

    @property
    def read_token(self) -> str:
        """A read-scope token created with the hub."""
        return self._read_token

    def add_token(self, scope: Literal["read", "write"] = "write") -> str:
        """Create and return a new token (`hf_` + 34 letters and digits) of `scope`."""
        return self._tokens.issue(scope)

    def revoke_token(self, token: str) -> None:
        """Make `token` invalid from now on (its requests get 401). Revoking twice is fine."""
        if not self._tokens.revoke(token):
            raise LocalHubError("revoke_token: that token was not issued by this LocalHub")

    # ------------------------------------------------------------------ repos

    def create_repo(
        self, repo_id: str, repo_type: str = "model", private: bool = False, *, xet: bool = True
    ) -> str:
        """Create a repo the way the Hub does and return its clone URL.

        `xet=True` (the default, as every Hub repo is Xet-backed now) makes upload batches that
        offer `xet` answer it, when the hub has its CAS (`xet_available`); `xet=False` answers
        them `basic`/`multipart`, as a repo from before Xet.

        The repo gets one commit on `main`, by `LocalHub <hub@localhost>`, holding only the
        Hub's default `.gitattributes` for the repo type. Raises LocalHubError if it exists,
        ValueError for an invalid repo_id or repo_type. The hub must be started (the URL
        contains its port).
        """
        url = self.repo_url(repo_id, repo_type)
        self._store.create(repo_id, repo_type, private=private)
        key = f"{repo_type}/{repo_id}"
        if xet:
            self._xet.disabled.discard(key)
        else:
            self._xet.disabled.add(key)
        return url

    def delete_repo(self, repo_id: str, repo_type: str = "model") -> None:
        """Delete a repo; raises LocalHubError if it does not exist."""
        self._store.delete(repo_id, repo_type)

    # ------------------------------------------------------------------ account, discussions

    @property
    def username(self) -> str:
        """The account every token belongs to (`whoami`'s `name`; the default namespace)."""
        return self._account.username

    @property
    def fullname(self) -> str:
        """The account's full name (`whoami`'s `fullname`)."""
        return self._account.fullname

    def set_discussions_enabled(
        self, repo_id: str, enabled: bool, repo_type: str = "model"
    ) -> None:
        """Turn a repo's discussions and pull requests on or off, as its settings on the Hub do."""
        if not self._store.exists(repo_id, repo_type):
            raise LocalHubError(f"{repo_type} repo {repo_id!r} does not exist on this LocalHub")
        self._discussions.set_enabled(repo_id, repo_type, enabled)

    def discussions(self, repo_id: str, repo_type: str = "model") -> list[Discussion]:
        """The repo's discussions and pull requests, oldest first."""
        validate_repo_type(repo_type)
        validate_repo_id(repo_id)
        return self._discussions.discussions(repo_id, repo_type)

    # ------------------------------------------------------------------ Git LFS

    @property
    def multipart_threshold(self) -> int:
        """Smallest object size (bytes) that makes an upload batch choose `multipart`."""
        return self._lfs_settings.multipart_threshold

    @multipart_threshold.setter
    def multipart_threshold(self, size: int) -> None:
        self._lfs_settings.multipart_threshold = _checked_int("multipart_threshold", size, 0)

    @property
    def multipart_chunk_size(self) -> int:
        """Size (bytes) of every multipart part but the last."""
        return self._lfs_settings.multipart_chunk_size

    @multipart_chunk_size.setter
    def multipart_chunk_size(self, size: int) -> None:
        self._lfs_settings.multipart_chunk_size = _checked_int("multipart_chunk_size", size, 1)

    @property
    def lfs_action_expires_in(self) -> int:
        """Seconds LFS actions (and their signed storage URLs) stay valid."""
        return self._lfs_settings.expires_in

    @lfs_action_expires_in.setter
    def lfs_action_expires_in(self, seconds: int) -> None:
        self._lfs_settings.expires_in = _checked_int("lfs_action_expires_in", seconds, 1)

    @property
    def max_whole_download(self) -> int | None:
        """Most bytes one storage GET may answer (None: no limit); see the class docs."""
        return self._lfs_settings.max_whole_download

    @max_whole_download.setter
    def max_whole_download(self, size: int | None) -> None:
        self._lfs_settings.max_whole_download = _checked_optional("max_whole_download", size)

    @property
    def storage_rate_limit(self) -> int | None:
        """Bytes per second each storage request may move (None: no limit)."""
        return self._lfs_settings.storage_rate_limit

    @storage_rate_limit.setter
    def storage_rate_limit(self, rate: int | None) -> None:
        self._lfs_settings.storage_rate_limit = _checked_optional("storage_rate_limit", rate)

    @property
    def storage_ignores_range(self) -> bool:
        """Whether storage GETs ignore `Range` and send the whole object with 200."""
        return self._lfs_settings.storage_ignores_range

    @storage_ignores_range.setter
    def storage_ignores_range(self, ignore: bool) -> None:
        self._lfs_settings.storage_ignores_range = bool(ignore)

    @property
    def multipart_resume(self) -> bool:
        """Whether a renewed upload batch continues an unfinished multipart upload."""
        return self._lfs_settings.multipart_resume

    @multipart_resume.setter
    def multipart_resume(self, resume: bool) -> None:
        self._lfs_settings.multipart_resume = bool(resume)

    @property
    def lfs_bearer_accepted(self) -> bool:
        """Whether the LFS batch and verify endpoints accept `Bearer` credentials (default
        True, as the Hub does); False answers them 401, like a server that only knows Basic."""
        return self._lfs_settings.bearer_accepted

    @lfs_bearer_accepted.setter
    def lfs_bearer_accepted(self, accepted: bool) -> None:
        self._lfs_settings.bearer_accepted = bool(accepted)

    @property
    def storage_authorization_seen(self) -> list[str]:
        """Paths of LFS storage requests that carried an Authorization header, oldest first.

        Storage URLs authorize themselves, like the Hub's presigned S3 URLs, so a client that
        sends its token there would leak it; tests assert this stays empty. Only the path is
        kept, never the header's value; the request itself is served normally.
        """
        return self._lfs.authorization_seen.snapshot()

    def lfs_object_path(self, oid: str) -> Path | None:
        """Where the hub stores the LFS object `oid` (64 lowercase hex), or None if absent.

        An object that arrived through Xet is first reconstructed from the CAS (the bridge)."""
        if not is_oid(oid):
            return None
        self._lfs.store.materialize(oid)
        path = self._lfs.store.object_path(oid)
        return path if path.is_file() else None

    def lfs_objects(self, repo_id: str, repo_type: str = "model") -> set[str]:
        """Object ids of the LFS objects stored for a repo (uploaded or verified through it)."""
        validate_repo_type(repo_type)
        validate_repo_id(repo_id)
        return self._lfs.store.repo_objects(repo_id, repo_type)

    # ------------------------------------------------------------------ Xet

    @property
    def xet_available(self) -> bool:
        """Whether the hub has a CAS (the `local_cas_server` binary of the `xet-client` crate,
        found as `hfgit.testing.xet.find_cas_server` says); without it no batch answers `xet`."""
        return self._xet.available

    @property
    def xet_cas_url(self) -> str:
        """The CAS URL clients get (LocalHub's front before `local_cas_server`)."""
        return self._xet.cas_url

    @property
    def xet_token_lifetime(self) -> int:
        """Seconds a CAS token (from a batch answer or the xet-write-token route) stays valid."""
        return self._xet.token_lifetime

    @xet_token_lifetime.setter
    def xet_token_lifetime(self, seconds: int) -> None:
        self._xet.token_lifetime = _checked_int("xet_token_lifetime", seconds, 1)

    @property
    def xet_bytes_received(self) -> int:
        """Request-body bytes the CAS received so far (xorbs and shards)."""
        return self._xet.bytes_received

    @property
    def xet_token_requests(self) -> int:
        """Successful calls of the xet-write-token route so far (token refreshes)."""
        return self._xet.token_requests

    @property
    def xet_shards_received(self) -> int:
        """Shards the CAS accepted so far."""
        return self._xet.shards_received

    def xet_fail_next(self, count: int = 1) -> None:
        """Answer the next `count` CAS requests 503, as a CAS that is down."""
        self._xet.failures = _checked_int("count", count, 0)

    def xet_objects(self, repo_id: str, repo_type: str = "model") -> set[str]:
        """SHA-256 of the objects a shard declared for a repo (uploaded through Xet)."""
        return {
            oid
            for oid in self.lfs_objects(repo_id, repo_type)
            if self._lfs.store.xet_file(oid) is not None
        }

    # ------------------------------------------------------------------ request log

    @property
    def requests(self) -> list[RequestRecord]:
        """A copy of every request received so far, oldest first (by completion)."""
        return self._log.snapshot()

    def clear_requests(self) -> None:
        """Forget the requests recorded so far."""
        self._log.clear()

    # ------------------------------------------------------------------ internals

    def _running_server(self) -> HubHTTPServer:
        server = self._server
        if self._state != "running" or server is None:
            raise LocalHubError(
                "LocalHub is not running: call start() or use it as a context manager"
            )
        return server


def _checked_int(name: str, value: int, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, not {value!r}")
    return value


def _checked_optional(name: str, value: int | None) -> int | None:
    return None if value is None else _checked_int(name, value, 1)
