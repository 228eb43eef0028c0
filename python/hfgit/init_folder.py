"""``hfgit.init``: make a folder that already holds files a work tree of a Hub repository."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import Union

from . import _native
from .progress import ProgressArg, progress_reporter
from .repository import Repository

PathArg = Union[str, "os.PathLike[str]"]
TokenArg = Union[str, bool, None]

_log = logging.getLogger("hfgit")


def init(
    local_dir: PathArg,
    repo: str,
    *,
    token: TokenArg = None,
    repo_type: str | None = None,
    revision: str | None = None,
    endpoint: str | None = None,
    progress: ProgressArg = None,
    lfs: bool | Sequence[str] | None = None,
    lfs_concurrency: int = 8,
) -> Repository:
    """Make ``local_dir``, a folder that already holds files (a training ``output_dir``), a work
    tree of the Hub repository ``repo``, and return it as a :class:`Repository`.

    The result is what cloning ``repo`` and copying the folder over the clone would give, with
    the folder's files never written, moved or deleted: the remote's history is fetched, HEAD is
    put on the remote's default branch (or the branch ``revision``) with its upstream set, and a
    folder file the remote also has is just "modified", any other one new. The next
    :meth:`Repository.commit` records the folder on top of the remote's history (with the
    remote's ``.gitattributes``, so its Git LFS rules apply, and its ``.gitignore``) and
    :meth:`Repository.push` sends it as a fast-forward. Files only the remote has are written
    into the folder, so nothing of the remote is committed as deleted; Git LFS ones are
    downloaded as :func:`hfgit.clone` downloads them (``lfs``, ``lfs_concurrency``). A remote
    with no commits works too: the first commit starts branch ``main`` (or ``revision``).

    ``repo``, ``token``, ``repo_type`` and ``endpoint`` mean what they mean for
    :func:`hfgit.clone` (``repo`` is named as there, and accepts a URL too). A missing
    ``local_dir`` is created. Running ``init`` again on a folder it finished opens it, as does
    a clone of the same remote. Raises :class:`DirectoryNotEmptyError` when the folder already
    is a git work tree of another remote (or of none), :class:`RevisionNotFoundError` when the
    remote has no branch ``revision``, and the network, token and LFS errors of a clone; a
    failed ``init`` removes the ``.git`` it made and leaves the folder as it was.
    """
    with progress_reporter(progress, "Init") as callback:
        raw = _native.init(
            local_dir,
            repo,
            token=token,
            repo_type=repo_type,
            revision=revision,
            endpoint=endpoint,
            progress=callback,
            lfs=lfs if lfs is None or isinstance(lfs, bool) else list(lfs),
            lfs_concurrency=lfs_concurrency,
        )
    if not raw["reopened"]:
        _log.info(
            "initialised %s on branch %s at %s",
            raw["path"],
            raw["branch"],
            (raw["head"] or "no commits")[:12],
        )
    return Repository(raw["path"])
