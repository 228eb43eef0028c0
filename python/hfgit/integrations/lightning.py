"""Push the checkpoints a PyTorch Lightning ``Trainer`` saves to the Hub with git.

>>> from hfgit.integrations.lightning import HfGitCheckpointPush              # doctest: +SKIP
>>> checkpoints = ModelCheckpoint(dirpath="my-model", every_n_train_steps=500) # doctest: +SKIP
>>> trainer = L.Trainer(callbacks=[checkpoints, HfGitCheckpointPush("your-name/my-model")])
>>> trainer.fit(model)         # pushes after every save; waits for the last push at the end

Needs ``pip install 'hfgit-native[lightning]'`` (``lightning``, or the standalone
``pytorch_lightning``); this module imports it, and ``import hfgit`` does not import this module.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from typing import Any

try:
    from lightning.pytorch import Callback, LightningModule, Trainer
except ImportError:
    if importlib.util.find_spec("lightning") is not None:
        raise  # installed, but it (or torch) failed to import: that error is the one to see
    try:  # the standalone package
        from pytorch_lightning import Callback, LightningModule, Trainer
    except ImportError:
        if importlib.util.find_spec("pytorch_lightning") is not None:
            raise
        raise ImportError(
            "hfgit.integrations.lightning needs PyTorch Lightning: "
            "pip install 'hfgit-native[lightning]'"
        ) from None

from ..checkpoint import CheckpointPusher
from ..exceptions import InvalidArgumentError
from ..repository import Repository
from ._common import (
    RepoArg,
    TokenArg,
    check_pusher_options,
    is_local_clone,
    make_pusher,
    open_clone,
    open_or_clone,
    wait_and_raise,
)

__all__ = ["HfGitCheckpointPush"]

_log = logging.getLogger(__name__)

HUB_STRATEGIES = ("end", "every_save")


class HfGitCheckpointPush(Callback):
    """A Lightning ``Callback`` that commits and pushes, with git, the clone the checkpoints of a
    ``Trainer`` are saved in, after every save, through :class:`hfgit.CheckpointPusher`: a
    background thread commits (``.ckpt`` files as Git LFS pointers) and pushes while training
    goes on. Commit messages are transformers' (``"Training in progress, step 500"``,
    ``"End of training"``).

    ``repo_id_or_path`` is a repo id (``"user/name"`` or a URL; a string naming an existing
    directory is taken as a path) or the path of a clone, which is opened as it is:

    - A repo id is cloned, at ``on_fit_start``, into ``local_dir``, or when that is ``None`` into
      the ``dirpath`` of the trainer's (first) ``ModelCheckpoint``, if that is missing or empty;
      if it already is a clone of that repository it is used as it is, and a clone killed before
      it finished is cloned again. A clone of another repository raises
      :class:`hfgit.InvalidArgumentError`, any other non-empty directory
      :class:`hfgit.DirectoryNotEmptyError`, and nothing is written to it. The repository must
      exist on the Hub (git cannot create one: ``huggingface_hub.create_repo``).
    - Every ``ModelCheckpoint``'s ``dirpath`` must be inside the clone, else
      :class:`hfgit.InvalidArgumentError` (a push would never carry its files).

    The whole work tree is committed: the checkpoints ``ModelCheckpoint`` keeps, and a
    checkpoint it deletes (``save_top_k``) is deleted in the next commit (history keeps it);
    anything else in the clone too (logs, when ``local_dir`` holds them; ``.gitignore`` keeps
    out what should stay). ``hub_strategy`` is ``"every_save"`` (the default) or ``"end"``
    (one push, when fitting ends), with transformers' meaning. ``revision`` (default ``None``:
    the repository's default branch, or the clone's current one) is an existing branch to clone
    and push to. ``token`` (default ``None``: ``HF_TOKEN``, else the saved login) is used as
    :func:`hfgit.clone` and :func:`hfgit.push` use it, ``endpoint`` (default ``None``:
    ``HF_ENDPOINT``, else the Hub) as :func:`hfgit.clone` does. Other keyword arguments go to
    :class:`hfgit.CheckpointPusher` (``lfs_concurrency``, ``author``, ``niceness``...).

    When: ``on_save_checkpoint`` runs before the file is written (``trainer.save_checkpoint``
    calls it while building the checkpoint), and Lightning runs ``ModelCheckpoint`` after every
    other callback in each hook, so its saves in ``on_train_batch_end``, ``on_validation_end``,
    ``on_train_epoch_end`` and ``on_train_end`` come after this callback's turn. So a save is
    only noted there, and pushed from the next hook this callback gets, where the file is
    complete: ``on_train_batch_start``, ``on_validation_start``, ``on_train_epoch_end``,
    ``on_train_epoch_start``, ``on_train_end``, and ``on_fit_end``, which comes after
    ``ModelCheckpoint``'s own ``on_train_end`` (it may write ``last.ckpt`` there) and so makes
    the final ``"End of training"`` push. With ``AsyncCheckpointIO`` the file may still be being
    written then; a warning says so, and the next push carries the whole file.

    Guarantees:

    - Only the global rank zero (``trainer.is_global_zero``) clones, commits or pushes, so a
      multi-GPU or multi-node run pushes once; other ranks do nothing.
    - Training never waits for the network: saves that come while a push runs coalesce (the
      newest state of the clone is committed next).
    - A failed push stops nothing: its commit is kept and goes out with the next one.
      ``on_fit_end`` commits what is on disk, pushes it, waits, and raises the error of that
      push if it failed (:class:`hfgit.PushRejectedError`, :class:`hfgit.AuthenticationError`,
      :class:`hfgit.NetworkError`, ...), out of ``trainer.fit()``.

    Raises ``ValueError`` for an unknown ``hub_strategy`` or a ``local_dir`` given with a path,
    and ``TypeError`` for an option :class:`hfgit.CheckpointPusher` does not take, here. At
    ``on_fit_start``: ``ValueError`` when a repo id is given with no ``local_dir`` and no
    ``ModelCheckpoint``, and what opening or cloning raises (above;
    :class:`hfgit.NotARepositoryError` for a path that is no clone; :func:`hfgit.clone`'s errors:
    :class:`hfgit.AuthenticationError`, :class:`hfgit.RepositoryNotFoundError`,
    :class:`hfgit.NetworkError`...).

    ``.repo`` (:class:`hfgit.Repository`) and ``.pusher`` (:class:`hfgit.CheckpointPusher`) are
    ``None`` until ``on_fit_start``, and stay ``None`` on ranks other than zero.
    """

    def __init__(
        self,
        repo_id_or_path: RepoArg,
        local_dir: RepoArg | None = None,
        *,
        token: TokenArg = None,
        hub_strategy: str = "every_save",
        revision: str | None = None,
        endpoint: str | None = None,
        **pusher_options: Any,
    ) -> None:
        if hub_strategy not in HUB_STRATEGIES:
            raise ValueError(
                f"hub_strategy {hub_strategy!r} is not one of {', '.join(HUB_STRATEGIES)}"
            )
        if local_dir is not None and is_local_clone(repo_id_or_path):
            raise ValueError("local_dir is where a repo id is cloned; a clone's path needs none")
        check_pusher_options(token, revision, pusher_options)
        self.repo_id_or_path = repo_id_or_path
        self.local_dir = local_dir
        self.token = token
        self.hub_strategy = hub_strategy
        self.revision = revision
        self.endpoint = endpoint
        self._pusher_options = pusher_options
        self.repo: Repository | None = None
        self.pusher: CheckpointPusher | None = None
        self._saved_at: int | None = None

    # ---- Trainer hooks ----

    def on_fit_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """Clone or open the repository (rank zero); ``ModelCheckpoint.setup`` has resolved its
        ``dirpath`` by now."""
        if trainer.is_global_zero:
            self._set_up(trainer)

    def on_save_checkpoint(
        self, trainer: Trainer, pl_module: LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        """A checkpoint is about to be written: note it, to push it from the next hook."""
        if trainer.is_global_zero:
            self._saved_at = int(trainer.global_step)

    def on_train_batch_start(
        self, trainer: Trainer, pl_module: LightningModule, batch: Any, batch_idx: int
    ) -> None:
        self._push_saved(trainer)

    def on_train_epoch_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self._push_saved(trainer)

    def on_train_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self._push_saved(trainer)

    def on_validation_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self._push_saved(trainer)

    def on_train_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self._push_saved(trainer)

    def on_fit_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """Commit and push what is on disk as ``"End of training"``, wait, raise its error."""
        if not trainer.is_global_zero:
            return
        pusher = self._set_up(trainer)
        self._saved_at = None
        pusher.submit("End of training")
        wait_and_raise(pusher)

    # ---- internals ----

    def _push_saved(self, trainer: Trainer) -> None:
        step = self._saved_at
        if step is None or not trainer.is_global_zero or self.hub_strategy == "end":
            return
        self._saved_at = None
        self._set_up(trainer).submit(f"Training in progress, step {step}")

    def _set_up(self, trainer: Trainer) -> CheckpointPusher:
        if self.pusher is not None:
            return self.pusher
        dirpaths = [
            os.path.abspath(dirpath)
            for callback in trainer.checkpoint_callbacks
            if (dirpath := getattr(callback, "dirpath", None)) is not None
        ]
        if is_local_clone(self.repo_id_or_path):
            repo = open_clone(self.repo_id_or_path)
        else:
            target = self.local_dir if self.local_dir is not None else next(iter(dirpaths), None)
            if target is None:
                raise ValueError(
                    "HfGitCheckpointPush has nowhere to clone into: pass local_dir, or give the "
                    "Trainer a ModelCheckpoint"
                )
            repo = open_or_clone(
                os.fspath(self.repo_id_or_path),
                target,
                token=self.token,
                revision=self.revision,
                endpoint=self.endpoint,
            )
        top = os.path.realpath(repo.path)
        for dirpath in dirpaths:
            real = os.path.realpath(dirpath)
            if os.path.commonpath([top, real]) != top:
                raise InvalidArgumentError(
                    f"ModelCheckpoint saves to {dirpath}, outside the clone {repo.path}: set its "
                    "dirpath inside the clone"
                )
        checkpoint_io = getattr(trainer.strategy, "checkpoint_io", None)
        if type(checkpoint_io).__name__ == "AsyncCheckpointIO":
            _log.warning(
                "checkpoints are written in the background (AsyncCheckpointIO): a push may carry "
                "a partly written file, which the next push completes"
            )
        self.repo = repo
        self.pusher = make_pusher(repo, self.token, self.revision, self._pusher_options)
        return self.pusher
