"""Committing with Git LFS: pointers byte-compatible with git-lfs, auto-tracking, a clean tree."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import hfgit
import pytest
from gitcli import git
from hfgit.testing import LocalHub

MiB = 1024 * 1024


@pytest.fixture
def work(hub: LocalHub, repo_id: str, clone_dir: Path) -> hfgit.Repository:
    return hfgit.clone(repo_id, clone_dir, token=hub.write_token, endpoint=hub.endpoint)


def pointer_for(data: bytes) -> str:
    oid = hashlib.sha256(data).hexdigest()
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize {len(data)}\n"


def test_tracked_file_is_committed_as_the_pointer_git_lfs_would_write(
    work: hfgit.Repository, clone_dir: Path
) -> None:
    weights = os.urandom(3 * MiB)
    (clone_dir / "model.safetensors").write_bytes(weights)

    work.commit("add weights")

    assert git("cat-file", "-p", "HEAD:model.safetensors", cwd=clone_dir) == pointer_for(weights)
    oid = hashlib.sha256(weights).hexdigest()
    stored = clone_dir / ".git" / "lfs" / "objects" / oid[:2] / oid[2:4] / oid
    assert stored.read_bytes() == weights
    assert not any((clone_dir / ".git" / "lfs" / "tmp").iterdir())
    assert (clone_dir / "model.safetensors").read_bytes() == weights


def test_tree_is_clean_for_real_git_with_git_lfs_and_for_hfgit_after_commit(
    work: hfgit.Repository, clone_dir: Path
) -> None:
    (clone_dir / "model.safetensors").write_bytes(os.urandom(2 * MiB))
    (clone_dir / "config.json").write_text("{}")
    work.commit("add")

    assert work.status().is_clean
    assert git("status", "--porcelain", cwd=clone_dir) == ""
    assert "model.safetensors" in git("lfs", "ls-files", "--name-only", cwd=clone_dir)
    git("lfs", "fsck", cwd=clone_dir)


def test_empty_tracked_file_is_committed_as_an_empty_pointer(
    work: hfgit.Repository, clone_dir: Path
) -> None:
    (clone_dir / "empty.bin").write_bytes(b"")
    work.commit("empty")
    assert git("cat-file", "-s", "HEAD:empty.bin", cwd=clone_dir).strip() == "0"


def test_big_untracked_file_is_auto_tracked_in_the_same_commit(
    work: hfgit.Repository, clone_dir: Path
) -> None:
    big = b"x" * (11 * MiB)
    (clone_dir / "logs").mkdir()
    (clone_dir / "logs" / "train log.txt").write_bytes(big)
    binary = b"\0" + os.urandom(2 * MiB)
    (clone_dir / "blob.dat").write_bytes(binary)
    (clone_dir / "small.dat").write_bytes(b"\0" * 1000)

    work.commit("auto-track")

    attributes = git("show", "HEAD:.gitattributes", cwd=clone_dir)
    assert "logs/train[[:space:]]log.txt filter=lfs diff=lfs merge=lfs -text\n" in attributes
    assert "blob.dat filter=lfs diff=lfs merge=lfs -text\n" in attributes
    assert "small.dat" not in attributes
    assert git("cat-file", "-p", "HEAD:logs/train log.txt", cwd=clone_dir) == pointer_for(big)
    assert git("cat-file", "-p", "HEAD:blob.dat", cwd=clone_dir) == pointer_for(binary)
    assert git("status", "--porcelain", cwd=clone_dir) == ""


def test_without_auto_track_a_big_file_is_refused_and_nothing_is_committed(
    work: hfgit.Repository, clone_dir: Path
) -> None:
    head = work.head
    (clone_dir / "huge.txt").write_bytes(b"y" * (10 * MiB))
    with pytest.raises(hfgit.LfsTrackingError, match=r"huge\.txt"):
        work.commit("refused", lfs_auto_track=False)
    assert work.head == head
    assert "huge.txt" not in (clone_dir / ".gitattributes").read_text()
    assert git("diff", "--cached", "--name-only", cwd=clone_dir) == ""


def test_unchanged_lfs_files_are_not_read_again(work: hfgit.Repository, clone_dir: Path) -> None:
    (clone_dir / "a.safetensors").write_bytes(os.urandom(MiB))
    work.commit("first")
    events: list[hfgit.Progress] = []
    (clone_dir / "b.safetensors").write_bytes(os.urandom(MiB))

    work.commit("second", progress=events.append)

    cleaned = [e for e in events if e.phase == "lfs-clean"]
    assert cleaned and max(e.total for e in cleaned) == 1


def test_file_unset_by_a_later_gitattributes_line_stays_a_plain_blob(
    work: hfgit.Repository, clone_dir: Path
) -> None:
    with (clone_dir / ".gitattributes").open("a") as f:
        f.write("special.bin -filter -diff -merge\n")
    (clone_dir / "special.bin").write_bytes(b"plain")
    work.commit("unset")
    assert git("cat-file", "-p", "HEAD:special.bin", cwd=clone_dir) == "plain"


def test_touched_lfs_file_with_the_same_content_is_not_reported_modified(
    work: hfgit.Repository, clone_dir: Path
) -> None:
    weights = os.urandom(MiB)
    (clone_dir / "model.safetensors").write_bytes(weights)
    work.commit("weights")
    (clone_dir / "model.safetensors").write_bytes(weights)
    os.utime(clone_dir / "model.safetensors", (1, 1))

    assert work.status().is_clean

    (clone_dir / "model.safetensors").write_bytes(os.urandom(MiB))
    assert work.status().modified == ["model.safetensors"]


def test_a_checkpoint_rewritten_in_place_is_hashed_once_per_commit(
    work: hfgit.Repository, clone_dir: Path
) -> None:
    (clone_dir / "model.safetensors").write_bytes(os.urandom(2 * MiB))
    work.commit("first")
    with (clone_dir / "model.safetensors").open("r+b") as f:
        f.write(b"changed")
    assert work.status().modified == ["model.safetensors"]
    events: list[hfgit.Progress] = []

    work.commit("second", progress=events.append)

    hashed = [e for e in events if e.phase == "lfs-clean"]
    assert hashed and max(e.total for e in hashed) == 1
    assert work.status().is_clean
    assert git("status", "--porcelain", cwd=clone_dir) == ""
