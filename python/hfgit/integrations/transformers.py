"""Push a transformers ``Trainer``'s checkpoints to the Hub with git, as ``push_to_hub=True`` does.

>>> from hfgit.integrations.transformers import HfGitCallback           # doctest: +SKIP
>>> args = TrainingArguments("my-model", save_steps=500)                 # doctest: +SKIP
>>> trainer = Trainer(model, args, train_dataset=data,                   # doctest: +SKIP
...                   callbacks=[HfGitCallback("your-name/my-model")])
>>> trainer.train()            # pushes on every save; waits for the last push at the end

Needs ``pip install 'hfgit-native[transformers]'``; this module imports transformers, and
``import hfgit`` does not import this module.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
from typing import TYPE_CHECKING, Any

from transformers import TrainerCallback
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR, HubStrategy
from transformers.utils import (
    CONFIG_NAME,
    GENERATION_CONFIG_NAME,
    SAFE_WEIGHTS_INDEX_NAME,
    SAFE_WEIGHTS_NAME,
    WEIGHTS_INDEX_NAME,
    WEIGHTS_NAME,
)
from transformers.utils.peft_utils import (
    ADAPTER_CONFIG_NAME,
    ADAPTER_SAFE_WEIGHTS_NAME,
    ADAPTER_WEIGHTS_NAME,
)

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

if TYPE_CHECKING:
    from transformers import TrainerControl, TrainerState, TrainingArguments

__all__ = ["HfGitCallback"]

_log = logging.getLogger(__name__)

# transformers.trainer.TRAINING_ARGS_NAME; that module needs torch to import.
TRAINING_ARGS_NAME = "training_args.bin"
#: The folder the ``checkpoint`` strategy keeps the latest checkpoint in, as the Trainer names it.
LAST_CHECKPOINT_DIR = "last-checkpoint"
#: What the Trainer's git-based ``init_git_repo`` wrote to a new ``.gitignore``.
GITIGNORE = f"{PREFIX_CHECKPOINT_DIR}-*/\n"


class HfGitCallback(TrainerCallback):
    """A ``transformers.TrainerCallback`` that commits and pushes ``args.output_dir`` with git.

    It does what ``TrainingArguments(push_to_hub=True, hub_strategy=...)`` does, through
    :class:`hfgit.CheckpointPusher`: a background thread commits (weights as Git LFS pointers)
    and pushes while training goes on, with commit messages like the Trainer's
    (``"Training in progress, step 500"`` or ``", epoch 2"``, and ``"End of training"``).

    ``repo_id_or_path`` is a repo id (``"user/name"`` or a URL; a string naming an existing
    directory is taken as a path, as ``from_pretrained`` does) or the path of a clone:

    - A repo id is cloned into ``args.output_dir`` when the Trainer is built, if that is missing
      or empty. If it already is a clone of that repository it is used as it is (a rerun goes on
      from where it was); a clone killed before it finished is cloned again. A clone of another
      repository raises :class:`hfgit.InvalidArgumentError`, any other non-empty directory
      :class:`hfgit.DirectoryNotEmptyError`, and nothing is written to it. The repository must
      exist on the Hub (git cannot create one: ``huggingface_hub.create_repo``).
    - A path must be ``args.output_dir`` itself, else :class:`hfgit.InvalidArgumentError`;
      :class:`hfgit.NotARepositoryError` if it is not a clone.

    ``hub_strategy`` (default ``"every_save"``) means what it means for the Trainer:

    - ``"end"``: one push, at the end of training.
    - ``"every_save"``: on each save, the model files of the new ``checkpoint-<step>`` folder
      (config, weights or shards and their index, adapter files, ``training_args.bin``) are
      copied to ``output_dir``, the processing class (tokenizer...) is saved there, and all of
      ``output_dir`` is committed and pushed.
    - ``"checkpoint"``: the same, and the whole checkpoint is kept in ``last-checkpoint/``
      (hard links where the file system has them, else copies) to resume from with
      ``trainer.train(resume_from_checkpoint="<output_dir>/last-checkpoint")``.
    - ``"all_checkpoints"``: ``checkpoint-*`` folders are pushed as they are; one that
      ``save_total_limit`` deletes is deleted in the next commit (history keeps it).

    Unless ``all_checkpoints``, a new clone gets the ``.gitignore`` the Trainer's git-based push
    wrote, ``checkpoint-*/``, so checkpoint folders stay out; an existing ``.gitignore`` is left
    as it is. Everything else in ``output_dir`` is committed (``runs/`` of TensorBoard too; add it
    to ``.gitignore`` to keep it out). ``revision`` (default ``None``: the repository's default
    branch, or the clone's current one) is an existing branch to clone and push to. ``token``
    (default ``None``: ``HF_TOKEN``, else the saved login) is used as :func:`hfgit.clone` and
    :func:`hfgit.push` use it, ``endpoint`` (default ``None``: ``HF_ENDPOINT``, else the Hub) as
    :func:`hfgit.clone` does. Other keyword arguments go to :class:`hfgit.CheckpointPusher`
    (``lfs_concurrency``, ``author``, ``niceness``...).

    Guarantees:

    - Only the world process zero (``state.is_world_process_zero``) clones, copies, commits or
      pushes, so a multi-GPU or multi-node run pushes once; the other processes do nothing.
    - With ``hub_always_push=False`` (the default) a save never waits for the network: as with
      the Trainer, a save that comes while the previous push is still running is not pushed
      (the files in ``output_dir`` are not touched while a commit may read them). With
      ``hub_always_push=True`` such a save waits for that push instead, so every save is pushed.
    - A failed push stops nothing: its commit is kept and goes out with the next one.
      ``on_train_end`` copies the last saved checkpoint (the best one when
      ``load_best_model_at_end``), commits and pushes it as ``"End of training"``, waits, and
      raises the error of that push if it failed (:class:`hfgit.PushRejectedError`,
      :class:`hfgit.AuthenticationError`, :class:`hfgit.NetworkError`, ...), out of
      ``trainer.train()``.

    Raises ``ValueError`` for an unknown ``hub_strategy`` and ``TypeError`` for an option
    :class:`hfgit.CheckpointPusher` does not take, here. When the Trainer is built (or at
    ``on_train_begin`` for a callback added later): ``ValueError`` if ``args.push_to_hub`` is
    true (the Trainer's own uploads would move the branch under these pushes), and what
    opening or cloning raises (above, and :func:`hfgit.clone`'s errors:
    :class:`hfgit.AuthenticationError`, :class:`hfgit.RepositoryNotFoundError`,
    :class:`hfgit.RevisionNotFoundError`, :class:`hfgit.NetworkError`...). A save raises only
    ``OSError`` from copying files (a full disk).

    ``.repo`` (:class:`hfgit.Repository`) and ``.pusher`` (:class:`hfgit.CheckpointPusher`) are
    ``None`` until the callback has set up, and stay ``None`` on processes other than zero.
    """

    def __init__(
        self,
        repo_id_or_path: RepoArg,
        *,
        token: TokenArg = None,
        hub_strategy: str | HubStrategy = "every_save",
        revision: str | None = None,
        hub_always_push: bool = False,
        endpoint: str | None = None,
        **pusher_options: Any,
    ) -> None:
        self.hub_strategy: str = HubStrategy(hub_strategy).value
        check_pusher_options(token, revision, pusher_options)
        self.repo_id_or_path = repo_id_or_path
        self.token = token
        self.revision = revision
        self.hub_always_push = hub_always_push
        self.endpoint = endpoint
        self._pusher_options = pusher_options
        self.repo: Repository | None = None
        self.pusher: CheckpointPusher | None = None
        self._world_process_zero: bool | None = None
        self._latest_checkpoint: str | None = None
        self._staged: tuple[str, str] | None = None

    # ---- Trainer events ----

    def on_init_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        """Clone or open the repository for ``args.output_dir`` (world process zero only)."""
        if self._is_process_zero(state):
            self._set_up(args)

    def on_train_begin(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        """Set up here if the callback was added after the Trainer was built."""
        if self._is_process_zero(state):
            self._set_up(args)

    def on_save(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        """The Trainer has written ``checkpoint-<global_step>``: stage it and push in the
        background, as ``hub_strategy`` says."""
        if not self._is_process_zero(state):
            return
        pusher = self._set_up(args)
        checkpoint = os.path.join(_output_dir(args), f"{PREFIX_CHECKPOINT_DIR}-{state.global_step}")
        if not os.path.isdir(checkpoint):
            _log.warning("no checkpoint folder at %s after a save; not pushing it", checkpoint)
            return
        self._latest_checkpoint = checkpoint
        if self.hub_strategy == HubStrategy.END.value:
            return
        if pusher.busy:
            if not self.hub_always_push:
                _log.info(
                    "the previous push is still running: step %d is not pushed "
                    "(hub_always_push=False)",
                    state.global_step,
                )
                return
            pusher.wait()
        self._stage(checkpoint, checkpoint, kwargs)
        if args.save_strategy == "steps":
            message = f"Training in progress, step {state.global_step}"
        else:
            message = f"Training in progress, epoch {int(state.epoch or 0)}"
        pusher.submit(message)

    def on_train_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        """Push the last checkpoint as ``"End of training"``, wait, and raise its error."""
        if not self._is_process_zero(state):
            return
        pusher = self._set_up(args)
        pusher.wait()
        latest = self._latest_checkpoint
        if latest is not None and os.path.isdir(latest):
            model_source = latest
            best = state.best_model_checkpoint
            if args.load_best_model_at_end and best is not None and os.path.isdir(best):
                model_source = best
            self._stage(model_source, latest, kwargs)
        pusher.submit("End of training")
        wait_and_raise(pusher)

    # ---- after training ----

    def push_to_hub(
        self, commit_message: str = "End of training", *, blocking: bool = True
    ) -> None:
        """Commit what ``output_dir`` holds now and push it, like ``Trainer.push_to_hub``.

        For what was written after training: ``trainer.save_model()`` (the final model when no
        save came at the last step, e.g. ``save_strategy="no"``), ``trainer.create_model_card()``.
        Nothing is copied from checkpoints. With ``blocking=True`` (the default) it waits and
        raises the push's error, if it failed; else it returns at once and the error, if any,
        is raised by the next ``push_to_hub`` or ``on_train_end``, and is in
        ``.pusher.last_error``. Nothing new on disk is no error (an earlier unpushed commit is
        pushed). On processes other than zero it does nothing, as ``Trainer.push_to_hub``.
        Raises ``RuntimeError`` when no Trainer event has reached the callback yet.
        """
        if self._world_process_zero is None:
            raise RuntimeError("this HfGitCallback has not been attached to a Trainer yet")
        if not self._world_process_zero or self.pusher is None:
            return
        self.pusher.submit(commit_message)
        if blocking:
            wait_and_raise(self.pusher)

    # ---- internals ----

    def _is_process_zero(self, state: TrainerState) -> bool:
        self._world_process_zero = bool(state.is_world_process_zero)
        return self._world_process_zero

    def _set_up(self, args: TrainingArguments) -> CheckpointPusher:
        if self.pusher is not None:
            return self.pusher
        if getattr(args, "push_to_hub", False):
            raise ValueError(
                "HfGitCallback pushes by itself: set push_to_hub=False in TrainingArguments, else "
                "the Trainer's uploads move the branch under the callback's pushes"
            )
        output_dir = _output_dir(args)
        if is_local_clone(self.repo_id_or_path):
            repo = open_clone(self.repo_id_or_path)
            if not _same_directory(repo.path, output_dir):
                raise InvalidArgumentError(
                    f"output_dir {output_dir} is not the clone {repo.path}: the Trainer would save "
                    "outside it; set TrainingArguments(output_dir=...) to the clone"
                )
        else:
            repo = open_or_clone(
                os.fspath(self.repo_id_or_path),
                output_dir,
                token=self.token,
                revision=self.revision,
                endpoint=self.endpoint,
            )
        gitignore = os.path.join(repo.path, ".gitignore")
        if self.hub_strategy != HubStrategy.ALL_CHECKPOINTS.value and not os.path.exists(gitignore):
            with open(gitignore, "w", encoding="utf-8") as file:
                file.write(GITIGNORE)
        self.repo = repo
        self.pusher = make_pusher(repo, self.token, self.revision, self._pusher_options)
        return self.pusher

    def _stage(self, model_source: str, latest: str, events: dict[str, Any]) -> None:
        """Copy what the Trainer's ``_push_from_checkpoint`` copies from ``model_source`` into
        ``output_dir``, and, for the ``checkpoint`` strategy, ``latest`` into ``last-checkpoint``.
        Called only while no commit runs."""
        assert self.repo is not None
        output_dir = self.repo.path
        if self._staged != (model_source, latest):
            for name in _modeling_files(model_source):
                _replace_file(os.path.join(model_source, name), os.path.join(output_dir, name))
            if self.hub_strategy == HubStrategy.CHECKPOINT.value:
                _link_tree(latest, os.path.join(output_dir, LAST_CHECKPOINT_DIR))
            self._staged = (model_source, latest)
        # As the Trainer does: we don't know which files it writes, so save it each time.
        processing_class = events.get("processing_class") or events.get("tokenizer")
        if processing_class is not None and hasattr(processing_class, "save_pretrained"):
            processing_class.save_pretrained(output_dir)


def _output_dir(args: TrainingArguments) -> str:
    if args.output_dir is None:  # TrainingArguments sets a default; a caller may unset it
        raise ValueError("TrainingArguments.output_dir is not set")
    return os.path.abspath(args.output_dir)


def _same_directory(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _modeling_files(checkpoint: str) -> list[str]:
    """The files of a checkpoint that the Trainer puts at the top of the repository: config,
    generation config, weights (or an index and its shards), adapter files, training args."""
    names = [CONFIG_NAME, GENERATION_CONFIG_NAME, WEIGHTS_NAME, SAFE_WEIGHTS_NAME]
    for index_name in (WEIGHTS_INDEX_NAME, SAFE_WEIGHTS_INDEX_NAME):
        index_path = os.path.join(checkpoint, index_name)
        if os.path.isfile(index_path):
            with open(index_path, encoding="utf-8") as file:
                shards = json.load(file)["weight_map"].values()
            names += [index_name, *sorted(set(shards))]
    names += [ADAPTER_CONFIG_NAME, ADAPTER_WEIGHTS_NAME, ADAPTER_SAFE_WEIGHTS_NAME]
    names.append(TRAINING_ARGS_NAME)
    return [name for name in names if os.path.isfile(os.path.join(checkpoint, name))]


def _replace_file(source: str, target: str) -> None:
    """Copy ``source`` over ``target`` as a new file: never write through a hard link into
    another one (``last-checkpoint`` shares its files with a checkpoint folder)."""
    os.makedirs(os.path.dirname(target), exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        os.remove(target)
    shutil.copyfile(source, target)


def _link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def _link_tree(source: str, target: str) -> None:
    """Make ``target`` hold what ``source`` holds: hard links (the Trainer never rewrites a
    checkpoint's files, and deleting one keeps the other), copies where links fail."""
    if os.path.isdir(target) and not os.path.islink(target):
        shutil.rmtree(target)
    elif os.path.lexists(target):
        os.remove(target)
    shutil.copytree(source, target, copy_function=_link_or_copy)
