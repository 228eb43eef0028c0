"""HfGitCallback pushes a transformers Trainer's saves as ``push_to_hub=True`` would, with git.

A real ``Trainer`` needs torch, which CI does not install (it is several GB). So most tests drive
the callback through transformers' own ``CallbackHandler``, ``DefaultFlowCallback``,
``TrainingArguments``, ``TrainerState`` and ``TrainerControl``, which import without torch, in
the order ``Trainer.train`` calls them (``_run_epoch`` / ``_maybe_log_save_evaluate`` /
``_save_checkpoint``), and write each ``checkpoint-<step>`` folder with the files the Trainer
writes (real safetensors weights, a real tokenizer's files, ``trainer_state.json`` from
``TrainerState.save_to_json``; the torch pickles are opaque bytes), rotating them with
transformers' own ``rotate_checkpoints``. The last test runs a real tiny ``Trainer`` when torch
is installed. The LocalHub's repository, read with the real git CLI, is the oracle.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from pathlib import Path
from typing import Any

import hfgit
import numpy as np
import pytest
from gitcli import git, git_blob, git_with_lfs
from hfgit.testing import LocalHub

transformers = pytest.importorskip("transformers")

from hfgit.integrations.transformers import HfGitCallback  # noqa: E402
from safetensors.numpy import save_file  # noqa: E402
from tokenizers import Tokenizer, models, pre_tokenizers  # noqa: E402
from transformers import (  # noqa: E402
    PreTrainedTokenizerFast,
    TrainerControl,
    TrainerState,
    TrainingArguments,
)
from transformers.trainer_callback import CallbackHandler, DefaultFlowCallback  # noqa: E402
from transformers.trainer_utils import rotate_checkpoints  # noqa: E402


def tiny_tokenizer() -> PreTrainedTokenizerFast:
    vocab = {f"w{i}": i for i in range(16)}
    vocab["[UNK]"] = 16
    raw = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    raw.pre_tokenizer = pre_tokenizers.Whitespace()
    return PreTrainedTokenizerFast(tokenizer_object=raw, unk_token="[UNK]", pad_token="[UNK]")


def training_args(output_dir: Path, **overrides: Any) -> TrainingArguments:
    settings: dict[str, Any] = {
        "output_dir": str(output_dir),
        "max_steps": 5,
        "save_steps": 2,
        "logging_steps": 1,
        "report_to": "none",
    }
    settings.update(overrides)
    return TrainingArguments(**settings)


class TrainerEvents:
    """What ``Trainer.train`` does around its callbacks, without a model: the same events in the
    same order, and the checkpoint folders ``_save_checkpoint`` writes."""

    def __init__(
        self,
        args: TrainingArguments,
        callback: HfGitCallback,
        *,
        is_world_process_zero: bool = True,
    ) -> None:
        self.args = args
        self.tokenizer = tiny_tokenizer()
        self.handler = CallbackHandler(
            [DefaultFlowCallback(), callback], None, self.tokenizer, None, None
        )
        self.control = TrainerControl()
        self.state = TrainerState(
            is_local_process_zero=is_world_process_zero,
            is_world_process_zero=is_world_process_zero,
        )
        self.is_world_process_zero = is_world_process_zero
        # Trainer.__init__: the output dir exists (where should_save), then on_init_end.
        if is_world_process_zero:
            os.makedirs(args.output_dir, exist_ok=True)
        self.control = self.handler.on_init_end(args, self.state, self.control)
        self.weights: dict[int, np.ndarray[Any, Any]] = {}

    def train(
        self, *, steps_per_epoch: int | None = None, best_step: int | None = None
    ) -> TrainerState:
        args = self.args
        max_steps = args.max_steps
        steps_per_epoch = steps_per_epoch or max_steps
        self.state.max_steps = max_steps
        self.state.compute_steps(args, max_steps)
        self.control = self.handler.on_train_begin(args, self.state, self.control)
        for epoch in range(-(-max_steps // steps_per_epoch)):
            self.control = self.handler.on_epoch_begin(args, self.state, self.control)
            for step_in_epoch in range(1, steps_per_epoch + 1):
                self.control = self.handler.on_step_begin(args, self.state, self.control)
                self.state.global_step += 1
                self.state.epoch = epoch + step_in_epoch / steps_per_epoch
                self.control = self.handler.on_step_end(args, self.state, self.control)
                self.maybe_save(best_step)
                if self.control.should_training_stop:
                    break
            self.control = self.handler.on_epoch_end(args, self.state, self.control)
            self.maybe_save(best_step)
        self.control = self.handler.on_train_end(args, self.state, self.control)
        return self.state

    def maybe_save(self, best_step: int | None) -> None:
        if not self.control.should_save:
            return
        step = self.state.global_step
        if best_step is not None and step >= best_step:
            self.state.best_model_checkpoint = str(
                Path(self.args.output_dir) / f"checkpoint-{best_step}"
            )
        if self.is_world_process_zero:
            self.save_checkpoint(step)
        self.control = self.handler.on_save(self.args, self.state, self.control)

    def save_checkpoint(self, step: int) -> None:
        folder = Path(self.args.output_dir) / f"checkpoint-{step}"
        folder.mkdir(parents=True)
        self.weights[step] = np.full((64, 64), step, dtype=np.float32)
        save_file({"weight": self.weights[step]}, str(folder / "model.safetensors"))
        (folder / "config.json").write_text(json.dumps({"model_type": "tiny", "step": step}))
        (folder / "generation_config.json").write_text(json.dumps({"max_length": 8}))
        self.tokenizer.save_pretrained(str(folder))
        (folder / "training_args.bin").write_bytes(f"args at {step}".encode() * 50)
        (folder / "optimizer.pt").write_bytes(bytes([step]) * 4096)
        (folder / "scheduler.pt").write_bytes(b"scheduler")
        (folder / "rng_state.pth").write_bytes(os.urandom(512))
        self.state.save_to_json(str(folder / "trainer_state.json"))
        rotate_checkpoints(
            output_dir=self.args.output_dir,
            save_total_limit=self.args.save_total_limit,
            best_model_checkpoint=self.state.best_model_checkpoint,
        )


def hub_git(hub: LocalHub, repo_id: str, *args: str) -> str:
    return git("--git-dir", str(hub.repo_path(repo_id)), *args)


def hub_log(hub: LocalHub, repo_id: str) -> list[str]:
    return hub_git(hub, repo_id, "log", "--format=%s", "main").splitlines()


def hub_files(hub: LocalHub, repo_id: str, rev: str = "main") -> list[str]:
    return hub_git(hub, repo_id, "ls-tree", "-r", "--name-only", rev).splitlines()


def lfs_oid(hub: LocalHub, repo_id: str, path: str, rev: str = "main") -> str:
    pointer = hub_git(hub, repo_id, "cat-file", "blob", f"{rev}:{path}")
    assert pointer.startswith("version https://git-lfs.github.com/spec/v1"), pointer
    return pointer.split("oid sha256:")[1].split()[0]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def hub_env(hub: LocalHub, monkeypatch: pytest.MonkeyPatch) -> LocalHub:
    monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
    monkeypatch.setenv("HF_TOKEN", hub.write_token)
    monkeypatch.setenv("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    return hub


def test_every_save_clones_into_output_dir_and_pushes_each_checkpoints_model_files(
    hub_env: LocalHub, repo_id: str, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    callback = HfGitCallback(repo_id, hub_always_push=True)
    run = TrainerEvents(training_args(out), callback)
    assert (out / ".git").is_dir(), "the Trainer's output_dir is cloned when the Trainer is built"
    assert (out / ".gitignore").read_text() == "checkpoint-*/\n"
    run.train()

    assert hub_log(hub_env, repo_id) == [
        "Training in progress, step 5",
        "Training in progress, step 4",
        "Training in progress, step 2",
        "initial commit",
    ]
    files = hub_files(hub_env, repo_id)
    assert not [name for name in files if name.startswith("checkpoint-")]
    assert {
        ".gitignore",
        "config.json",
        "generation_config.json",
        "model.safetensors",
        "training_args.bin",
        "tokenizer.json",
        "tokenizer_config.json",
    } <= set(files)
    assert lfs_oid(hub_env, repo_id, "model.safetensors") == sha256(
        out / "checkpoint-5" / "model.safetensors"
    )
    config = hub_git(hub_env, repo_id, "show", "main~1:config.json")
    assert json.loads(config)["step"] == 4
    assert git("status", "--porcelain", cwd=out) == ""
    assert callback.pusher is not None and callback.pusher.last_error is None


def test_checkpoint_strategy_keeps_the_latest_whole_checkpoint_in_last_checkpoint(
    hub_env: LocalHub, repo_id: str, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    callback = HfGitCallback(repo_id, hub_strategy="checkpoint", hub_always_push=True)
    run = TrainerEvents(training_args(out, save_total_limit=1), callback)
    run.train()

    # A fresh clone by git + git-lfs has what trainer.train(resume_from_checkpoint=...) reads.
    fresh = tmp_path / "fresh"
    git_with_lfs("clone", "-q", hub_env.repo_url(repo_id), str(fresh), token=hub_env.read_token)
    last = fresh / "last-checkpoint"
    assert json.loads((last / "trainer_state.json").read_text())["global_step"] == 5
    assert (last / "optimizer.pt").read_bytes() == bytes([5]) * 4096
    assert sha256(last / "model.safetensors") == sha256(out / "checkpoint-5" / "model.safetensors")
    assert (fresh / "model.safetensors").read_bytes() == (last / "model.safetensors").read_bytes()
    assert not [name for name in hub_files(hub_env, repo_id) if name.startswith("checkpoint-")]
    # Locally, last-checkpoint shares the checkpoint's files, and outlives its rotation.
    assert (out / "last-checkpoint" / "optimizer.pt").stat().st_nlink == 2
    assert not (out / "checkpoint-4").exists()
    step_4 = hub_git(hub_env, repo_id, "show", "main~1:last-checkpoint/trainer_state.json")
    assert json.loads(step_4)["global_step"] == 4


def test_all_checkpoints_pushes_the_folders_and_deletes_a_rotated_one_in_the_next_commit(
    hub_env: LocalHub, repo_id: str, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    callback = HfGitCallback(repo_id, hub_strategy="all_checkpoints", hub_always_push=True)
    run = TrainerEvents(training_args(out, save_total_limit=2), callback)
    assert not (out / ".gitignore").exists()
    run.train()

    files = hub_files(hub_env, repo_id)
    assert "checkpoint-4/optimizer.pt" in files
    assert "checkpoint-5/trainer_state.json" in files
    assert not [name for name in files if name.startswith("checkpoint-2/")]
    assert "checkpoint-2/model.safetensors" in hub_files(hub_env, repo_id, "main~2")
    assert lfs_oid(hub_env, repo_id, "checkpoint-5/model.safetensors") == sha256(
        out / "checkpoint-5" / "model.safetensors"
    )


def test_end_pushes_once_when_training_ends_with_the_last_checkpoints_model(
    hub_env: LocalHub, repo_id: str, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    run = TrainerEvents(training_args(out), HfGitCallback(repo_id, hub_strategy="end"))
    run.train()

    assert hub_log(hub_env, repo_id) == ["End of training", "initial commit"]
    assert lfs_oid(hub_env, repo_id, "model.safetensors") == sha256(
        out / "checkpoint-5" / "model.safetensors"
    )


def test_epoch_saves_are_named_by_epoch_as_the_trainer_names_them(
    hub_env: LocalHub, repo_id: str, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    args = training_args(out, max_steps=6, save_strategy="epoch")
    run = TrainerEvents(args, HfGitCallback(repo_id, hub_always_push=True))
    run.train(steps_per_epoch=3)

    assert hub_log(hub_env, repo_id) == [
        "Training in progress, epoch 2",
        "Training in progress, epoch 1",
        "initial commit",
    ]


def test_with_load_best_model_at_end_the_end_of_training_commit_holds_the_best_model(
    hub_env: LocalHub, repo_id: str, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    args = training_args(
        out,
        eval_strategy="steps",
        eval_steps=2,
        load_best_model_at_end=True,
        metric_for_best_model="loss",
    )
    run = TrainerEvents(args, HfGitCallback(repo_id, hub_always_push=True))
    run.train(best_step=2)

    assert hub_log(hub_env, repo_id)[0] == "End of training"
    best = out / "checkpoint-2" / "model.safetensors"
    assert lfs_oid(hub_env, repo_id, "model.safetensors") == sha256(best)
    assert json.loads(hub_git(hub_env, repo_id, "show", "main:config.json"))["step"] == 2


def test_a_save_during_a_running_push_is_skipped_unless_hub_always_push(
    hub_env: LocalHub, tmp_path: Path
) -> None:
    runs = {}
    for always in (False, True):
        repo_id = f"alice/model-{uuid.uuid4().hex[:8]}"
        hub_env.create_repo(repo_id)
        out = tmp_path / f"out-{always}"
        callback = HfGitCallback(repo_id, hub_always_push=always)
        run = TrainerEvents(training_args(out, max_steps=4), callback)
        hub_env.faults.latency = 0.3  # every request: a push takes well over a second
        try:
            run.train()
        finally:
            hub_env.faults.latency = 0
        runs[always] = hub_log(hub_env, repo_id)

    # Step 4 came while step 2 was pushing: skipped, as the Trainer skips; the end pushes it.
    assert runs[False] == ["End of training", "Training in progress, step 2", "initial commit"]
    assert runs[True] == [
        "Training in progress, step 4",
        "Training in progress, step 2",
        "initial commit",
    ]


def test_only_the_world_process_zero_clones_copies_and_pushes(
    hub_env: LocalHub, repo_id: str, tmp_path: Path
) -> None:
    other = tmp_path / "rank-1"
    other_callback = HfGitCallback(repo_id)
    TrainerEvents(training_args(other), other_callback, is_world_process_zero=False).train()
    assert not other.exists()
    assert other_callback.repo is None and other_callback.pusher is None
    other_callback.push_to_hub()  # a no-op there, as Trainer.push_to_hub
    assert hub_log(hub_env, repo_id) == ["initial commit"]

    TrainerEvents(training_args(tmp_path / "rank-0"), HfGitCallback(repo_id)).train()
    assert hub_log(hub_env, repo_id)[-1] == "initial commit"
    assert len(hub_log(hub_env, repo_id)) >= 2


def test_an_output_dir_that_already_is_a_clone_of_the_repo_is_used_and_history_goes_on(
    hub_env: LocalHub, repo_id: str, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    git("clone", "-q", hub_env.repo_url(repo_id), str(out))
    (out / "README.md").write_text("# notes from the first run\n")
    git("add", "README.md", cwd=out)
    git("commit", "-qm", "First run notes", cwd=out)
    first = git("rev-parse", "HEAD", cwd=out).strip()

    TrainerEvents(training_args(out), HfGitCallback(repo_id, hub_always_push=True)).train()

    assert hub_log(hub_env, repo_id)[-3:] == [
        "Training in progress, step 2",
        "First run notes",
        "initial commit",
    ]
    assert hub_git(hub_env, repo_id, "rev-parse", "main~3").strip() == first


def test_a_clone_path_is_opened_and_must_be_the_output_dir(
    hub_env: LocalHub, repo_id: str, tmp_path: Path
) -> None:
    clone = hfgit.clone(repo_id, tmp_path / "clone")
    with pytest.raises(hfgit.InvalidArgumentError, match="output_dir"):
        TrainerEvents(training_args(tmp_path / "elsewhere"), HfGitCallback(clone.path))

    callback = HfGitCallback(Path(clone.path), hub_always_push=True)
    TrainerEvents(training_args(Path(clone.path)), callback).train()
    assert hub_log(hub_env, repo_id)[0] == "Training in progress, step 5"


def test_an_output_dir_holding_other_files_raises_directory_not_empty_and_is_left_alone(
    hub_env: LocalHub, repo_id: str, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.txt").write_text("keep me")
    with pytest.raises(hfgit.DirectoryNotEmptyError):
        TrainerEvents(training_args(out), HfGitCallback(repo_id))
    assert sorted(p.name for p in out.iterdir()) == ["mine.txt"]


def test_an_output_dir_cloned_from_another_repo_raises_invalid_argument(
    hub_env: LocalHub, repo_id: str, tmp_path: Path
) -> None:
    hub_env.create_repo("alice/other-model")
    out = tmp_path / "out"
    hfgit.clone("alice/other-model", out)
    with pytest.raises(hfgit.InvalidArgumentError, match="alice/other-model"):
        TrainerEvents(training_args(out), HfGitCallback(repo_id))
    assert hub_log(hub_env, "alice/other-model") == ["initial commit"]


def test_push_to_hub_true_in_the_training_arguments_is_refused(
    hub_env: LocalHub, repo_id: str, tmp_path: Path
) -> None:
    args = training_args(tmp_path / "out", push_to_hub=True, hub_model_id=repo_id)
    with pytest.raises(ValueError, match="push_to_hub=False"):
        TrainerEvents(args, HfGitCallback(repo_id))


def test_an_unknown_strategy_or_pusher_option_is_refused_when_the_callback_is_made() -> None:
    with pytest.raises(ValueError, match="every_save"):
        HfGitCallback("alice/model", hub_strategy="sometimes")
    with pytest.raises(TypeError):
        HfGitCallback("alice/model", no_such_option=1)
    with pytest.raises(TypeError):
        HfGitCallback("alice/model", branch="main")  # that is revision=


def test_a_failed_push_does_not_stop_training_and_on_train_end_raises_it(
    hub_env: LocalHub, repo_id: str, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    callback = HfGitCallback(repo_id, token=hub_env.read_token)  # clones, cannot push
    run = TrainerEvents(training_args(out), callback)
    with pytest.raises(hfgit.AuthenticationError) as raised:
        run.train()
    assert callback.pusher is not None
    assert raised.value is callback.pusher.last_error
    assert run.state.global_step == 5, "every step ran"
    assert hub_log(hub_env, repo_id) == ["initial commit"]
    local = git("log", "--format=%s", cwd=out).splitlines()
    assert "Training in progress, step 2" in local, "the commits are kept to go out later"
    with pytest.raises(hfgit.AuthenticationError):
        callback.pusher.close()


def test_pusher_options_and_revision_reach_the_pushes(
    hub_env: LocalHub, repo_id: str, tmp_path: Path
) -> None:
    seed = tmp_path / "seed"
    git("clone", "-q", hub_env.repo_url(repo_id), str(seed))
    git(
        "push",
        "-q",
        hub_env.repo_url(repo_id),
        "HEAD:refs/heads/run-1",
        cwd=seed,
        token=hub_env.write_token,
    )

    callback = HfGitCallback(
        repo_id, revision="run-1", author="Trainer Bot <bot@example.com>", lfs_concurrency=2
    )
    TrainerEvents(training_args(tmp_path / "out"), callback).train()

    assert hub_log(hub_env, repo_id) == ["initial commit"]
    authors = hub_git(hub_env, repo_id, "log", "--format=%an <%ae>", "run-1").splitlines()
    assert authors[0] == "Trainer Bot <bot@example.com>"
    assert "model.safetensors" in hub_files(hub_env, repo_id, "run-1")


def test_push_to_hub_after_training_pushes_what_was_saved_after_it(
    hub_env: LocalHub, repo_id: str, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    callback = HfGitCallback(repo_id)
    with pytest.raises(RuntimeError, match="not been attached"):
        callback.push_to_hub()
    TrainerEvents(training_args(out, save_strategy="no"), callback).train()
    # Nothing was saved: the end of training pushed only the new clone's .gitignore.
    assert hub_files(hub_env, repo_id) == [".gitattributes", ".gitignore"]

    (out / "README.md").write_text("---\nlicense: mit\n---\n# tiny\n")  # create_model_card()
    callback.push_to_hub("Model card")
    assert hub_log(hub_env, repo_id) == ["Model card", "End of training", "initial commit"]
    assert git_blob("main:README.md", hub_env.repo_path(repo_id)).startswith(b"---")


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.filterwarnings("ignore::FutureWarning")
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_a_real_trainer_run_pushes_a_model_that_loads_back_from_a_git_clone(
    hub_env: LocalHub, repo_id: str, tmp_path: Path
) -> None:
    """Runs only where torch is installed (CI leaves it out: it is several GB); there a real tiny
    GPT-2, built from a config, trains for 5 steps on CPU with ``save_steps=2``."""
    torch = pytest.importorskip(
        "torch", reason="torch is not installed (CI leaves it out: several GB)"
    )
    pytest.importorskip("accelerate")
    from transformers import GPT2Config, GPT2LMHeadModel, Trainer

    torch.manual_seed(0)
    model = GPT2LMHeadModel(
        GPT2Config(vocab_size=17, n_positions=8, n_embd=16, n_layer=1, n_head=2)
    )
    rows = torch.randint(0, 16, (16, 8))
    data = [{"input_ids": row, "labels": row} for row in rows]
    out = tmp_path / "out"
    args = training_args(
        out, per_device_train_batch_size=4, use_cpu=True, disable_tqdm=True, save_total_limit=1
    )
    callback = HfGitCallback(repo_id, hub_strategy="checkpoint", hub_always_push=True)
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=data,
        processing_class=tiny_tokenizer(),
        callbacks=[callback],
    )
    trainer.train()

    assert hub_log(hub_env, repo_id)[:3] == [
        "Training in progress, step 5",
        "Training in progress, step 4",
        "Training in progress, step 2",
    ]
    fresh = tmp_path / "fresh"
    git_with_lfs("clone", "-q", hub_env.repo_url(repo_id), str(fresh), token=hub_env.read_token)
    reloaded = GPT2LMHeadModel.from_pretrained(str(fresh))
    for name, tensor in trainer.model.state_dict().items():
        assert torch.equal(reloaded.state_dict()[name], tensor), name
    state = json.loads((fresh / "last-checkpoint" / "trainer_state.json").read_text())
    assert state["global_step"] == 5
    assert PreTrainedTokenizerFast.from_pretrained(str(fresh))("w1 w2")["input_ids"] == [1, 2]
