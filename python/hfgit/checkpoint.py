"""Pushing training checkpoints in the background without ever stalling the training loop.

A training script calls :meth:`CheckpointPusher.submit` every N steps and carries on at once. A
background thread commits what is on disk (LFS-aware, so multi-GB weights become pointers) and
pushes it, with the GIL released for all of the git, hashing and upload work. Submissions that
arrive while a push is running coalesce: only the latest is committed next, so a slow network
can never build up a queue of stale checkpoints, and one repo never sees two pushes at once. A
failed push keeps its commit; the next submission pushes it along with the new one.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import sys
import threading
import time
import weakref
from collections.abc import Iterable
from types import TracebackType
from typing import Union

from .api import _path_list, commit, push
from .exceptions import NothingToCommitError, RepositoryLockedError
from .repository import Repository
from .results import PushResult

PathArg = Union[str, "os.PathLike[str]"]
TokenArg = Union[str, bool, None]

_log = logging.getLogger("hfgit")
_live_pushers: weakref.WeakSet[CheckpointPusher] = weakref.WeakSet()


#: Seconds a checkpoint commit waits for another writer of the same work tree.
_LOCK_WAIT = 120.0


class CheckpointPusher:
    """Commit and push checkpoints from a training loop in a background thread.

    >>> with hfgit.CheckpointPusher("my-model", token=token) as pusher:   # doctest: +SKIP
    ...     for step in range(steps):
    ...         train_step()
    ...         if step % 1000 == 0:
    ...             save_checkpoint("my-model/model.safetensors")
    ...             pusher.submit(f"step {step}")

    ``close()`` (or leaving the ``with`` block) waits for the last push and raises its error,
    if it failed. Pushes still pending when the interpreter exits are finished first, and any
    failure is logged: a checkpoint is never dropped silently.

    On Linux the background thread (and the native threads it starts) runs with its nice value
    raised by ``niceness``, so on a busy machine the training loop keeps its cores.
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
    ) -> None:
        self._path = Repository(local_dir).path
        self._token = token
        self._branch = branch
        self._remote = remote
        self._lfs_concurrency = lfs_concurrency
        self._author = author
        self._niceness = niceness
        self._state = threading.Condition()
        self._pending: tuple[str, list[PathArg] | None] | None = None
        self._worker: threading.Thread | None = None
        self._closed = False
        self.last_result: PushResult | None = None
        self.last_error: BaseException | None = None
        self.pushes_completed = 0
        _live_pushers.add(self)

    def submit(self, message: str, paths: PathArg | Iterable[PathArg] | None = None) -> None:
        """Commit what is on disk now (or only ``paths``) and push it, in the background."""
        with self._state:
            if self._closed:
                raise RuntimeError("this CheckpointPusher is closed")
            if self._pending is not None:
                _log.info("checkpoint %r replaces %r, not pushed yet", message, self._pending[0])
            self._pending = (message, _path_list(paths))
            if self._worker is None:
                self._worker = threading.Thread(
                    target=self._drain, name="hfgit-checkpoint-pusher", daemon=True
                )
                self._worker.start()

    @property
    def busy(self) -> bool:
        """Whether a push is running or waiting."""
        with self._state:
            return self._worker is not None

    def wait(self, timeout: float | None = None) -> None:
        """Block until nothing is pending or running; ``TimeoutError`` if ``timeout`` passes."""
        with self._state:
            if not self._state.wait_for(lambda: self._worker is None, timeout):
                raise TimeoutError(f"checkpoint push still running after {timeout} s")

    def close(self) -> None:
        """Wait for the last push; raise its error if it failed. Further submits are refused."""
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
            f"pushes_completed={self.pushes_completed})"
        )

    def _drain(self) -> None:
        self._lower_priority()
        while True:
            with self._state:
                job = self._pending
                self._pending = None
                if job is None:
                    self._worker = None
                    self._state.notify_all()
                    return
            self._commit_and_push(*job)

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

    def _commit(self, message: str, paths: list[PathArg] | None) -> None:
        """Commit, waiting (up to ``_LOCK_WAIT`` seconds) while another call of this process or
        another one holds the work tree's index: the loop's own ``commit`` or a second job."""
        deadline = time.monotonic() + _LOCK_WAIT
        while True:
            try:
                # Nothing new on disk is fine: an earlier commit may still wait to be pushed.
                with contextlib.suppress(NothingToCommitError):
                    commit(self._path, message, paths=paths, author=self._author, progress=False)
                return
            except RepositoryLockedError:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.1)

    def _commit_and_push(self, message: str, paths: list[PathArg] | None) -> None:
        try:
            self._commit(message, paths)
            result = push(
                self._path,
                token=self._token,
                remote=self._remote,
                branch=self._branch,
                lfs_concurrency=self._lfs_concurrency,
                progress=False,
            )
        except Exception as error:
            with self._state:
                self.last_error = error
            _log.warning(
                "checkpoint push of %r failed; the commit is kept and goes out with the next "
                "submission: %s",
                message,
                error,
            )
            return
        with self._state:
            self.last_result = result
            self.last_error = None
            self.pushes_completed += 1
        update = result.updates[0] if result.updates else None
        _log.info(
            "pushed checkpoint %r%s (%d LFS objects, %d bytes)",
            message,
            f" as {update.new[:12]} to {update.ref}" if update else "",
            result.lfs_objects_uploaded,
            result.lfs_bytes_uploaded,
        )


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
