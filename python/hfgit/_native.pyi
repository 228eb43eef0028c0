"""Type stub of the compiled module ``hfgit._native`` (src/python/ in the Rust crate)."""

import os
from collections.abc import Sequence
from typing import Callable, TypedDict

_Path = str | os.PathLike[str]
_Token = str | bool | None
_ProgressCallback = Callable[[str, int, int, int], None] | None

__all__ = [
    "LIBGIT2_VERSION",
    "__version__",
    "clone",
    "commit",
    "lfs_prune",
    "lfs_pull",
    "log",
    "pull",
    "push",
    "repo_info",
    "status_entries",
]

__version__: str
LIBGIT2_VERSION: str

class _PushOutcome(TypedDict):
    remote_url: str
    updates: list[tuple[str, str | None, str]]
    lfs_objects: int
    lfs_bytes: int

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
def push(
    local_dir: _Path,
    *,
    token: _Token = None,
    remote: str = "origin",
    branch: str | None = None,
    force: bool = False,
    progress: _ProgressCallback = None,
    lfs_concurrency: int = 8,
) -> _PushOutcome: ...
def pull(
    local_dir: _Path,
    *,
    token: _Token = None,
    remote: str = "origin",
    progress: _ProgressCallback = None,
) -> tuple[str, str]: ...
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
def status_entries(local_dir: _Path) -> list[tuple[str, str, bool, bool]]: ...
def log(local_dir: _Path, limit: int | None = None) -> list[_CommitDict]: ...
