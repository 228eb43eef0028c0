"""What the training integrations share: the clone the checkpoints go to, the pusher, and the error
that ends a run. Nothing here imports a training library."""

from __future__ import annotations

import inspect
import logging
import os
from typing import Any, Union
from urllib.parse import urlsplit, urlunsplit

from .. import _native
from ..api import clone
from ..checkpoint import CheckpointPusher
from ..exceptions import CloneInterruptedError, InvalidArgumentError
from ..repository import Repository

RepoArg = Union[str, "os.PathLike[str]"]
TokenArg = Union[str, bool, None]

_log = logging.getLogger("hfgit.integrations")


def is_local_clone(repo_id_or_path: RepoArg) -> bool:
    """A path object, or a string naming an existing directory, is a local clone; any other string
    is a repo id. transformers' ``from_pretrained`` reads its first argument the same way."""
    return not isinstance(repo_id_or_path, str) or os.path.isdir(repo_id_or_path)


def check_pusher_options(token: TokenArg, revision: str | None, options: dict[str, Any]) -> None:
    """Raise ``TypeError`` now, not at the first save, for an option CheckpointPusher lacks or one
    that the callback sets itself (``token``, ``branch``)."""
    inspect.signature(CheckpointPusher).bind(".", token=token, branch=revision, **options)


def _without_credentials(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    path = parts.path.rstrip("/")
    if path.endswith(".git"):
        path = path[: -len(".git")]
    return urlunsplit((parts.scheme, host, path, "", ""))


def remote_matches(remote_url: str | None, repo_id: str) -> bool:
    """Whether ``remote_url`` (origin's URL) is the repository ``repo_id`` names: the same URL
    when ``repo_id`` is one, else a URL whose path ends with ``/<repo_id>``."""
    if remote_url is None:
        return False
    remote = _without_credentials(remote_url)
    if "://" in repo_id:
        return remote == _without_credentials(repo_id)
    return remote.endswith("/" + repo_id.strip("/"))


def open_clone(path: RepoArg) -> Repository:
    """Open an existing clone; raise now what every later operation would raise."""
    if _native.repo_info(path)["interrupted_clone"]:
        raise CloneInterruptedError(
            f"{os.fspath(path)} holds a clone that was killed before it finished; pass the repo id "
            "to clone into it again, which finishes it"
        )
    return Repository(path)


def open_or_clone(
    repo_id: str,
    local_dir: RepoArg,
    *,
    token: TokenArg,
    revision: str | None,
    endpoint: str | None,
) -> Repository:
    """The clone of ``repo_id`` at ``local_dir``: opened when ``local_dir`` already is one (of that
    repository: else :class:`InvalidArgumentError`), cloned when it is missing or empty, cloned
    again when it holds a clone that was killed before it finished. Any other directory makes
    :func:`hfgit.clone` raise :class:`DirectoryNotEmptyError` and write nothing."""
    if os.path.isdir(os.path.join(local_dir, ".git")):
        info = _native.repo_info(local_dir)
        if not info["interrupted_clone"]:
            if not remote_matches(info["remote_url"], repo_id):
                raise InvalidArgumentError(
                    f"{info['path']} is a clone of {info['remote_url']}, not of {repo_id}; "
                    "use an empty directory or a clone of that repository"
                )
            _log.info("using the clone of %s at %s", repo_id, info["path"])
            return Repository(local_dir)
    return clone(repo_id, local_dir, token=token, revision=revision, endpoint=endpoint)


def make_pusher(
    repo: Repository, token: TokenArg, revision: str | None, options: dict[str, Any]
) -> CheckpointPusher:
    return CheckpointPusher(repo.path, token=token, branch=revision, **options)


def wait_and_raise(pusher: CheckpointPusher) -> None:
    """Wait for every submitted push; raise the error of the last one, if it failed."""
    pusher.wait()
    error = pusher.last_error
    if error is not None:
        raise error
