"""Pushing training checkpoints in the background without ever stalling the training loop.

A training script calls :meth:`CheckpointPusher.submit` every N steps and carries on at once.
``submit`` records the changed files as they are at that instant (a stat walk plus a hard link
or a block-sharing clone per file, no copy of content); a background thread commits exactly that
(LFS-aware, so multi-GB weights become pointers) and pushes it, with the GIL released for all
of the git, hashing and upload work. Submissions that arrive while a push is running coalesce:
only the latest is committed next, so a slow network never builds up a queue of stale
checkpoints, and one repo never sees two pushes at once. A failed push keeps its commit; the
next submission (or :meth:`~CheckpointPusher.close`) pushes it along with the new one.
"""

from __future__ import annotations

import atexit
import logging
import os
import sys
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import TypeVar, Union

from . import _native
from .api import _path_list, push
from .exceptions import (
    AuthenticationError,
    DetachedHeadError,
    DivergedError,
    InsecureTransportError,
    InvalidArgumentError,
    LfsObjectRejectedError,
    NothingToCommitError,
    PushRejectedError,
    RepositoryLockedError,
    RepositoryNotFoundError,
    SnapshotOverwrittenError,
)
from .repository import Repository
from .results import PushResult

PathArg = Union[str, "os.PathLike[str]"]
_T = TypeVar("_T")
TokenArg = Union[str, bool, None]

_log = logging.getLogger("hfgit")
_live_pushers: weakref.WeakSet[CheckpointPusher] = weakref.WeakSet()


#: Seconds a checkpoint commit waits for another writer of the same work tree.
_LOCK_WAIT = 120.0

#: Errors that the same push would meet again however often it is retried: a person must act.
_PERMANENT_ERRORS: tuple[type[Exception], ...] = (
    AuthenticationError,
    RepositoryNotFoundError,
    InsecureTransportError,
    InvalidArgumentError,
    DetachedHeadError,
    DivergedError,
    PushRejectedError,
    LfsObjectRejectedError,
)


@dataclass
class _Submission:
    message: str
    snapshot: _native.Snapshot


class CheckpointPusher:
    """Commit and push checkpoints from a training loop in a background thread.

    >>> with hfgit.CheckpointPusher("my-model", token=token) as pusher:   # doctest: +SKIP
    ...     for step in range(steps):
    ...         train_step()
    ...         if step % 1000 == 0:
    ...             save_checkpoint("my-model/model.safetensors")
    ...             pusher.submit(f"step {step}")

    **What is pushed.** Every version of every file on the remote is one that a :meth:`submit`
    recorded, complete, in the commit carrying that submission's message; never a file caught
    half-written. :meth:`submit` records the files that differ from the last commit at the
    instant it is called (call it after the save has returned), without reading their content.
    How a checkpoint is written decides what can still be read later:

    - *A new file, then* ``os.replace`` *(or a new directory per checkpoint,* ``checkpoint-500/``
      *as transformers writes, or sharded files with an index JSON)*: the recorded files are
      kept by a hard link until they are read, so every submission can be committed even if the
      next save replaces or deletes them first.
    - *In place* (``open(path, "wb")``, as ``torch.save(path)`` and safetensors' ``save_file``
      do): on a file system that clones blocks (XFS, Btrfs) ``submit`` clones the files, so every
      submission can be committed. Elsewhere (ext4, tmpfs, NFS), a submission whose files are
      rewritten before the background thread has read them (reading runs at disk speed, about a
      second per GiB) is *superseded*: it is not committed, a WARNING says so, and
      :attr:`submissions_superseded` counts it; the next submission carries the new content.
      Call :meth:`wait` before saving again to have every submission pushed.

    Coalescing: a submission still waiting when a newer one arrives is replaced by it (logged
    at INFO, counted in :attr:`submissions_superseded`); the newer one records those changes too.
    The last submission is always committed and pushed by :meth:`close`.

    **When the remote moves on** (a model-card edit on the Hub website, another job's push),
    ``rebase=True`` replays the pusher's commits on top of the new remote branch and pushes
    again; a real conflict (both changed the same path) raises :class:`DivergedError`.

    **Disk.** With ``prune_lfs=True`` (the default), after each successful push the LFS objects
    the remote has and nothing local needs are removed (see :meth:`Repository.lfs_prune`), so
    ``.git`` does not grow by a checkpoint per push.

    **Failures.** Network failures are retried inside each push. A push that still fails keeps
    its commit for the next one; a WARNING names the cause and what happens next, ``on_error``
    is called with the exception, and :attr:`consecutive_failures` counts. A permanent failure
    (authentication, a read-only token, a repository that is gone, a refused ref, a conflict)
    stops pushing: submissions are still committed locally, an ERROR says so once, and
    :meth:`resume` (after fixing the cause) or :meth:`close` tries again. ``close()`` (or leaving
    the ``with`` block) waits for the last push and raises its error, if it failed. Pushes still
    pending when the interpreter exits are finished first, and any failure is printed: a
    checkpoint is never dropped silently.

    On Linux the background thread (and the native threads it starts) runs with its nice value
    raised by ``niceness``, so on a busy machine the training loop keeps its cores.

    Args:
        local_dir: The work tree (a clone).
        token: As for :func:`hfgit.push`.
        branch: Remote branch to push to (default: the upstream of the checked-out branch).
        remote: Remote name.
        lfs_concurrency: LFS transfers at once.
        author: ``"Name <email>"`` for the commits (default: git config).
        niceness: Added to the background thread's nice value (Linux); 0 leaves it.
        prune_lfs: Prune the LFS store after each successful push.
        rebase: Replay local commits on a remote that moved on, instead of failing.
        on_push: Called on the pusher thread with each :class:`PushResult`; its errors are logged.
        on_error: Called on the pusher thread with each failure; its errors are logged.
    """

    def __init__(
        self,
        local_dir: PathArg,
        *,
        token: TokenArg = None,
        branch: str | None = None,
        remote: str = "origin",
        lfs_concurrency: int = 8,
        author: str | None = None,
        niceness: int = 10,
        prune_lfs: bool = True,
        rebase: bool = True,
        on_push: Callable[[PushResult], object] | None = None,
        on_error: Callable[[Exception], object] | None = None,
    ) -> None:
        self._path = Repository(local_dir).path
        self._token = token
        self._branch = branch
        self._remote = remote
        self._lfs_concurrency = lfs_concurrency
        self._author = author
        self._niceness = niceness
        self._prune_lfs = prune_lfs
        self._rebase = rebase
        self._on_push = on_push
        self._on_error = on_error
        self._state = threading.Condition()
        self._pending: _Submission | None = None
        self._push_only = False
        self._worker: threading.Thread | None = None
        self._closed = False
        self.last_result: PushResult | None = None
        self.last_error: Exception | None = None
        #: Pushes that succeeded.
        self.pushes_completed = 0
        #: Failed pushes since the last one that succeeded.
        self.consecutive_failures = 0
        #: Submissions not committed: replaced by a newer one, or rewritten before being read.
        self.submissions_superseded = 0
        #: The permanent error that stopped pushing, until :meth:`resume`.
        self.stopped_by: Exception | None = None
        _live_pushers.add(self)

    def submit(self, message: str, paths: PathArg | Iterable[PathArg] | None = None) -> None:
        """Record the changed files (or only those under ``paths``) to commit and push them
        in the background; returns at once.

        Costs a stat of each file in scope and a hard link (or clone) per changed file: no
        content is read on the caller's thread. Raises :class:`InvalidArgumentError` for an
        empty message or bad ``paths``, and ``RuntimeError`` after :meth:`close`.
        """
        if not message.strip():
            raise InvalidArgumentError("the commit message is empty")
        with self._state:
            if self._closed:
                raise RuntimeError("this CheckpointPusher is closed")
        snapshot = _native.snapshot(self._path, paths=_path_list(paths))
        with self._state:
            replaced = self._pending
            if replaced is not None:
                replaced.snapshot.release()
                self.submissions_superseded += 1
                _log.info(
                    "checkpoint %r replaces %r, which was not committed yet",
                    message,
                    replaced.message,
                )
            self._pending = _Submission(message, snapshot)
            self._start_worker()

    def resume(self, *, token: str | None = None) -> None:
        """Push the commits made since a permanent error stopped pushing, in the background.

        Fix the cause first: grant the token write access, or pass a new ``token`` (used from now
        on). Raises ``RuntimeError`` after :meth:`close`.
        """
        with self._state:
            if self._closed:
                raise RuntimeError("this CheckpointPusher is closed")
            if token is not None:
                self._token = token
            self.stopped_by = None
            self._push_only = True
            self._start_worker()

    @property
    def busy(self) -> bool:
        """Whether a commit or push is running or waiting."""
        with self._state:
            return self._worker is not None

    def wait(self, timeout: float | None = None) -> None:
        """Block until nothing is pending or running; ``TimeoutError`` after ``timeout`` seconds."""
        with self._state:
            if not self._state.wait_for(lambda: self._worker is None, timeout):
                raise TimeoutError(f"checkpoint push still running after {timeout} s")

    def close(self) -> None:
        """Wait for the last push, try once more if it failed for a passing reason, and raise
        the error if it still failed. Further submits raise ``RuntimeError``."""
        self.wait()
        with self._state:
            retry = self.last_error is not None and self.stopped_by is None and not self._closed
            if retry:
                self._push_only = True
                self._start_worker()
        if retry:
            self.wait()
        with self._state:
            self._closed = True
            error = self.last_error
        if error is not None:
            raise error

    def __enter__(self) -> CheckpointPusher:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None:
            self.close()
            return
        # The loop itself failed: still finish the push in flight, but let its error win.
        try:
            self.close()
        except Exception as push_error:
            _log.error("checkpoint push failed while handling another error: %s", push_error)

    def __repr__(self) -> str:
        return (
            f"CheckpointPusher(path={self._path!r}, busy={self.busy}, "
            f"pushes_completed={self.pushes_completed}, "
            f"consecutive_failures={self.consecutive_failures})"
        )

    def _start_worker(self) -> None:
        """Start the background thread if none runs; call with ``_state`` held."""
        if self._worker is None:
            self._worker = threading.Thread(
                target=self._drain, name="hfgit-checkpoint-pusher", daemon=True
            )
            self._worker.start()

    def _drain(self) -> None:
        self._lower_priority()
        while True:
            with self._state:
                job, push_only = self._pending, self._push_only
                self._pending, self._push_only = None, False
                if job is None and not push_only:
                    self._worker = None
                    self._state.notify_all()
                    return
            if job is not None:
                self._commit_and_push(job)
            else:
                self._push("the commits not pushed yet")

    def _lower_priority(self) -> None:
        """Let the training loop win any fight for a core: on Linux a thread's nice value is its
        own, and the native threads this thread starts (hashing, copying, transfers) inherit it."""
        if self._niceness <= 0 or not hasattr(os, "setpriority"):
            return
        try:
            thread = threading.get_native_id()
            os.setpriority(
                os.PRIO_PROCESS, thread, os.getpriority(os.PRIO_PROCESS, thread) + self._niceness
            )
        except OSError as error:
            _log.debug("could not lower the checkpoint thread's priority: %s", error)

    def _commit(self, job: _Submission) -> None:
        """Commit the submission, waiting (up to ``_LOCK_WAIT`` seconds) while another call of
        this process or another one holds the work tree's index."""
        deadline = time.monotonic() + _LOCK_WAIT
        while True:
            try:
                _native.commit_snapshot(self._path, job.snapshot, job.message, author=self._author)
                return
            except NothingToCommitError:
                return  # an earlier commit may still wait to be pushed
            except RepositoryLockedError:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.1)  # a failed commit leaves the snapshot for the next try

    def _commit_and_push(self, job: _Submission) -> None:
        try:
            self._commit(job)
        except SnapshotOverwrittenError as error:
            with self._state:
                self.submissions_superseded += 1
            _log.warning(
                "checkpoint %r was not committed: %s The next submission carries the new content.",
                job.message,
                error,
            )
            return
        except Exception as error:
            self._failed(job.message, error, "committing")
            return
        finally:
            job.snapshot.release()
        if self.stopped_by is not None:
            _log.info(
                "checkpoint %r committed locally; pushing is stopped (%s)",
                job.message,
                self.stopped_by,
            )
            return
        self._push(repr(job.message))

    def _push(self, what: str) -> None:
        try:
            result = push(
                self._path,
                token=self._token,
                remote=self._remote,
                branch=self._branch,
                lfs_concurrency=self._lfs_concurrency,
                progress=False,
                rebase=self._rebase,
                prune_lfs=self._prune_lfs,
            )
        except Exception as error:
            self._failed(what, error, "pushing")
            return
        with self._state:
            self.last_result = result
            self.last_error = None
            self.pushes_completed += 1
            self.consecutive_failures = 0
        update = result.updates[0] if result.updates else None
        _log.info(
            "pushed checkpoint %s%s (%d LFS objects, %d bytes)",
            what,
            f" as {update.new[:12]} to {update.ref}" if update else "",
            result.lfs_objects_uploaded,
            result.lfs_bytes_uploaded,
        )
        self._call(self._on_push, result)

    def _failed(self, what: str, error: Exception, doing: str) -> None:
        permanent = isinstance(error, _PERMANENT_ERRORS)
        with self._state:
            self.last_error = error
            self.consecutive_failures += 1
            failures = self.consecutive_failures
            if permanent:
                self.stopped_by = error
        if permanent:
            _log.error(
                "%s checkpoint %s failed with an error that retrying cannot fix, so pushing "
                "has stopped: %s: %s. Later submissions are still committed locally in %s; fix "
                "the cause, then call resume() or close() to push them.",
                doing,
                what,
                type(error).__name__,
                error,
                self._path,
            )
        else:
            _log.warning(
                "%s checkpoint %s failed (%d in a row): %s: %s. Local commits are kept and go "
                "out with the next submission, or at close().",
                doing,
                what,
                failures,
                type(error).__name__,
                error,
            )
        self._call(self._on_error, error)

    def _call(self, callback: Callable[[_T], object] | None, argument: _T) -> None:
        if callback is None:
            return
        try:
            callback(argument)
        except Exception:
            _log.exception("the CheckpointPusher callback %r raised", callback)


@atexit.register
def _finish_pending_pushes() -> None:
    """At interpreter exit, finish what is running or pending, and say so if it failed."""
    for pusher in list(_live_pushers):
        if pusher.busy:
            print(f"hfgit: waiting for a checkpoint push in {pusher._path} ...", file=sys.stderr)
            pusher.wait()
        if pusher.last_error is not None and not pusher._closed:
            print(
                f"hfgit: the last checkpoint push in {pusher._path} failed: {pusher.last_error}",
                file=sys.stderr,
            )
