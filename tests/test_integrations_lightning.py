"""HfGitCheckpointPush pushes what a real Lightning ``Trainer`` saves, once it is on disk.

Lightning cannot be imported without torch, and CI does not install torch (it is several GB), so
this whole module is skipped there, saying so; it runs wherever ``lightning`` imports. Every test
fits a real tiny model with a real ``Trainer`` and ``ModelCheckpoint`` on CPU; the LocalHub's
repository, read with the real git CLI and git-lfs, is the oracle.
"""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path
from typing import Any

import hfgit
import pytest
from gitcli import git, git_with_lfs
from hfgit.testing import LocalHub

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    pl = pytest.importorskip(
        "lightning.pytorch",
        reason="Lightning needs torch, which CI does not install (several GB)",
    )
    import torch
    from hfgit.integrations.lightning import HfGitCheckpointPush
    from lightning.pytorch.callbacks import ModelCheckpoint
    from torch.utils.data import DataLoader, TensorDataset

# Lightning's advice about workers, devices and deprecations is no failure of ours.
pytestmark = [
    pytest.mark.filterwarnings("ignore::UserWarning"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::FutureWarning"),
]


class Tiny(pl.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(8, 1)

    def training_step(self, batch: Any, batch_idx: int) -> Any:
        x, y = batch
        loss = torch.nn.functional.mse_loss(self.layer(x), y)
        self.log("step_metric", float(self.global_step))
        return loss

    def configure_optimizers(self) -> Any:
        return torch.optim.SGD(self.parameters(), lr=0.05)


def data() -> DataLoader[Any]:
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(48, 8, generator=generator)
    return DataLoader(TensorDataset(x, x.sum(1, keepdim=True)), batch_size=8)


def trainer(callbacks: list[Any], **options: Any) -> Any:
    settings: dict[str, Any] = {
        "max_steps": 9,
        "logger": False,
        "enable_progress_bar": False,
        "enable_model_summary": False,
        "accelerator": "cpu",
        "devices": 1,
    }
    settings.update(options)
    return pl.Trainer(callbacks=callbacks, **settings)


def hub_git(hub: LocalHub, repo_id: str, *args: str) -> str:
    return git("--git-dir", str(hub.repo_path(repo_id)), *args)


def hub_log(hub: LocalHub, repo_id: str) -> list[str]:
    return hub_git(hub, repo_id, "log", "--format=%s", "main").splitlines()


def hub_files(hub: LocalHub, repo_id: str, rev: str = "main") -> list[str]:
    return hub_git(hub, repo_id, "ls-tree", "-r", "--name-only", rev).splitlines()


def history_files(hub: LocalHub, repo_id: str) -> set[str]:
    listing = hub_git(hub, repo_id, "log", "--format=", "--name-only", "main")
    return {line for line in listing.splitlines() if line}


@pytest.fixture
def hub_env(hub: LocalHub, monkeypatch: pytest.MonkeyPatch) -> LocalHub:
    monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
    monkeypatch.setenv("HF_TOKEN", hub.write_token)
    monkeypatch.setenv("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    return hub


def top_k_checkpoints(dirpath: Path) -> ModelCheckpoint:
    """Every 3 steps, keeping the two latest and a copy as last.ckpt."""
    return ModelCheckpoint(
        dirpath=dirpath,
        every_n_train_steps=3,
        save_top_k=2,
        monitor="step_metric",
        mode="max",
        save_last=True,
    )


def test_every_save_is_pushed_once_written_and_the_repo_mirrors_the_checkpoint_dir(
    hub_env: LocalHub, repo_id: str, tmp_path: Path
) -> None:
    ckpts = tmp_path / "ckpts"
    push = HfGitCheckpointPush(repo_id)
    model = Tiny()
    trainer([push, top_k_checkpoints(ckpts)]).fit(model, data())

    log = hub_log(hub_env, repo_id)
    assert log[-2:] == ["Training in progress, step 3", "initial commit"]
    assert log[0] in ("End of training", "Training in progress, step 9")
    on_disk = sorted(p.name for p in ckpts.iterdir() if p.name != ".git")
    assert on_disk == [".gitattributes", "epoch=0-step=6.ckpt", "epoch=1-step=9.ckpt", "last.ckpt"]
    assert hub_files(hub_env, repo_id) == on_disk
    # save_top_k deleted the step 3 checkpoint: gone from the tip, still in history.
    assert "epoch=0-step=3.ckpt" in history_files(hub_env, repo_id)
    assert git("status", "--porcelain", cwd=ckpts) == ""

    # What a fresh clone by git + git-lfs gets is the checkpoint of the last step, whole.
    fresh = tmp_path / "fresh"
    git_with_lfs("clone", "-q", hub_env.repo_url(repo_id), str(fresh), token=hub_env.read_token)
    assert (fresh / "last.ckpt").read_bytes() == (ckpts / "last.ckpt").read_bytes()
    last = torch.load(fresh / "last.ckpt", weights_only=False)
    assert last["global_step"] == 9
    assert torch.equal(last["state_dict"]["layer.weight"], model.layer.weight.detach())
    assert push.pusher is not None and push.pusher.last_error is None


def test_a_checkpoint_saved_at_each_step_is_pushed_with_its_step_once_the_file_is_complete(
    hub_env: LocalHub, repo_id: str, tmp_path: Path
) -> None:
    ckpts = tmp_path / "ckpts"
    seen: list[tuple[str, str]] = []

    class Recorder(pl.Callback):
        """Runs after HfGitCheckpointPush in each hook: what did the last commit hold?"""

        def on_train_batch_start(self, *args: Any) -> None:
            if push.pusher is not None:
                push.pusher.wait()
                head = git("log", "--format=%s", "-1", cwd=ckpts).strip()
                last = ckpts / "last.ckpt"
                digest = hashlib.sha256(last.read_bytes()).hexdigest() if last.exists() else ""
                seen.append((head, digest))

    checkpoints = ModelCheckpoint(dirpath=ckpts, every_n_train_steps=1, save_last=True)
    push = HfGitCheckpointPush(repo_id)
    trainer([push, Recorder(), checkpoints], max_steps=3).fit(Tiny(), data())

    # At the start of step N+1, the commit of step N holds the file ModelCheckpoint wrote.
    assert [head for head, _ in seen] == [
        "initial commit",
        "Training in progress, step 1",
        "Training in progress, step 2",
    ]
    commits = dict(
        line.split(" ", 1)[::-1]
        for line in hub_git(hub_env, repo_id, "log", "--format=%H %s").splitlines()
    )
    for head, digest in seen[1:]:
        pointer = hub_git(hub_env, repo_id, "cat-file", "blob", f"{commits[head]}:last.ckpt")
        assert f"oid sha256:{digest}" in pointer, head


def test_hub_strategy_end_pushes_once_when_fitting_ends(
    hub_env: LocalHub, repo_id: str, tmp_path: Path
) -> None:
    ckpts = tmp_path / "ckpts"
    push = HfGitCheckpointPush(repo_id, hub_strategy="end")
    trainer([push, top_k_checkpoints(ckpts)]).fit(Tiny(), data())
    assert hub_log(hub_env, repo_id) == ["End of training", "initial commit"]
    assert "last.ckpt" in hub_files(hub_env, repo_id)


def test_local_dir_holds_the_clone_and_checkpoints_below_it_are_pushed(
    hub_env: LocalHub, repo_id: str, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    push = HfGitCheckpointPush(repo_id, local_dir=run)
    trainer([push], default_root_dir=run, max_steps=4).fit(Tiny(), data())
    assert "checkpoints/epoch=0-step=4.ckpt" in hub_files(hub_env, repo_id)


def test_a_checkpoint_dir_outside_the_clone_or_no_place_to_clone_is_refused_at_fit_start(
    hub_env: LocalHub, repo_id: str, tmp_path: Path
) -> None:
    clone = hfgit.clone(repo_id, tmp_path / "clone")
    outside = ModelCheckpoint(dirpath=tmp_path / "elsewhere")
    with pytest.raises(hfgit.InvalidArgumentError, match="outside the clone"):
        trainer([HfGitCheckpointPush(clone.path), outside]).fit(Tiny(), data())
    with pytest.raises(ValueError, match="nowhere to clone"):
        trainer([HfGitCheckpointPush(repo_id)], enable_checkpointing=False).fit(Tiny(), data())
    with pytest.raises(ValueError, match="local_dir"):
        HfGitCheckpointPush(clone.path, local_dir=tmp_path / "x")
    with pytest.raises(ValueError, match="every_save"):
        HfGitCheckpointPush(repo_id, hub_strategy="checkpoint")
    assert hub_log(hub_env, repo_id) == ["initial commit"]


def test_a_failed_push_does_not_stop_fitting_and_fit_raises_it_at_the_end(
    hub_env: LocalHub, repo_id: str, tmp_path: Path
) -> None:
    ckpts = tmp_path / "ckpts"
    push = HfGitCheckpointPush(repo_id, token=hub_env.read_token)  # clones, cannot push
    fit = trainer([push, top_k_checkpoints(ckpts)])
    with pytest.raises(hfgit.AuthenticationError):
        fit.fit(Tiny(), data())
    assert fit.global_step == 9, "every step ran"
    assert hub_log(hub_env, repo_id) == ["initial commit"]
    assert push.pusher is not None
    with pytest.raises(hfgit.AuthenticationError):
        push.pusher.close()


@pytest.mark.timeout(300)
def test_in_a_two_process_ddp_run_only_global_rank_zero_clones_and_pushes(
    hub_env: LocalHub, repo_id: str, tmp_path: Path
) -> None:
    """Two real processes (``ddp_spawn`` on CPU, gloo): both call every hook and both see
    ``on_save_checkpoint``; a second pusher would clone into a non-empty directory or race the
    first, and fail the fit."""
    ckpts = tmp_path / "ckpts"
    push = HfGitCheckpointPush(repo_id)
    fit = trainer([push, top_k_checkpoints(ckpts)], strategy="ddp_spawn", devices=2, max_steps=6)
    fit.fit(Tiny(), data())
    log = hub_log(hub_env, repo_id)
    assert log[-2:] == ["Training in progress, step 3", "initial commit"]
    assert len(log) == len(set(log)), log
    assert "last.ckpt" in hub_files(hub_env, repo_id)
    assert push.pusher is None, "this process only spawned the two ranks"
