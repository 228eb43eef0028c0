"""A local work tree of a Hub repository."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Sequence
from concurrent.futures import Future
from typing import Literal, Union, overload

from . import _native
from .progress import ProgressArg, progress_reporter
from .results import (
    CommitInfo,
    LfsPullResult,
    PullResult,
    PushResult,
    StatusEntry,
    StatusResult,
)

PathArg = Union[str, "os.PathLike[str]"]
TokenArg = Union[str, bool, None]


_log = logging.getLogger("hfgit")


class Repository:
    """A git work tree, usually one made by :func:`hfgit.clone`.

    Opening a path that is not the top of a work tree raises :class:`NotARepositoryError`.
    Properties are read fresh from disk on each access.
    """

    def __init__(self, path: PathArg) -> None:
        info = _native.repo_info(path)
        self._path = info["path"]
        if info["interrupted_clone"]:
            _log.warning(
                "%s holds a clone that was interrupted before it finished: clone into it again "
                "to finish it, or call lfs_pull() if only LFS files are missing; other "
                "operations raise CloneInterruptedError until then",
                self._path,
            )

    @property
    def path(self) -> str:
        return self._path

    @property
    def head(self) -> str | None:
        """The id of the checked-out commit, or ``None`` before the first commit."""
        return _native.repo_info(self._path)["head"]

    @property
    def branch(self) -> str | None:
        """The checked-out branch, or ``None`` when HEAD is detached."""
        return _native.repo_info(self._path)["branch"]

    @property
    def remote_url(self) -> str | None:
        """``origin``'s URL, without credentials."""
        return _native.repo_info(self._path)["remote_url"]

    def status(self) -> StatusResult:
        """What changed in the work tree since HEAD."""
        entries = _native.status_entries(self._path)
        return StatusResult(
            tuple(StatusEntry(path, kind, staged, lfs) for path, kind, staged, lfs in entries)
        )

    def commit(
        self,
        message: str,
        *,
        paths: PathArg | Iterable[PathArg] | None = None,
        author: str | None = None,
        allow_empty: bool = False,
        lfs_auto_track: bool = True,
        progress: ProgressArg = None,
    ) -> str:
        """See :func:`hfgit.commit`."""
        from .api import commit

        return commit(
            self._path,
            message,
            paths=paths,
            author=author,
            allow_empty=allow_empty,
            lfs_auto_track=lfs_auto_track,
            progress=progress,
        )

    @overload
    def push(
        self,
        *,
        token: TokenArg = ...,
        remote: str = ...,
        branch: str | None = ...,
        force: bool = ...,
        progress: ProgressArg = ...,
        lfs_concurrency: int = ...,
        rebase: bool = ...,
        blocking: Literal[True] = ...,
    ) -> PushResult: ...
    @overload
    def push(
        self,
        *,
        token: TokenArg = ...,
        remote: str = ...,
        branch: str | None = ...,
        force: bool = ...,
        progress: ProgressArg = ...,
        lfs_concurrency: int = ...,
        rebase: bool = ...,
        blocking: Literal[False],
    ) -> Future[PushResult]: ...
    def push(
        self,
        *,
        token: TokenArg = None,
        remote: str = "origin",
        branch: str | None = None,
        force: bool = False,
        progress: ProgressArg = None,
        lfs_concurrency: int = 8,
        rebase: bool = False,
        blocking: bool = True,
    ) -> PushResult | Future[PushResult]:
        """See :func:`hfgit.push`; ``blocking=False`` returns a Future of the result."""
        from .api import push

        return push(
            self._path,
            token=token,
            remote=remote,
            branch=branch,
            force=force,
            progress=progress,
            lfs_concurrency=lfs_concurrency,
            rebase=rebase,
            blocking=blocking,
        )

    def pull(
        self,
        *,
        token: TokenArg = None,
        remote: str = "origin",
        progress: ProgressArg = None,
        rebase: bool = False,
    ) -> PullResult:
        """Fetch and fast-forward the current branch.

        Raises :class:`DivergedError` when local commits are not on the remote, and
        :class:`LocalChangesError` (naming the files; nothing is changed) when the new commits
        change files that have uncommitted edits. LFS files the new commits bring are downloaded
        as git-lfs's smudge filter would (git-lfs-config(5)): none when ``GIT_LFS_SKIP_SMUDGE``
        is true (``1``, ``true``, ``on``, ``yes``, ``t``), else those ``lfs.fetchinclude`` /
        ``lfs.fetchexclude`` allow, from the server ``lfs.url`` / ``remote.<remote>.lfsurl``
        name, if any. They are downloaded before any file or ref changes, so a failed download
        leaves everything as it was. :meth:`lfs_pull` fetches what was left out.

        ``rebase=True``, like ``git pull --rebase``, replays the unpushed local commits (oldest
        first; author and message kept, committer time now) on top of the remote's new ones
        instead of raising :class:`DivergedError`, without the git CLI. A commit whose change the
        remote already has is dropped. It still raises :class:`DivergedError`, with ``paths``
        naming the files, when a commit cannot be replayed: both sides changed the same lines of
        a text file, or changed the same binary or Git LFS file at all (an LFS pointer is never
        merged), or one side deleted what the other changed; and (with empty ``paths``) when a
        merge commit is among the unpushed ones. Nothing local is changed then: branch, index,
        work tree and LFS files are as they were. ``PullResult.rebased`` maps the old commit ids
        to the new ones.

        Also raises :class:`DetachedHeadError` when no branch is checked out,
        :class:`RepositoryLockedError` when another call is writing the index,
        :class:`NetworkError` / :class:`AuthenticationError` from the fetch (its subclasses
        :class:`ProxyError` and :class:`RateLimitedError` as for :func:`hfgit.clone`), and
        :class:`LfsError` subclasses from the LFS download (before anything moved).
        """
        with progress_reporter(progress, "Pulling") as callback:
            old, new, rebased = _native.pull(
                self._path, token=token, remote=remote, progress=callback, rebase=rebase
            )
        return PullResult(old, new, tuple(rebased))

    def lfs_pull(
        self,
        include: Sequence[str] | None = None,
        exclude: Sequence[str] | None = None,
        *,
        token: TokenArg = None,
        remote: str = "origin",
        progress: ProgressArg = None,
        lfs_concurrency: int = 8,
    ) -> LfsPullResult:
        """Download LFS files still checked out as pointers, like ``git lfs pull``.

        ``include`` / ``exclude`` are git-lfs patterns (``"*.safetensors"``, ``"ckpt/**"``); each
        defaults to the ``lfs.fetchinclude`` / ``lfs.fetchexclude`` setting (git config or
        ``.lfsconfig``), as ``git lfs pull -I/-X`` do, so ``exclude=[]`` fetches what
        ``lfs.fetchexclude`` keeps out. ``GIT_LFS_SKIP_SMUDGE`` does not apply here, as with
        ``git lfs pull``. The LFS server is the one ``lfs.url`` / ``remote.<remote>.lfsurl`` name,
        else the remote's own. Objects already in ``.git/lfs/objects`` are not fetched again;
        each download is checked against its SHA-256 before it replaces the pointer.
        """
        with progress_reporter(progress, "LFS pull") as callback:
            objects, size = _native.lfs_pull(
                self._path,
                include=None if include is None else list(include),
                exclude=None if exclude is None else list(exclude),
                token=token,
                remote=remote,
                progress=callback,
                lfs_concurrency=lfs_concurrency,
            )
        return LfsPullResult(objects, size)

    def log(self, limit: int | None = None) -> list[CommitInfo]:
        """Commits reachable from HEAD, newest first."""
        return [
            CommitInfo(
                id=raw["id"],
                message=raw["message"],
                author_name=raw["author_name"],
                author_email=raw["author_email"],
                timestamp=raw["timestamp"],
                parents=tuple(raw["parents"]),
            )
            for raw in _native.log(self._path, limit)
        ]

    def __repr__(self) -> str:
        info = _native.repo_info(self._path)
        head = (info["head"] or "")[:12] or None
        return (
            f"Repository(path={info['path']!r}, branch={info['branch']!r}, head={head!r}, "
            f"remote={info['remote_url']!r})"
        )

    def __fspath__(self) -> str:
        return self._path
