"""`kill -9` at the worst moment leaves nothing that grows and nothing that looks finished.

Each test runs the operation in a child process and kills it for real (SIGKILL, no cleanup
possible) at a point chosen by what it has written or by a progress event, then checks what the
next call sees: temp files swept, an unfinished clone named as such and finished by cloning again,
and `git fsck --full` clean.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import hfgit
import pytest
from gitcli import git
from hfgit.testing import LocalHub

MiB = 1024 * 1024

COMMIT = """
import sys
import hfgit
hfgit.commit(sys.argv[1], "big checkpoint", progress=False)
"""

CLONE = """
import sys
import hfgit
def report(event):
    if event.phase == sys.argv[5]:
        print("REACHED", flush=True)
hfgit.clone(sys.argv[1], sys.argv[2], token=sys.argv[3], endpoint=sys.argv[4], progress=report)
"""


def temp_files(root: Path) -> list[Path]:
    tmp = root / ".git" / "lfs" / "tmp"
    return [p for p in tmp.iterdir() if p.is_file()] if tmp.is_dir() else []


def kill_commit_mid_copy(root: Path) -> int:
    """Start a commit and SIGKILL it once its store copy has some MiB; the partial copy's size."""
    child = subprocess.Popen([sys.executable, "-c", COMMIT, str(root)])
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline and child.poll() is None:
            partial = [p.stat().st_size for p in temp_files(root)]
            if partial and max(partial) > 8 * MiB:
                os.kill(child.pid, signal.SIGKILL)
                child.wait()
                return max(partial)
            time.sleep(0.0005)
        return 0
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def test_a_commit_killed_mid_copy_leaves_no_partial_object_after_the_next_call(
    hub: LocalHub, repo_id: str, clone_dir: Path
) -> None:
    work = hfgit.clone(repo_id, clone_dir, token=hub.write_token, endpoint=hub.endpoint)
    root = Path(work.path)
    caught = 0
    for attempt in range(5):
        (root / "model.safetensors").write_bytes(bytes([attempt]) * (400 * MiB))
        caught = kill_commit_mid_copy(root)
        if caught:
            break
        work.commit("the kill came too late; try again with other bytes")
    assert caught, "never caught the commit while it copied into .git/lfs/tmp"
    assert temp_files(root), "the killed commit left its partial copy"

    status = hfgit.Repository(root).status()
    assert "model.safetensors" in status.modified + status.untracked

    assert temp_files(root) == []
    work.commit("after the kill")
    git("fsck", "--full", cwd=root)
    git("lfs", "fsck", cwd=root)
    assert git("status", "--porcelain", cwd=root) == ""


def kill_clone_at(hub: LocalHub, repo_id: str, dest: Path, phase: str) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", CLONE, repo_id, str(dest), hub.write_token, hub.endpoint, phase],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    with child.stdout:
        line = child.stdout.readline()
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    assert line.strip() == "REACHED", f"the clone ended before {phase}"


@pytest.fixture
def big_lfs_repo(hub: LocalHub, repo_id: str, tmp_path: Path) -> tuple[str, bytes]:
    seed = hfgit.clone(repo_id, tmp_path / "seed", token=hub.write_token, endpoint=hub.endpoint)
    weights = os.urandom(MiB) * 200
    (Path(seed.path) / "model.safetensors").write_bytes(weights)
    (Path(seed.path) / "config.json").write_text("{}\n")
    seed.commit("weights")
    seed.push(token=hub.write_token)
    return repo_id, weights


@pytest.mark.parametrize("phase", ["lfs-download", "receiving"])
def test_a_clone_killed_midway_is_named_interrupted_and_cloning_again_finishes_it(
    hub: LocalHub, big_lfs_repo: tuple[str, bytes], tmp_path: Path, phase: str
) -> None:
    repo_id, weights = big_lfs_repo
    dest = tmp_path / "clone"
    kill_clone_at(hub, repo_id, dest, phase)

    half = hfgit.Repository(dest)  # opens, with a warning, so that lfs_pull() can be called
    with pytest.raises(hfgit.CloneInterruptedError, match="interrupted") as info:
        half.status()
    assert "clone" in str(info.value) and "lfs_pull" in str(info.value)
    with pytest.raises(hfgit.CloneInterruptedError):
        half.pull(token=hub.write_token)
    with pytest.raises(hfgit.CloneInterruptedError):
        hfgit.commit(dest, "on top of half a clone")
    with pytest.raises(hfgit.CloneInterruptedError):
        hfgit.push(dest, token=hub.write_token)

    again = hfgit.clone(repo_id, dest, token=hub.write_token, endpoint=hub.endpoint)

    assert (Path(again.path) / "model.safetensors").read_bytes() == weights
    assert again.status().is_clean
    git("fsck", "--full", cwd=dest)
    assert git("status", "--porcelain", cwd=dest) == ""
    assert not list(tmp_path.glob(".clone.hfgit-lfs-objects"))


def test_lfs_pull_finishes_a_clone_killed_while_it_downloaded_lfs_files(
    hub: LocalHub, big_lfs_repo: tuple[str, bytes], tmp_path: Path
) -> None:
    repo_id, weights = big_lfs_repo
    dest = tmp_path / "clone"
    kill_clone_at(hub, repo_id, dest, "lfs-download")

    hfgit.Repository(dest).lfs_pull(token=hub.write_token)

    assert (dest / "model.safetensors").read_bytes() == weights
    assert hfgit.Repository(dest).status().is_clean


def test_a_clone_killed_before_it_could_mark_itself_can_be_cloned_into_again(
    hub: LocalHub, big_lfs_repo: tuple[str, bytes], tmp_path: Path
) -> None:
    repo_id, weights = big_lfs_repo
    dest = tmp_path / "clone"
    # What a kill in the first milliseconds leaves: a .git with no object and no ref.
    for part in ("objects/pack", "objects/info", "refs/heads", "refs/tags"):
        (dest / ".git" / part).mkdir(parents=True)
    (dest / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (dest / ".git" / "config.lock").write_text("")

    again = hfgit.clone(repo_id, dest, token=hub.write_token, endpoint=hub.endpoint)

    assert (Path(again.path) / "model.safetensors").read_bytes() == weights
    git("fsck", "--full", cwd=dest)
