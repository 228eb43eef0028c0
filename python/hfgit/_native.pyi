"""Type stub of the compiled module ``hfgit._native`` (src/python/ in the Rust crate)."""

import os
from collections.abc import Sequence
from typing import Callable, TypedDict, final

_Path = str | os.PathLike[str]
_Token = str | bool | None
_ProgressCallback = Callable[[str, int, int, int, int], None] | None

__all__ = [
    "LIBGIT2_VERSION",
    "Snapshot",
    "__version__",
    "_xet_reconstruct",
    "_xet_shard_files",
    "branches",
    "checkout",
    "checkout_pr",
    "clone",
    "commit",
    "commit_snapshot",
    "commit_url",
    "create_branch",
    "create_repo",
    "create_tag",
    "delete_branch",
    "delete_tag",
    "diff",
    "fetch",
    "hub_commit_url",
    "init",
    "lfs_prune",
    "lfs_pull",
    "log",
    "open_existing_clone",
    "pull",
    "push",
    "push_tag",
    "repo_info",
    "reset",
    "restore",
    "show",
    "snapshot",
    "status_entries",
    "tags",
    "whoami",
]

__version__: str
LIBGIT2_VERSION: str

class _PushOutcome(TypedDict):
    remote_url: str
    updates: list[tuple[str, str | None, str]]
    lfs_objects: int
    lfs_bytes: int
    lfs_bytes_sent: int
    lfs_bytes_deduplicated: int
    rebased: list[tuple[str, str | None]]
    pr_num: int | None
    pr_url: str | None

class _PruneOutcome(TypedDict):
    removed: list[tuple[str, int]]
    kept: list[tuple[str, int]]
    unverified: list[tuple[str, int]]
    dry_run: bool

class _RepoInfo(TypedDict):
    path: str
    head: str | None
    branch: str | None
    remote_url: str | None
    interrupted_clone: bool

class _InitOutcome(TypedDict):
    path: str
    branch: str
    head: str | None
    written: list[str]
    reopened: bool

class _CommitDict(TypedDict):
    id: str
    message: str
    author_name: str
    author_email: str
    timestamp: int
    parents: list[str]

def clone(
    repo: str,
    local_dir: _Path | None = None,
    *,
    token: _Token = None,
    repo_type: str | None = None,
    revision: str | None = None,
    depth: int | None = None,
    endpoint: str | None = None,
    progress: _ProgressCallback = None,
    lfs: bool | Sequence[str] | None = None,
    lfs_concurrency: int = 8,
) -> str: ...
def commit(
    local_dir: _Path,
    message: str,
    *,
    paths: _Path | Sequence[_Path] | None = None,
    author: str | None = None,
    allow_empty: bool = False,
    lfs_auto_track: bool = True,
    progress: _ProgressCallback = None,
) -> str: ...

@final
class Snapshot:
    """The changed files of a work tree at one instant; consumed by :func:`commit_snapshot`."""

    @property
    def paths(self) -> list[str]: ...
    @property
    def deleted(self) -> list[str]: ...
    @property
    def copies(self) -> list[tuple[str, str]]: ...
    @property
    def size(self) -> int: ...
    def release(self) -> None: ...

def snapshot(local_dir: _Path, paths: _Path | Sequence[_Path] | None = None) -> Snapshot: ...
def commit_snapshot(
    local_dir: _Path,
    snapshot: Snapshot,
    message: str,
    *,
    author: str | None = None,
    lfs_auto_track: bool = True,
    progress: _ProgressCallback = None,
) -> str: ...
def push(
    local_dir: _Path,
    *,
    token: _Token = None,
    remote: str = "origin",
    branch: str | None = None,
    force: bool = False,
    progress: _ProgressCallback = None,
    lfs_concurrency: int = 8,
    rebase: bool = False,
    create_pr: bool = False,
    pr_title: str | None = None,
    pr_description: str | None = None,
    pr: int | None = None,
    lfs_transfer: str | None = None,
) -> _PushOutcome: ...
def pull(
    local_dir: _Path,
    *,
    token: _Token = None,
    remote: str = "origin",
    progress: _ProgressCallback = None,
    rebase: bool = False,
) -> tuple[str, str, list[tuple[str, str | None]]]: ...
def lfs_pull(
    local_dir: _Path,
    *,
    include: Sequence[str] | None = None,
    exclude: Sequence[str] | None = None,
    token: _Token = None,
    remote: str = "origin",
    progress: _ProgressCallback = None,
    lfs_concurrency: int = 8,
) -> tuple[int, int]: ...
def lfs_prune(
    local_dir: _Path,
    *,
    remote: str = "origin",
    dry_run: bool = False,
    verify_remote: bool = False,
    token: _Token = None,
    progress: _ProgressCallback = None,
) -> _PruneOutcome: ...
def repo_info(local_dir: _Path) -> _RepoInfo: ...
def create_repo(
    repo_id: str,
    *,
    repo_type: str | None = None,
    private: bool | None = None,
    exist_ok: bool = False,
    token: _Token = None,
    endpoint: str | None = None,
    space_sdk: str | None = None,
) -> str: ...
def whoami(token: _Token = None, *, endpoint: str | None = None) -> str: ...
def status_entries(local_dir: _Path) -> list[tuple[str, str, bool, bool]]: ...
def log(local_dir: _Path, limit: int | None = None) -> list[_CommitDict]: ...
def branches(local_dir: _Path) -> list[tuple[str, str, bool, bool, str | None]]: ...
def create_branch(
    local_dir: _Path, name: str, *, revision: str | None = None, exist_ok: bool = False
) -> str: ...
def delete_branch(
    local_dir: _Path,
    name: str,
    *,
    remote: bool = False,
    force: bool = False,
    token: _Token = None,
    progress: _ProgressCallback = None,
) -> tuple[str | None, str | None]: ...
def tags(local_dir: _Path) -> list[tuple[str, str, bool, str | None]]: ...
def create_tag(
    local_dir: _Path,
    name: str,
    *,
    revision: str | None = None,
    message: str | None = None,
    exist_ok: bool = False,
) -> str: ...
def delete_tag(
    local_dir: _Path,
    name: str,
    *,
    remote: bool = False,
    token: _Token = None,
    progress: _ProgressCallback = None,
) -> bool: ...
def push_tag(
    local_dir: _Path,
    name: str,
    *,
    token: _Token = None,
    remote: str = "origin",
    force: bool = False,
    progress: _ProgressCallback = None,
    lfs_concurrency: int = 8,
) -> _PushOutcome: ...
def fetch(
    local_dir: _Path,
    *,
    token: _Token = None,
    remote: str = "origin",
    prune: bool = False,
    progress: _ProgressCallback = None,
) -> tuple[str, list[tuple[str, str | None, str | None]]]: ...
def checkout(
    local_dir: _Path,
    revision: str,
    *,
    create: bool = False,
    token: _Token = None,
    remote: str = "origin",
    progress: _ProgressCallback = None,
    lfs_concurrency: int = 8,
) -> tuple[str | None, str | None]: ...
def checkout_pr(
    local_dir: _Path,
    num: int,
    *,
    token: _Token = None,
    remote: str = "origin",
    progress: _ProgressCallback = None,
    lfs_concurrency: int = 8,
) -> tuple[str | None, str | None]: ...
def reset(
    local_dir: _Path,
    revision: str = "HEAD",
    *,
    mode: str = "mixed",
    token: _Token = None,
    progress: _ProgressCallback = None,
    lfs_concurrency: int = 8,
) -> tuple[str, str]: ...
def restore(
    local_dir: _Path,
    paths: _Path | Sequence[_Path],
    *,
    revision: str | None = None,
    token: _Token = None,
    progress: _ProgressCallback = None,
    lfs_concurrency: int = 8,
) -> list[str]: ...
def diff(
    local_dir: _Path,
    revision: str | None = None,
    other: str | None = None,
    *,
    paths: _Path | Sequence[_Path] | None = None,
    context: int = 3,
) -> str: ...
def show(local_dir: _Path, path: str, revision: str = "HEAD") -> str | bytes: ...
def commit_url(local_dir: _Path, revision: str | None = None) -> str: ...
def hub_commit_url(remote_url: str, sha: str) -> str: ...
def init(
    local_dir: _Path,
    repo: str,
    *,
    token: _Token = None,
    repo_type: str | None = None,
    revision: str | None = None,
    endpoint: str | None = None,
    progress: _ProgressCallback = None,
    lfs: bool | Sequence[str] | None = None,
    lfs_concurrency: int = 8,
) -> _InitOutcome: ...
def open_existing_clone(
    repo: str,
    local_dir: _Path | None = None,
    *,
    token: _Token = None,
    repo_type: str | None = None,
    revision: str | None = None,
    endpoint: str | None = None,
    pull: bool = False,
    progress: _ProgressCallback = None,
) -> str | None: ...
def _xet_shard_files(shard: bytes) -> list[tuple[str, str | None, int]]: ...
def _xet_reconstruct(
    cas_url: str, token: str, expires_at: int, xet_hash: str, size: int, dest: str
) -> None: ...
