"""A training loop that saves and submits with no pause never gets a torn, truncated or
mislabelled checkpoint onto the Hub, whatever way it writes its files.

Each scenario writes step ``n`` as files of uniform bytes ``n`` and submits ``"step n"``. Then
real git reads every commit of the server's branch: each version of each checkpoint file must be
the complete file of the step its commit message names, and real git-lfs must fetch every one.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import hfgit
import pytest
from gitcli import git, git_with_lfs
from hfgit.testing import LocalHub

MiB = 1024 * 1024
STEPS = 8


@pytest.fixture
def work(hub: LocalHub, repo_id: str, clone_dir: Path) -> hfgit.Repository:
    return hfgit.clone(repo_id, clone_dir, token=hub.write_token, endpoint=hub.endpoint)


def write_in_place(path: Path, step: int, size: int) -> None:
    """As ``torch.save(path)`` and safetensors' ``save_file`` do: truncate, write in chunks."""
    path.parent.mkdir(parents=True, exist_ok=True)
    chunk = bytes([step]) * MiB
    with open(path, "wb") as file:
        for _ in range(size // MiB):
            file.write(chunk)


def write_and_replace(path: Path, step: int, size: int) -> None:
    temp = path.with_name(path.name + ".tmp")
    write_in_place(temp, step, size)
    os.replace(temp, path)


def uniform_oid(step: int, size: int) -> str:
    digest = hashlib.sha256()
    chunk = bytes([step]) * MiB
    for _ in range(size // MiB):
        digest.update(chunk)
    return digest.hexdigest()


def server_versions(hub: LocalHub, repo_id: str) -> list[tuple[str, str, dict[str, str]]]:
    """``(commit, message, {path: pointer or text})`` for every commit of the server's main."""
    bare = str(hub.repo_path(repo_id))
    versions = []
    for line in git("--git-dir", bare, "log", "--format=%H %s", "main").splitlines():
        commit, message = line.split(" ", 1)
        names = git("--git-dir", bare, "ls-tree", "-r", "--name-only", commit).split()
        files = {name: git("--git-dir", bare, "show", f"{commit}:{name}") for name in names}
        versions.append((commit, message, files))
    return versions


def pointer_of(text: str) -> tuple[str, int]:
    fields = dict(line.split(" ", 1) for line in text.strip().splitlines())
    return fields["oid"].removeprefix("sha256:"), int(fields["size"])


def assert_every_lfs_object_fetches_with_git_lfs(
    hub: LocalHub, repo_id: str, tmp_path: Path
) -> None:
    fresh = tmp_path / "git-clone"
    git_with_lfs("clone", "-q", hub.repo_url(repo_id), str(fresh), token=hub.read_token)
    git_with_lfs("lfs", "fetch", "--all", cwd=fresh, token=hub.read_token)
    git_with_lfs("lfs", "fsck", cwd=fresh, token=hub.read_token)


def step_of(message: str) -> int | None:
    return int(message.split()[1]) if message.startswith("step ") else None


def run_loop(
    work: hfgit.Repository, hub: LocalHub, save: Callable[[int], None]
) -> hfgit.CheckpointPusher:
    pusher = hfgit.CheckpointPusher(work.path, token=hub.write_token)
    with pusher:
        for step in range(1, STEPS + 1):
            save(step)
            pusher.submit(f"step {step}")
    return pusher


@pytest.mark.parametrize(
    "write", [write_in_place, write_and_replace], ids=["in place", "new file and os.replace"]
)
def test_every_pushed_checkpoint_is_the_complete_file_its_message_names(
    hub: LocalHub,
    repo_id: str,
    work: hfgit.Repository,
    tmp_path: Path,
    write: Callable[[Path, int, int], None],
) -> None:
    size = 48 * MiB
    model = Path(work.path) / "model.bin"

    pusher = run_loop(work, hub, lambda step: write(model, step, size))

    versions = [v for v in server_versions(hub, repo_id) if step_of(v[1]) is not None]
    assert versions, "no checkpoint reached the server"
    assert versions[0][1] == f"step {STEPS}", "close() must push the last submission"
    for _, message, files in versions:
        step = step_of(message)
        assert step is not None
        assert pointer_of(files["model.bin"]) == (uniform_oid(step, size), size), message
    assert len(versions) + pusher.submissions_superseded == STEPS
    assert pusher.last_error is None
    assert_every_lfs_object_fetches_with_git_lfs(hub, repo_id, tmp_path)
    if write is write_and_replace:
        # Each replaced file stays readable through the submission's own link.
        assert pusher.submissions_superseded == STEPS - len(versions)


def test_a_new_directory_per_checkpoint_with_rotation_pushes_each_one_complete(
    hub: LocalHub, repo_id: str, work: hfgit.Repository, tmp_path: Path
) -> None:
    """As transformers' Trainer saves: ``checkpoint-N/`` per save, the oldest deleted
    (``save_total_limit=2``) right after the next one is written."""
    size = 4 * MiB
    root = Path(work.path)

    def save(step: int) -> None:
        write_in_place(root / f"checkpoint-{step}" / "model.bin", step, size)
        (root / f"checkpoint-{step}" / "trainer_state.json").write_text(json.dumps({"step": step}))
        shutil.rmtree(root / f"checkpoint-{step - 2}", ignore_errors=True)

    run_loop(work, hub, save)

    for _, message, files in server_versions(hub, repo_id):
        step = step_of(message)
        if step is None:
            continue
        kept = {name.split("/")[0] for name in files if name.startswith("checkpoint-")}
        assert kept == {f"checkpoint-{s}" for s in (step - 1, step) if s >= 1}, message
        for name in kept:
            number = int(name.split("-")[1])
            assert pointer_of(files[f"{name}/model.bin"]) == (uniform_oid(number, size), size)
            assert json.loads(files[f"{name}/trainer_state.json"]) == {"step": number}
    assert server_versions(hub, repo_id)[0][1] == f"step {STEPS}"
    assert_every_lfs_object_fetches_with_git_lfs(hub, repo_id, tmp_path)


def test_sharded_checkpoints_go_out_whole_with_their_index(
    hub: LocalHub, repo_id: str, work: hfgit.Repository, tmp_path: Path
) -> None:
    """Two shards and an index JSON, all rewritten in place, as ``save_pretrained`` writes a
    sharded model: a commit never mixes shards of two steps."""
    size = 8 * MiB
    root = Path(work.path)
    shards = ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]

    def save(step: int) -> None:
        for shard in shards:
            write_in_place(root / shard, step, size)
        index = {"metadata": {"step": step}, "weight_map": {"a": shards[0], "b": shards[1]}}
        (root / "model.safetensors.index.json").write_text(json.dumps(index))

    pusher = run_loop(work, hub, save)

    versions = [v for v in server_versions(hub, repo_id) if step_of(v[1]) is not None]
    assert versions[0][1] == f"step {STEPS}"
    for _, message, files in versions:
        step = step_of(message)
        assert step is not None
        index = json.loads(files["model.safetensors.index.json"])
        assert index["metadata"]["step"] == step, message
        for shard in shards:
            assert pointer_of(files[shard]) == (uniform_oid(step, size), size), message
    assert len(versions) + pusher.submissions_superseded == STEPS
    assert_every_lfs_object_fetches_with_git_lfs(hub, repo_id, tmp_path)


def test_a_snapshot_rewritten_in_place_before_it_is_read_is_refused_and_nothing_committed(
    work: hfgit.Repository,
) -> None:
    model = Path(work.path) / "model.bin"
    write_in_place(model, 1, MiB)
    head = work.head
    snapshot = hfgit._native.snapshot(work.path)
    write_in_place(model, 2, MiB)  # in place: the snapshot's hard link sees the new bytes

    with pytest.raises(hfgit.SnapshotOverwrittenError, match=r"model\.bin"):
        hfgit._native.commit_snapshot(work.path, snapshot, "step 1")

    assert work.head == head
    assert [entry.path for entry in work.status().entries] == ["model.bin"]


def test_a_pusher_submission_overwritten_before_it_was_read_is_superseded_and_logged(
    hub: LocalHub, repo_id: str, work: hfgit.Repository, caplog: pytest.LogCaptureFixture
) -> None:
    model = Path(work.path) / "model.bin"
    with open(Path(work.path) / ".git" / "hfgit-index.lock", "a+") as lock:
        # Another writer holds the index, so the pusher cannot read step 1 before step 2 lands.
        fcntl.flock(lock, fcntl.LOCK_EX)
        pusher = hfgit.CheckpointPusher(work.path, token=hub.write_token)
        write_in_place(model, 1, MiB)
        pusher.submit("step 1")
        time.sleep(0.3)
        write_in_place(model, 2, MiB)
        fcntl.flock(lock, fcntl.LOCK_UN)
    pusher.wait(timeout=60)
    assert pusher.submissions_superseded == 1
    assert "'step 1' was not committed" in caplog.text
    assert "model.bin" in caplog.text

    pusher.submit("step 2")
    pusher.close()

    versions = [v for v in server_versions(hub, repo_id) if step_of(v[1]) is not None]
    assert [message for _, message, _ in versions] == ["step 2"]
    assert pointer_of(versions[0][2]["model.bin"]) == (uniform_oid(2, MiB), MiB)


def test_a_replaced_checkpoint_becomes_the_lfs_object_itself_without_a_second_copy(
    work: hfgit.Repository,
) -> None:
    model = Path(work.path) / "model.bin"
    write_in_place(model, 1, 2 * MiB)
    first_inode = model.stat().st_ino
    snapshot = hfgit._native.snapshot(work.path)
    write_and_replace(model, 2, 2 * MiB)  # the loop moves on before the commit reads step 1

    hfgit._native.commit_snapshot(work.path, snapshot, "step 1")

    oid = uniform_oid(1, 2 * MiB)
    stored = Path(work.path) / ".git" / "lfs" / "objects" / oid[:2] / oid[2:4] / oid
    assert stored.stat().st_ino == first_inode
    assert stored.stat().st_nlink == 1
    assert hashlib.sha256(stored.read_bytes()).hexdigest() == oid
    assert [entry.path for entry in work.status().entries] == ["model.bin"]
