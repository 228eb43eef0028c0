"""A pull or checkout cut short while it writes LFS files out is finished by the next call.

The branch moves before the pointers a checkout wrote are replaced by their content, so Ctrl-C
in between used to leave a 134-byte pointer where a model belongs, with a clean status and a
second pull "already up to date". The paths are now recorded in ``.git/hfgit-lfs-pending`` until
they are written out, and the next pull, checkout, reset or restore writes them first. The cut is
made here the way it happens: the smudge is skipped (``GIT_LFS_SKIP_SMUDGE``) after the checkout
recorded its paths, exactly the state a Ctrl-C between the two steps leaves.
"""

from __future__ import annotations

import os
from pathlib import Path

import hfgit
import pytest
from gitcli import git
from hfgit.testing import LocalHub

MiB = 1024 * 1024
PENDING = Path(".git") / "hfgit-lfs-pending"


def two_clones(hub: LocalHub, repo_id: str, tmp_path: Path) -> tuple[hfgit.Repository, Path]:
    kwargs = {"token": hub.write_token, "endpoint": hub.endpoint}
    writer = hfgit.clone(repo_id, tmp_path / "writer", **kwargs)
    reader = hfgit.clone(repo_id, tmp_path / "reader", **kwargs)
    return writer, Path(reader.path)


def cut_short(root: Path, paths: list[str]) -> None:
    """The state an interrupted checkout leaves: pointers in the work tree, their paths recorded."""
    (root / PENDING).write_text("".join(f"{path}\n" for path in paths))


def test_a_pull_cut_short_before_writing_lfs_files_is_finished_by_the_next_pull(
    hub: LocalHub, repo_id: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer, reader = two_clones(hub, repo_id, tmp_path)
    weights = os.urandom(3 * MiB)
    (Path(writer.path) / "model.bin").write_bytes(weights)
    writer.commit("weights")
    writer.push(token=hub.write_token)

    monkeypatch.setenv("GIT_LFS_SKIP_SMUDGE", "1")
    hfgit.Repository(reader).pull(token=hub.write_token)
    monkeypatch.delenv("GIT_LFS_SKIP_SMUDGE")
    assert (reader / "model.bin").read_bytes().startswith(b"version https://git-lfs")
    cut_short(reader, ["model.bin"])

    result = hfgit.Repository(reader).pull(token=hub.write_token)

    assert (reader / "model.bin").read_bytes() == weights
    assert not (reader / PENDING).exists()
    assert not result.updated
    assert git("status", "--porcelain", cwd=reader).strip() == ""


def test_a_checkout_finishes_what_an_interrupted_one_left_before_moving(
    hub: LocalHub, repo_id: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer, reader = two_clones(hub, repo_id, tmp_path)
    weights = os.urandom(2 * MiB)
    (Path(writer.path) / "model.bin").write_bytes(weights)
    writer.commit("weights")
    writer.push(token=hub.write_token)
    repo = hfgit.Repository(reader)
    repo.create_branch("side")
    monkeypatch.setenv("GIT_LFS_SKIP_SMUDGE", "1")
    repo.pull(token=hub.write_token)
    monkeypatch.delenv("GIT_LFS_SKIP_SMUDGE")
    cut_short(reader, ["model.bin"])

    repo.checkout("side")
    repo.checkout("main")

    assert (reader / "model.bin").read_bytes() == weights
    assert not (reader / PENDING).exists()


def test_a_pull_that_completes_leaves_no_record_behind(
    hub: LocalHub, repo_id: str, tmp_path: Path
) -> None:
    writer, reader = two_clones(hub, repo_id, tmp_path)
    (Path(writer.path) / "model.bin").write_bytes(os.urandom(MiB))
    writer.commit("weights")
    writer.push(token=hub.write_token)

    hfgit.Repository(reader).pull(token=hub.write_token)

    assert (reader / "model.bin").stat().st_size == MiB
    assert not (reader / PENDING).exists()
