"""Type stub of the compiled module ``hfgit._native`` (src/python/ in the Rust crate)."""

import os
from collections.abc import Sequence
from typing import Callable, Optional, TypedDict, Union

_Path = Union[str, os.PathLike[str]]
_Token = Union[str, bool, None]
_ProgressCallback = Optional[Callable[[str, int, int, int], None]]

__version__: str
LIBGIT2_VERSION: str

class _PushOutcome(TypedDict):
    remote_url: str
    updates: list[tuple[str, Optional[str], str]]

class _RepoInfo(TypedDict):
    path: str
    head: Optional[str]
    branch: Optional[str]
    remote_url: Optional[str]

class _CommitDict(TypedDict):
    id: str
    message: str
    author_name: str
    author_email: str
    timestamp: int
    parents: list[str]

def clone(
    repo: str,
    local_dir: Optional[_Path] = None,
    *,
    token: _Token = None,
    repo_type: Optional[str] = None,
    revision: Optional[str] = None,
    depth: Optional[int] = None,
    endpoint: Optional[str] = None,
    progress: _ProgressCallback = None,
) -> str: ...
def commit(
    local_dir: _Path,
    message: str,
    *,
    paths: Optional[Union[_Path, Sequence[_Path]]] = None,
    author: Optional[str] = None,
    allow_empty: bool = False,
) -> str: ...
def push(
    local_dir: _Path,
    *,
    token: _Token = None,
    remote: str = "origin",
    branch: Optional[str] = None,
    force: bool = False,
    progress: _ProgressCallback = None,
) -> _PushOutcome: ...
def pull(
    local_dir: _Path,
    *,
    token: _Token = None,
    remote: str = "origin",
    progress: _ProgressCallback = None,
) -> tuple[str, str]: ...
def repo_info(local_dir: _Path) -> _RepoInfo: ...
def status_entries(local_dir: _Path) -> list[tuple[str, str, bool]]: ...
def log(local_dir: _Path, limit: Optional[int] = None) -> list[_CommitDict]: ...
