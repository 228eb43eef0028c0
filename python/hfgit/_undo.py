"""Undo and inspect: reset, restore, diff, show and commit URLs of :class:`hfgit.Repository`.

Kept apart from ``repository.py`` so each file has one job; ``Repository`` inherits these
methods, and they read nothing but ``self._path``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from typing import Literal, Union

from . import _native
from .progress import ProgressArg, progress_reporter

PathArg = Union[str, "os.PathLike[str]"]
TokenArg = Union[str, bool, None]

_log = logging.getLogger("hfgit")


class UndoAndInspect:
    """Reset, restore, diff, show and commit-URL methods of :class:`hfgit.Repository`."""

    _path: str

    def reset(
        self,
        revision: str = "HEAD",
        mode: Literal["soft", "mixed", "hard"] = "mixed",
        *,
        token: TokenArg = None,
        progress: ProgressArg = None,
        lfs_concurrency: int = 8,
    ) -> str:
        """Move the checked-out branch (or a detached HEAD) to ``revision``, like ``git reset``;
        return the commit id it now points at.

        ``mode="soft"`` moves only the branch: the undone commits' changes stay staged.
        ``"mixed"`` (the default) also resets the index: they become unstaged edits, the work
        tree untouched. ``"hard"`` also rewrites the tracked files, discarding their uncommitted
        changes (untracked files are kept, as git keeps them); Git LFS files it writes get their
        content, downloaded first (``lfs_concurrency`` at once, from ``origin``'s LFS server with
        ``token``, as git-lfs's settings select), so a failed download changes nothing.
        ``reset("HEAD~1")`` undoes the last commit; ``reset("origin/main", "hard")`` returns to
        the remote's state as last fetched; the commit left is kept in ``ORIG_HEAD``, so
        ``reset("ORIG_HEAD")`` undoes a reset.

        Raises :class:`RevisionNotFoundError` for an unknown revision and
        :class:`InvalidArgumentError` for another ``mode`` or a repository without commits, with
        nothing changed; :class:`RepositoryLockedError` when another call is writing the index.
        """
        with progress_reporter(progress, "Reset") as callback:
            old, new = _native.reset(
                self._path,
                revision,
                mode=mode,
                token=token,
                progress=callback,
                lfs_concurrency=lfs_concurrency,
            )
        _log.info("reset (%s) from %s to %s", mode, old[:12], new[:12])
        return new

    def restore(
        self,
        paths: PathArg | Iterable[PathArg],
        *,
        revision: str | None = None,
        token: TokenArg = None,
        progress: ProgressArg = None,
        lfs_concurrency: int = 8,
    ) -> list[str]:
        """Put files back as they were, like ``git restore``; return the paths restored.

        Without ``revision`` the work-tree files come back from the index, like ``git restore
        <paths>``: that is the last commit's version, unless something was staged with git.
        With ``revision`` the files and their index entries come back from that commit (``git
        restore --source=<rev> --staged --worktree``), so ``revision="HEAD"`` also drops staged
        changes. A tracked path the source lacks is deleted; untracked files are never touched.
        Git LFS files get their content, downloaded first when the store lacks it (from
        ``origin``'s LFS server, with ``token``), so a failed download changes nothing.

        ``paths`` (one path or several, relative to the work tree or absolute inside it) are
        read as ``commit(paths=...)`` reads them; ``"."`` is everything. Raises
        :class:`PathspecError` for a path that matches nothing in the source or the index,
        :class:`RevisionNotFoundError` for an unknown revision, :class:`InvalidArgumentError`
        for a path outside the work tree, each with nothing changed.
        """
        if isinstance(paths, (str, os.PathLike)):
            paths = [paths]
        with progress_reporter(progress, "Restore") as callback:
            restored = _native.restore(
                self._path,
                list(paths),
                revision=revision,
                token=token,
                progress=callback,
                lfs_concurrency=lfs_concurrency,
            )
        _log.info("restored %d path(s)", len(restored))
        return restored

    def diff(
        self,
        revision: str | None = None,
        other: str | None = None,
        *,
        paths: PathArg | Iterable[PathArg] | None = None,
        context: int = 3,
    ) -> str:
        """The changes from ``revision`` (default HEAD) to ``other`` (default the work tree), as
        the text of a unified diff (``git diff`` format, ``context`` lines around each change).

        Compared with the work tree, tracked files are taken as they are on disk (staged or
        not) and untracked files as new files, since :meth:`commit` would record them too;
        ignored files are left out. Binary files, and files over 10 MiB, get git's one line
        ``Binary files a/x and b/x differ``: content is never dumped. Git LFS files get
        ``Git LFS file modified: <old> -> <new> bytes`` (or ``added`` / ``deleted``) and the
        ``oid sha256:`` lines of the sides whose object id is known (a work-tree file is not
        hashed for a diff), never pointer text or content. ``paths`` limits the diff, as
        ``git diff -- <paths>``. Returns ``""`` when nothing differs. Raises
        :class:`RevisionNotFoundError` for an unknown revision.
        """
        if isinstance(paths, (str, os.PathLike)):
            paths = [paths]
        return _native.diff(
            self._path,
            revision,
            other,
            paths=None if paths is None else list(paths),
            context=context,
        )

    def show(self, path: str, revision: str = "HEAD") -> str | bytes:
        """The content of ``path`` (relative to the work tree, ``/``-separated) at ``revision``,
        like ``git show <revision>:<path>``: ``str`` for UTF-8 text, ``bytes`` for anything
        else (binary content is never decoded).

        A Git LFS file gives its content, read from ``.git/lfs/objects`` (all of it, into
        memory); ``show`` never downloads. Raises :class:`LfsObjectMissingError` when the object
        is not there (check that revision out, or ``lfs_pull()`` the checked-out one, first),
        :class:`EntryNotFoundError` when the revision has no such path,
        :class:`RevisionNotFoundError` for an unknown revision and
        :class:`InvalidArgumentError` for a directory.
        """
        return _native.show(self._path, path, revision)

    def commit_url(self, sha: str | None = None) -> str:
        """The Hub web page of commit ``sha`` (default HEAD; any revision git reads):
        ``{endpoint}/{prefix}{repo_id}/commit/{full_sha}``, where ``prefix`` is ``""`` for
        models and ``"datasets/"`` / ``"spaces/"`` otherwise, built from ``origin``'s URL.

        Raises :class:`RevisionNotFoundError` for an unknown revision and
        :class:`InvalidArgumentError` when there is no ``origin`` remote.
        """
        return _native.commit_url(self._path, sha)
