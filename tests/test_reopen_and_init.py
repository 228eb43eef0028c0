"""Re-running a clone cell opens the clone it made; `hfgit.init` makes a folder that already holds
files a work tree of a Hub repo. Real git checks what is on disk and what reached the Hub."""

from __future__ import annotations

import logging
import os
import uuid
from pathlib import Path

import hfgit
import pytest
from gitcli import git, git_blob, git_with_lfs
from hfgit.testing import LocalHub
from localstate import MiB, local_state, server_ref, status_porcelain, write


@pytest.fixture
def seeded(hub: LocalHub, repo_id: str, tmp_path: Path) -> Path:
    """The remote holds a model card, a tokenizer and LFS weights, pushed by git + git-lfs."""
    seed = tmp_path / "seed"
    git_with_lfs("clone", "-q", hub.repo_url(repo_id), str(seed), token=hub.write_token)
    write(seed, "README.md", "# Model card\n")
    write(seed, "tokenizer.json", '{"vocab": {}}\n')
    write(seed, "model.safetensors", b"remote weights" * 1000)
    write(seed, "extra.safetensors", b"only on the remote" * 1000)
    git("add", "-A", cwd=seed)
    git("commit", "-qm", "remote files", cwd=seed)
    git_with_lfs("push", "-q", "origin", "main", cwd=seed, token=hub.write_token)
    return seed


# ---------------------------------------------------------------------------- clone again


def test_cloning_again_into_the_clone_opens_it_as_it_is_without_network(
    hub: LocalHub, repo_id: str, clone_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    first = hfgit.clone(repo_id, clone_dir, token=hub.write_token, endpoint=hub.endpoint)
    write(first, "config.json", '{"uncommitted": true}\n')
    write(first, "notes.md", "committed, not pushed\n")
    first.commit("local work", paths=["notes.md"])
    before = local_state(clone_dir)
    hub.clear_requests()

    with caplog.at_level(logging.INFO, logger="hfgit"):
        again = hfgit.clone(
            repo_id, clone_dir, token=hub.write_token, endpoint=hub.endpoint, revision="v9"
        )

    assert again.path == first.path
    assert hub.requests == []
    assert local_state(clone_dir) == before
    messages = [record.getMessage() for record in caplog.records]
    assert any("already holds a clone of" in m and "pull=True" in m for m in messages), messages
    assert any(
        "not at revision 'v9'" in r.getMessage() and r.levelno == logging.WARNING
        for r in caplog.records
    ), messages


def test_cloning_again_with_pull_fast_forwards_the_clone(
    hub: LocalHub, repo_id: str, clone_dir: Path, seeded: Path
) -> None:
    hfgit.clone(repo_id, clone_dir, token=hub.write_token, endpoint=hub.endpoint)
    write(seeded, "README.md", "# Model card, edited\n")
    git("commit", "-qam", "edit card", cwd=seeded)
    git_with_lfs("push", "-q", "origin", "main", cwd=seeded, token=hub.write_token)

    again = hfgit.clone(repo_id, clone_dir, token=hub.write_token, endpoint=hub.endpoint, pull=True)

    assert again.head == git("rev-parse", "HEAD", cwd=seeded).strip()
    assert (clone_dir / "README.md").read_text() == "# Model card, edited\n"
    assert status_porcelain(clone_dir) == ""


def test_cloning_into_a_clone_of_another_remote_raises_directory_not_empty_naming_both(
    hub: LocalHub, repo_id: str, clone_dir: Path
) -> None:
    other_id = f"alice/other-{uuid.uuid4().hex[:8]}"
    hub.create_repo(other_id)
    hfgit.clone(repo_id, clone_dir, token=hub.write_token, endpoint=hub.endpoint)
    before = local_state(clone_dir)

    with pytest.raises(hfgit.DirectoryNotEmptyError) as raised:
        hfgit.clone(other_id, clone_dir, token=hub.write_token, endpoint=hub.endpoint)

    assert hub.repo_url(repo_id) in str(raised.value)
    assert hub.repo_url(other_id) in str(raised.value)
    assert local_state(clone_dir) == before


def test_an_interrupted_clone_is_still_finished_by_cloning_again(
    hub: LocalHub, repo_id: str, clone_dir: Path, seeded: Path
) -> None:
    hfgit.clone(repo_id, clone_dir, token=hub.write_token, endpoint=hub.endpoint, lfs=False)
    # What a clone killed before its last step leaves: its mark, and pointer files.
    (clone_dir / ".git/hfgit-clone-incomplete").write_text("1\n")

    repo = hfgit.clone(repo_id, clone_dir, token=hub.write_token, endpoint=hub.endpoint)

    assert not (clone_dir / ".git/hfgit-clone-incomplete").exists()
    assert (clone_dir / "model.safetensors").read_bytes() == b"remote weights" * 1000
    assert repo.status().is_clean


# ---------------------------------------------------------------------------- init


def test_init_makes_an_output_dir_a_work_tree_whose_commit_goes_on_top_of_the_remote(
    hub: LocalHub, repo_id: str, seeded: Path, tmp_path: Path
) -> None:
    out = tmp_path / "output_dir"
    write(out, "README.md", "# Trained model\n")
    weights = os.urandom(2 * MiB)
    write(out, "model.safetensors", weights)
    write(out, "logs/train.log", "step 1 loss 0.5\n")
    mine = {p: (out / p).read_bytes() for p in ["README.md", "model.safetensors", "logs/train.log"]}
    remote_tip = git("rev-parse", "HEAD", cwd=seeded).strip()

    repo = hfgit.init(out, repo_id, token=hub.write_token, endpoint=hub.endpoint)

    assert (repo.branch, repo.head) == ("main", remote_tip)
    assert {p: (out / p).read_bytes() for p in mine} == mine
    # What only the remote had is there, so nothing is taken for deleted.
    assert (out / "tokenizer.json").read_text() == '{"vocab": {}}\n'
    assert (out / "extra.safetensors").read_bytes() == b"only on the remote" * 1000
    assert (out / ".gitattributes").read_bytes() == git_blob("HEAD:.gitattributes", seeded)
    assert sorted(status_porcelain(out).splitlines()) == [
        " M README.md",
        " M model.safetensors",
        "?? logs/",
    ]
    status = repo.status()
    assert (status.modified, status.untracked, status.lfs) == (
        ["README.md", "model.safetensors"],
        ["logs/train.log"],
        ["model.safetensors"],
    )
    assert git("rev-parse", "--abbrev-ref", "main@{upstream}", cwd=out).strip() == "origin/main"

    repo.commit("Upload training output")
    repo.push(token=hub.write_token)

    assert git("rev-parse", "main~1", cwd=out).strip() == remote_tip
    assert server_ref(hub, repo_id, "refs/heads/main") == repo.head
    by_git = tmp_path / "by-git"
    git_with_lfs("clone", "-q", hub.repo_url(repo_id), str(by_git), token=hub.write_token)
    assert {p: (by_git / p).read_bytes() for p in mine} == mine
    assert (by_git / "tokenizer.json").read_text() == '{"vocab": {}}\n'
    git("lfs", "fsck", cwd=by_git)
    assert git_blob("HEAD:model.safetensors", by_git).startswith(b"version https://git-lfs")


def test_init_follows_lfs_like_clone_and_running_it_again_opens_the_folder(
    hub: LocalHub, repo_id: str, seeded: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    write(out, "notes.txt", "mine\n")

    repo = hfgit.init(out, repo_id, token=hub.write_token, endpoint=hub.endpoint, lfs=False)

    assert (out / "extra.safetensors").read_bytes() == git_blob("HEAD:extra.safetensors", out)
    assert status_porcelain(out) == "?? notes.txt\n"
    before = local_state(out)
    again = hfgit.init(out, repo_id, token=hub.write_token, endpoint=hub.endpoint)
    assert again.path == repo.path
    assert local_state(out) == before
    # A clone of the same remote is found by clone() too.
    assert hfgit.clone(repo_id, out, token=hub.write_token, endpoint=hub.endpoint).path == repo.path


def test_init_on_a_remote_without_commits_starts_its_history(
    hub: LocalHub, repo_id: str, tmp_path: Path
) -> None:
    git("--git-dir", str(hub.repo_path(repo_id)), "update-ref", "-d", "refs/heads/main")
    out = tmp_path / "out"
    write(out, "config.json", "{}\n")
    write(out, "model.safetensors", os.urandom(MiB))

    repo = hfgit.init(out, repo_id, token=hub.write_token, endpoint=hub.endpoint)

    assert (repo.branch, repo.head) == ("main", None)
    assert repo.status().untracked == ["config.json", "model.safetensors"]
    first = repo.commit("first commit")
    repo.push(token=hub.write_token)
    assert git("rev-list", "--count", "main", cwd=out).strip() == "1"
    assert server_ref(hub, repo_id, "refs/heads/main") == first
    by_git = tmp_path / "by-git"
    git_with_lfs("clone", "-q", hub.repo_url(repo_id), str(by_git), token=hub.write_token)
    assert (by_git / "model.safetensors").read_bytes() == (out / "model.safetensors").read_bytes()
    # A 1 MiB binary file went to LFS by itself, as commit() does in any clone.
    git("lfs", "fsck", cwd=by_git)


def test_a_failed_init_leaves_the_folder_as_it_was(
    hub: LocalHub, repo_id: str, seeded: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    write(out, "model.safetensors", b"mine")
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    with pytest.raises(hfgit.RepositoryNotFoundError):
        hfgit.init(out, "alice/no-such-repo", token=hub.write_token, endpoint=hub.endpoint)
    with pytest.raises(hfgit.RevisionNotFoundError):
        hfgit.init(out, repo_id, token=hub.write_token, endpoint=hub.endpoint, revision="nope")

    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    missing = tmp_path / "created-by-init"
    with pytest.raises(hfgit.RepositoryNotFoundError):
        hfgit.init(missing, "alice/no-such-repo", token=hub.write_token, endpoint=hub.endpoint)
    assert not missing.exists()


def test_init_refuses_a_work_tree_of_another_remote(
    hub: LocalHub, repo_id: str, clone_dir: Path
) -> None:
    other_id = f"alice/other-{uuid.uuid4().hex[:8]}"
    hub.create_repo(other_id)
    hfgit.clone(other_id, clone_dir, token=hub.write_token, endpoint=hub.endpoint)
    before = local_state(clone_dir)

    with pytest.raises(hfgit.DirectoryNotEmptyError, match="already a git work tree"):
        hfgit.init(clone_dir, repo_id, token=hub.write_token, endpoint=hub.endpoint)

    assert local_state(clone_dir) == before


def test_a_killed_init_is_refused_by_other_calls_and_finished_by_init_again(
    hub: LocalHub, repo_id: str, seeded: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    write(out, "README.md", "# mine\n")
    hfgit.init(out, repo_id, token=hub.write_token, endpoint=hub.endpoint)
    # What a process killed during init leaves: its mark in the git directory.
    (out / ".git/hfgit-init-incomplete").write_text("1\n")

    with pytest.raises(hfgit.CloneInterruptedError, match="init"):
        hfgit.commit(out, "too early")

    repo = hfgit.init(out, repo_id, token=hub.write_token, endpoint=hub.endpoint)
    assert repo.head == git("rev-parse", "HEAD", cwd=seeded).strip()
    assert (out / "README.md").read_text() == "# mine\n"
    assert status_porcelain(out) == " M README.md\n"
