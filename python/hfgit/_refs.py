"""Branches, tags, fetch and checkout: the ref half of :class:`hfgit.Repository`.

Kept apart from ``repository.py`` so each file has one job; ``Repository`` inherits these
methods, and they read nothing but ``self._path``.
"""

from __future__ import annotations

import logging
from typing import Union

from . import _native
from .progress import ProgressArg, progress_reporter
from .results import BranchInfo, FetchResult, PushResult, RefUpdate, TagInfo

TokenArg = Union[str, bool, None]

_log = logging.getLogger("hfgit")


class BranchesAndTags:
    """Branch, tag, fetch and checkout methods of :class:`hfgit.Repository`."""

    _path: str

    # ------------------------------------------------------------------ branches

    def branches(self) -> list[BranchInfo]:
        """Local branches, then remote-tracking branches (``origin/main``), each sorted by name.

        ``BranchInfo.current`` marks the checked-out branch; a local branch's ``upstream`` is the
        remote-tracking branch it pulls from. Remote-tracking branches are as the last
        ``clone``, ``pull``, ``push`` or :meth:`fetch` left them. Raises
        :class:`NotARepositoryError` when the path is not a work tree.
        """
        return [
            BranchInfo(name, commit, remote, current, upstream)
            for name, commit, remote, current, upstream in _native.branches(self._path)
        ]

    def create_branch(
        self, name: str, revision: str | None = None, *, exist_ok: bool = False
    ) -> str:
        """Create branch ``name`` at ``revision`` (default HEAD) without checking it out; return
        its commit id.

        ``revision`` is anything git reads as a commit: a branch, ``origin/dev``, a tag, a commit
        id. A branch made from a remote-tracking branch tracks it, as with git. Raises
        :class:`RevisionExistsError` when the branch exists (unless ``exist_ok=True``, which
        leaves it where it is), :class:`RevisionNotFoundError` for an unknown revision and
        :class:`InvalidArgumentError` for a name git refuses or a repository without commits.
        """
        return _native.create_branch(self._path, name, revision=revision, exist_ok=exist_ok)

    def checkout(
        self,
        revision: str,
        *,
        create: bool = False,
        token: TokenArg = None,
        remote: str = "origin",
        progress: ProgressArg = None,
        lfs_concurrency: int = 8,
    ) -> str | None:
        """Switch the work tree to ``revision``, like ``git switch`` / ``git checkout``; return
        the commit id now checked out (``None`` for a new branch before the first commit).

        A local branch is switched to. A name only the remote has as a branch (``origin/dev``
        exists, ``dev`` does not) becomes a local branch tracking it. Anything else git reads as
        a commit (a tag, a commit id, ``origin/main``) is checked out with a detached HEAD.
        ``create=True`` makes branch ``revision`` at HEAD and switches to it (``git switch -c``).

        Uncommitted changes to files the switch does not touch are carried over, as git does;
        changes to files it would rewrite, or untracked files where it would write one, raise
        :class:`LocalChangesError` naming them, with nothing changed. Git LFS files of the target
        are downloaded (``lfs_concurrency`` at once, from ``remote``'s LFS server, with
        ``token``) before any file changes, following git-lfs's settings as ``pull`` does
        (``GIT_LFS_SKIP_SMUDGE``, ``lfs.fetchinclude`` / ``lfs.fetchexclude``); a failed download
        raises its :class:`LfsError` with nothing changed.

        Also raises :class:`RevisionNotFoundError` for an unknown revision,
        :class:`RevisionExistsError` when ``create=True`` names an existing branch,
        :class:`InvalidArgumentError` for a branch name git refuses, and
        :class:`RepositoryLockedError` when another call is writing the index.
        """
        with progress_reporter(progress, "Checkout") as callback:
            branch, head = _native.checkout(
                self._path,
                revision,
                create=create,
                token=token,
                remote=remote,
                progress=callback,
                lfs_concurrency=lfs_concurrency,
            )
        _log.info("checked out %s at %s", branch or "a detached HEAD", (head or "")[:12])
        return head

    def delete_branch(
        self,
        name: str,
        *,
        remote: bool = False,
        force: bool = False,
        token: TokenArg = None,
        progress: ProgressArg = None,
    ) -> None:
        """Delete branch ``name``; with ``remote=True`` on the Hub too (``origin``), first.

        Raises :class:`BranchCheckedOutError` for the checked-out branch, and
        :class:`UnmergedBranchError` when the deletion would lose commits that no other branch,
        remote-tracking branch or tag contains (``force=True`` deletes anyway), as
        ``git branch -d`` refuses; nothing is deleted then. With ``remote=True`` the remote
        branch goes first (waiting for other pushes of this repository, with ``token``), so a
        refusal (:class:`PushRejectedError`, :class:`AuthenticationError` for a read-only token)
        or a :class:`NetworkError` leaves the local branch as it was; a branch that exists only
        locally is deleted locally, one that exists only on the remote only there. Raises
        :class:`RevisionNotFoundError` when there is no such branch.
        """
        with progress_reporter(progress, "Delete branch") as callback:
            _native.delete_branch(
                self._path, name, remote=remote, force=force, token=token, progress=callback
            )
        _log.info("deleted branch %s%s", name, " here and on the remote" if remote else "")

    def checkout_pr(
        self,
        num: int,
        *,
        token: TokenArg = None,
        remote: str = "origin",
        progress: ProgressArg = None,
        lfs_concurrency: int = 8,
    ) -> str | None:
        """Fetch the Hub pull request ``num`` (``refs/pr/{num}``) and check it out on the local
        branch ``pr/{num}``; return its commit id.

        The branch is created at the pull request's tip (its upstream set to ``refs/pr/{num}``,
        as the Hub's instructions do it), or fast-forwarded to it when it exists and lags behind;
        a ``pr/{num}`` with commits of its own is checked out as it is (a notice says so).
        Checking out follows :meth:`checkout` (uncommitted changes in the way raise
        :class:`LocalChangesError`, LFS files are downloaded first). Raises
        :class:`RevisionNotFoundError` when the remote has no such pull request, and the
        network errors of a fetch.
        """
        with progress_reporter(progress, "Checkout PR") as callback:
            _, head = _native.checkout_pr(
                self._path,
                num,
                token=token,
                remote=remote,
                progress=callback,
                lfs_concurrency=lfs_concurrency,
            )
        return head

    # ------------------------------------------------------------------ fetch

    def fetch(
        self,
        *,
        token: TokenArg = None,
        remote: str = "origin",
        prune: bool = False,
        progress: ProgressArg = None,
    ) -> FetchResult:
        """Download the remote's branches and tags without touching the work tree, like
        ``git fetch --tags``.

        Every remote branch lands in its remote-tracking branch (``origin/<name>``); compare
        with ``diff("HEAD", "origin/main")`` or ``log``, then ``pull`` or ``reset``. A remote tag
        creates the local tag when there is none; a local tag of the same name with another
        target is kept (a notice says so). ``prune=True`` also deletes remote-tracking branches
        the remote no longer has (never a local branch or tag). Waits for other pushes and pulls
        of this repository. Raises :class:`NetworkError` / :class:`AuthenticationError` /
        :class:`RepositoryNotFoundError` from the remote.
        """
        with progress_reporter(progress, "Fetching") as callback:
            url, rows = _native.fetch(
                self._path, token=token, remote=remote, prune=prune, progress=callback
            )
        updates = tuple(RefUpdate(ref, old, new) for ref, old, new in rows if new is not None)
        deleted = tuple(ref for ref, _, new in rows if new is None)
        return FetchResult(url, updates, deleted)

    # ------------------------------------------------------------------ tags

    def tags(self) -> list[TagInfo]:
        """Every tag, sorted by name, with the commit it marks and, for an annotated tag, its
        message."""
        return [
            TagInfo(name, commit, annotated, message)
            for name, commit, annotated, message in _native.tags(self._path)
        ]

    def create_tag(
        self,
        name: str,
        revision: str | None = None,
        message: str | None = None,
        *,
        exist_ok: bool = False,
    ) -> str:
        """Tag ``revision`` (default HEAD) as ``name``; return the tagged commit's id.

        With a ``message`` the tag is annotated (a tag object with the tagger from git config
        and the message, cleaned up as ``git tag -m`` does), else lightweight. Tags stay local
        until :meth:`push_tag`. Raises :class:`RevisionExistsError` when the tag exists (unless
        ``exist_ok=True``, which keeps it as it is), :class:`RevisionNotFoundError` for an
        unknown revision and :class:`InvalidArgumentError` for a name git refuses.
        """
        return _native.create_tag(
            self._path, name, revision=revision, message=message, exist_ok=exist_ok
        )

    def push_tag(
        self,
        name: str,
        *,
        token: TokenArg = None,
        remote: str = "origin",
        force: bool = False,
        progress: ProgressArg = None,
        lfs_concurrency: int = 8,
    ) -> PushResult:
        """Push tag ``name`` to the remote, like ``git push origin <name>``.

        The Git LFS objects the tagged commit needs that no remote-tracking branch already
        covers are uploaded first (the Hub refuses pointers to objects it lacks), so a tag of an
        unpushed commit works; the branch itself is not pushed. A tag the remote already has on
        the same target is left alone (``up_to_date``). Raises :class:`PushRejectedError` when
        the remote has the tag on another commit (``force=True`` moves it) or refuses it,
        :class:`RevisionNotFoundError` when there is no such local tag, and the network, token
        and LFS errors of :func:`hfgit.push`.
        """
        with progress_reporter(progress, "Pushing tag") as callback:
            raw = _native.push_tag(
                self._path,
                name,
                token=token,
                remote=remote,
                force=force,
                progress=callback,
                lfs_concurrency=lfs_concurrency,
            )
        result = PushResult(
            remote_url=raw["remote_url"],
            updates=tuple(RefUpdate(ref, old, new) for ref, old, new in raw["updates"]),
            lfs_objects_uploaded=raw["lfs_objects"],
            lfs_bytes_uploaded=raw["lfs_bytes"],
        )
        _log.info("pushed tag %s (%d LFS objects)", name, result.lfs_objects_uploaded)
        return result

    def delete_tag(
        self,
        name: str,
        *,
        remote: bool = False,
        token: TokenArg = None,
        progress: ProgressArg = None,
    ) -> None:
        """Delete tag ``name``; with ``remote=True`` on the Hub too (``origin``), first.

        A refused or failed remote deletion (:class:`PushRejectedError`,
        :class:`AuthenticationError`, :class:`NetworkError`) leaves the local tag as it was.
        Raises :class:`RevisionNotFoundError` when neither side has the tag.
        """
        with progress_reporter(progress, "Delete tag") as callback:
            _native.delete_tag(self._path, name, remote=remote, token=token, progress=callback)
        _log.info("deleted tag %s%s", name, " here and on the remote" if remote else "")
