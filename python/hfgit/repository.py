"""A local work tree of a Hub repository."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Sequence
from concurrent.futures import Future
from typing import Literal, Union, overload

from . import _native
from ._refs import BranchesAndTags
from ._undo import UndoAndInspect
from .progress import ProgressArg, progress_reporter
from .results import (
    CommitInfo,
    LfsPruneResult,
    LfsPullResult,
    LfsTransfer,
    PullResult,
    PushResult,
    StatusEntry,
    StatusResult,
)

PathArg = Union[str, "os.PathLike[str]"]
TokenArg = Union[str, bool, None]


_log = logging.getLogger("hfgit")


class Repository(BranchesAndTags, UndoAndInspect):
    """A git work tree, usually one made by :func:`hfgit.clone` or :func:`hfgit.init`.

    Opening a path that is not the top of a work tree raises :class:`NotARepositoryError`.
    Properties are read fresh from disk on each access. Branches, tags, ``fetch`` and
    ``checkout`` are described in ``hfgit._refs``; ``reset``, ``restore``, ``diff``, ``show``
    and ``commit_url`` in ``hfgit._undo``.
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
        create_pr: bool = ...,
        pr_title: str | None = ...,
        pr_description: str | None = ...,
        pr: int | None = ...,
        blocking: Literal[True] = ...,
        prune_lfs: bool = ...,
        lfs_transfer: LfsTransfer | None = ...,
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
        create_pr: bool = ...,
        pr_title: str | None = ...,
        pr_description: str | None = ...,
        pr: int | None = ...,
        blocking: Literal[False],
        prune_lfs: bool = ...,
        lfs_transfer: LfsTransfer | None = ...,
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
        create_pr: bool = False,
        pr_title: str | None = None,
        pr_description: str | None = None,
        pr: int | None = None,
        blocking: bool = True,
        prune_lfs: bool = False,
        lfs_transfer: LfsTransfer | None = None,
    ) -> PushResult | Future[PushResult]:
        """See :func:`hfgit.push`; ``blocking=False`` returns a Future of the result,
        ``create_pr=True`` / ``pr=N`` push to a pull request."""
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
            create_pr=create_pr,
            pr_title=pr_title,
            pr_description=pr_description,
            pr=pr,
            blocking=blocking,
            prune_lfs=prune_lfs,
            lfs_transfer=lfs_transfer,
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

    def lfs_prune(
        self,
        *,
        remote: str = "origin",
        dry_run: bool = False,
        verify_remote: bool = False,
        token: TokenArg = None,
        progress: ProgressArg = None,
    ) -> LfsPruneResult:
        """Delete the local copies of Git LFS objects that ``remote`` has and nothing local needs.

        Each commit copies every new LFS file into ``.git/lfs/objects`` (one store, shared by the
        work tree and its linked worktrees) and nothing takes it out again, so a job that pushes
        checkpoints keeps a copy of every one. An object is removed only when all of these hold;
        they are git-lfs-prune(1)'s rules, except where noted:

        - ``remote`` has it: a commit reachable from its remote-tracking refs
          (``refs/remotes/<remote>/*``, which a successful push moves) points at it. With
          ``verify_remote=True`` the remote's LFS server is asked too (one batch ``download``
          request per 100 objects, as ``git lfs prune --verify-remote`` does) and an object it
          does not confirm is kept and listed in ``unverified``.
        - No unpushed commit introduces it: no commit reachable from a local ref (branches, tags,
          ``refs/stash`` and its older entries, other remotes' refs, the HEAD of every worktree)
          and not from those remote-tracking refs adds or changes a file to it.
        - No checkout needs it: wherever the HEAD commit or an index entry of any worktree (the
          main one and every linked one) points at it, that work tree's file holds its content:
          present, not a pointer, and with the stat data its index entry records (git's own rule
          for an unchanged file). A deleted, edited or never-downloaded file, a staged change or a
          conflict keeps the object.

        So nothing staged, committed and unpushed, or needed to restore a file is removed, and
        neither is an object no pushed commit points at (the store may hold its only copy).
        Unlike git-lfs, which always keeps the current checkout's objects (and those of "recent"
        refs, ``lfs.fetchrecent*``), this removes the object of a checked-out file whose work-tree
        copy is intact: the work tree and the remote already hold it. Then ``git lfs fsck``
        reports that object missing; checking out another revision of the file, or restoring it
        after an edit, downloads it again; and a push to a remote that lacks it cleans the
        work-tree file into the store again, if the file still hashes to the pointer (else that
        push raises :class:`LfsObjectMissingError`).

        The prune holds the index lock of every worktree for its whole run (a commit copies its
        files into the store before the commit exists, and a prune must not race it) and waits
        for a running push of this repository. It only deletes object files, one at a time, so an
        interrupted prune loses nothing needed; ``.git/lfs/tmp`` is never touched.
        ``dry_run=True`` removes nothing and reports what would be removed. ``token`` is used
        for ``verify_remote`` only (default: ``HF_TOKEN`` or the saved login).

        Raises :class:`InvalidArgumentError` when there is no remote named ``remote``,
        :class:`RepositoryLockedError` when another call is committing in one of the worktrees,
        :class:`LfsStoreError` when an object file cannot be deleted (the others are still
        tried), and, with ``verify_remote=True``, the errors of the LFS request
        (:class:`AuthenticationError`, :class:`LfsTransferError`, :class:`NetworkError`), in
        which case nothing was removed.
        """
        with progress_reporter(progress, "LFS prune") as callback:
            raw = _native.lfs_prune(
                self._path,
                remote=remote,
                dry_run=dry_run,
                verify_remote=verify_remote,
                token=token,
                progress=callback,
            )
        result = LfsPruneResult(
            objects_removed=len(raw["removed"]),
            bytes_freed=sum(size for _, size in raw["removed"]),
            objects_kept=len(raw["kept"]),
            bytes_kept=sum(size for _, size in raw["kept"]),
            removed=tuple(oid for oid, _ in raw["removed"]),
            unverified=tuple(oid for oid, _ in raw["unverified"]),
            dry_run=raw["dry_run"],
        )
        _log.info(
            "%s %d LFS objects (%d bytes) from %s, kept %d (%d bytes)",
            "would prune" if dry_run else "pruned",
            result.objects_removed,
            result.bytes_freed,
            self._path,
            result.objects_kept,
            result.bytes_kept,
        )
        return result

    def log(self, limit: int | None = None) -> list[CommitInfo]:
        """Commits reachable from HEAD, newest first; at most ``limit`` of them (``None``: all).
        Raises :class:`InvalidArgumentError` for a negative ``limit``."""
        from .api import check_count

        check_count("limit", limit, minimum=0)
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
