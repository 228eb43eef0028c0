"""The values hfgit returns: plain frozen dataclasses with readable reprs."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Literal, Union

LfsTransfer = Union[Literal["auto"], Literal["xet"], Literal["basic"]]
"""Which Git LFS upload transfer a push asks for (see :func:`hfgit.push`)."""


@dataclass(frozen=True)
class RefUpdate:
    """One ref the server now has. ``old`` is ``None`` when the branch is new on the server."""

    ref: str
    old: str | None
    new: str

    @property
    def changed(self) -> bool:
        return self.old != self.new


@dataclass(frozen=True)
class LfsPruneResult:
    """What :meth:`Repository.lfs_prune` removed from ``.git/lfs/objects`` (with
    ``dry_run=True``: would remove) and what it kept there. Sizes are in bytes.

    ``removed`` lists the removed objects' SHA-256 oids; ``unverified`` those the rules allowed
    to remove but the LFS server did not confirm (only with ``verify_remote=True``), which were
    kept and are counted in ``objects_kept``.
    """

    objects_removed: int
    bytes_freed: int
    objects_kept: int
    bytes_kept: int
    removed: tuple[str, ...] = ()
    unverified: tuple[str, ...] = ()
    dry_run: bool = False


@dataclass(frozen=True)
class PushResult:
    """What a push changed on the remote.

    ``pr_num`` and ``pr_url`` name the pull request the commits went to (``create_pr=True`` or
    ``pr=N``); both are ``None`` for a push to a branch. ``lfs_pruned`` is what
    ``prune_lfs=True`` removed after the push, or ``None`` when no prune ran or it failed (a
    warning was logged).
    """

    remote_url: str
    updates: tuple[RefUpdate, ...]
    lfs_objects_uploaded: int = 0
    lfs_bytes_uploaded: int = 0
    #: Bytes sent to LFS storage: ``lfs_bytes_uploaded`` with ``basic``/``multipart``; with
    #: Xet only the chunks storage did not have yet (compressed), plus the shard.
    lfs_bytes_sent: int = 0
    #: Bytes of the objects uploaded through Xet that storage already had (not sent).
    lfs_bytes_deduplicated: int = 0
    #: With ``rebase=True``: ``(old_id, new_id)`` of each unpushed commit replayed on the
    #: remote's new commits, oldest first; ``new_id`` is ``None`` for a commit dropped because
    #: the remote already had its change. Empty when no rebase was needed.
    rebased: tuple[tuple[str, str | None], ...] = ()
    pr_num: int | None = None
    pr_url: str | None = None
    lfs_pruned: LfsPruneResult | None = None

    @property
    def up_to_date(self) -> bool:
        """True when the remote already had every commit."""
        return not any(update.changed for update in self.updates)

    @property
    def commit_url(self) -> str | None:
        """The Hub page of the pushed commit (``{endpoint}/{prefix}{repo_id}/commit/{sha}``);
        ``None`` for a push of a tag only."""
        from . import _native

        for update in self.updates:
            if not update.ref.startswith("refs/tags/"):
                return _native.hub_commit_url(self.remote_url, update.new)
        return None


@dataclass(frozen=True)
class PullResult:
    """What a pull did: ``old_head`` → ``new_head``."""

    old_head: str
    new_head: str
    #: With ``rebase=True``: ``(old_id, new_id)`` of each unpushed commit replayed on the
    #: remote's new commits, oldest first; ``new_id`` is ``None`` for a commit dropped because
    #: the remote already had its change. Empty for a fast-forward.
    rebased: tuple[tuple[str, str | None], ...] = ()

    @property
    def updated(self) -> bool:
        return self.old_head != self.new_head


@dataclass(frozen=True)
class LfsPullResult:
    """What :meth:`Repository.lfs_pull` downloaded (objects already present are not counted).

    ``bytes_downloaded`` is the size in bytes of the objects downloaded: an object whose
    download resumed from ``.git/lfs/incomplete`` counts whole, though only its missing bytes
    crossed the network this time."""

    objects_downloaded: int
    bytes_downloaded: int


@dataclass(frozen=True)
class StatusEntry:
    """One changed path: ``kind`` is added, modified, deleted, renamed, typechange, untracked
    or conflicted; ``staged`` says whether the change is already in the index; ``lfs`` whether
    ``.gitattributes`` stores the path with Git LFS."""

    path: str
    kind: str
    staged: bool
    lfs: bool = False


@dataclass(frozen=True)
class StatusResult:
    """Changes in the work tree relative to HEAD, grouped by kind."""

    entries: tuple[StatusEntry, ...] = field(default_factory=tuple)

    def _paths(self, kind: str) -> list[str]:
        return [entry.path for entry in self.entries if entry.kind == kind]

    @property
    def added(self) -> list[str]:
        return self._paths("added")

    @property
    def modified(self) -> list[str]:
        return self._paths("modified")

    @property
    def deleted(self) -> list[str]:
        return self._paths("deleted")

    @property
    def untracked(self) -> list[str]:
        return self._paths("untracked")

    @property
    def lfs(self) -> list[str]:
        """Changed paths that are stored with Git LFS."""
        return [entry.path for entry in self.entries if entry.lfs]

    @property
    def is_clean(self) -> bool:
        return not self.entries


@dataclass(frozen=True)
class CommitInfo:
    """One commit of :meth:`Repository.log`."""

    id: str
    message: str
    author_name: str
    author_email: str
    timestamp: int
    parents: tuple[str, ...]

    @property
    def summary(self) -> str:
        return self.message.split("\n", 1)[0]

    @property
    def date(self) -> _dt.datetime:
        return _dt.datetime.fromtimestamp(self.timestamp, tz=_dt.timezone.utc)


@dataclass(frozen=True)
class BranchInfo:
    """One branch of :meth:`Repository.branches`.

    ``name`` is ``"main"`` for a local branch and ``"origin/main"`` for a remote-tracking one
    (``remote`` is then true); ``current`` marks the checked-out branch; ``upstream`` is the
    remote-tracking branch a local one pulls from, if set.
    """

    name: str
    commit: str
    remote: bool = False
    current: bool = False
    upstream: str | None = None


@dataclass(frozen=True)
class TagInfo:
    """One tag of :meth:`Repository.tags`: the commit it marks, and for an annotated tag
    (``annotated``) its message."""

    name: str
    commit: str
    annotated: bool = False
    message: str | None = None


@dataclass(frozen=True)
class FetchResult:
    """What :meth:`Repository.fetch` changed: remote-tracking branches and tags.

    Each update is a :class:`RefUpdate`; ``old`` is ``None`` for a new ref. ``deleted`` names the
    remote-tracking branches removed by ``prune=True``.
    """

    remote_url: str
    updates: tuple[RefUpdate, ...] = ()
    deleted: tuple[str, ...] = ()

    @property
    def up_to_date(self) -> bool:
        """True when nothing changed."""
        return not self.updates and not self.deleted
