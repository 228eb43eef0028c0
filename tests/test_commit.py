"""Committing: what gets staged, who the author is, and the inputs that must be refused."""

from __future__ import annotations

from pathlib import Path

import hfgit
import pytest
from gitcli import git
from hfgit.testing import LocalHub


@pytest.fixture
def work(hub: LocalHub, repo_id: str, clone_dir: Path) -> hfgit.Repository:
    return hfgit.clone(repo_id, clone_dir, token=hub.write_token, endpoint=hub.endpoint)


def test_commit_stages_new_modified_and_deleted_files_and_honours_gitignore(
    work: hfgit.Repository, clone_dir: Path
) -> None:
    (clone_dir / "keep.txt").write_text("v1")
    (clone_dir / "gone.txt").write_text("bye")
    work.commit("first")
    (clone_dir / "keep.txt").write_text("v2")
    (clone_dir / "gone.txt").unlink()
    (clone_dir / "sub").mkdir()
    (clone_dir / "sub" / "new.json").write_text("{}")
    (clone_dir / ".gitignore").write_text("*.log\n")
    (clone_dir / "debug.log").write_text("noise")

    commit_id = hfgit.commit(clone_dir, "second")

    assert commit_id == work.head
    tree = git("ls-tree", "-r", "--name-only", "HEAD", cwd=clone_dir).split()
    assert sorted(tree) == [".gitattributes", ".gitignore", "keep.txt", "sub/new.json"]
    assert git("show", "HEAD:keep.txt", cwd=clone_dir) == "v2"
    assert git("status", "--porcelain", cwd=clone_dir) == ""
    assert work.status().is_clean


@pytest.mark.parametrize("autocrlf", [None, "input"])
def test_committed_tree_is_the_tree_git_add_writes_with_eol_attributes_symlinks_and_modes(
    work: hfgit.Repository, clone_dir: Path, tmp_path: Path, autocrlf: str | None
) -> None:
    if autocrlf:
        git("config", "core.autocrlf", autocrlf, cwd=clone_dir)
    (clone_dir / ".gitattributes").write_text(
        (clone_dir / ".gitattributes").read_text() + "*.txt text\n*.c ident\nraw/* -text\n"
    )
    (clone_dir / "windows.txt").write_bytes(b"one\r\ntwo\r\n")
    (clone_dir / "plain.md").write_bytes(b"crlf\r\nwithout attributes\r\n")
    (clone_dir / "raw").mkdir()
    (clone_dir / "raw" / "kept.txt").write_bytes(b"kept\r\n")
    (clone_dir / "id.c").write_text("/* $Id$ */\n")
    (clone_dir / "run.sh").write_text("#!/bin/sh\n")
    (clone_dir / "run.sh").chmod(0o755)
    (clone_dir / "link").symlink_to("plain.md")
    for i in range(200):
        (clone_dir / "many" / f"d{i % 9}").mkdir(parents=True, exist_ok=True)
        (clone_dir / "many" / f"d{i % 9}" / f"f{i}.json").write_text(f'{{"i": {i}}}\n')
    by_git = tmp_path / "by-git"
    git("clone", "-q", "--no-checkout", str(clone_dir), str(by_git))
    if autocrlf:
        git("config", "core.autocrlf", autocrlf, cwd=by_git)

    work.commit("mixed")

    # git stages the same files from its own work tree: the trees must be identical.
    git("--work-tree", str(clone_dir), "add", "-A", cwd=by_git)
    assert (
        git("write-tree", cwd=by_git).strip()
        == git("rev-parse", "HEAD^{tree}", cwd=clone_dir).strip()
    )
    assert git("status", "--porcelain", cwd=clone_dir) == ""


def test_paths_limits_the_commit_to_the_named_files_and_directories(
    work: hfgit.Repository, clone_dir: Path
) -> None:
    (clone_dir / "a.txt").write_text("a")
    (clone_dir / "b.txt").write_text("b")
    (clone_dir / "dir").mkdir()
    (clone_dir / "dir" / "c.txt").write_text("c")

    work.commit("only a and dir", paths=["a.txt", clone_dir / "dir"])

    tree = git("ls-tree", "-r", "--name-only", "HEAD", cwd=clone_dir).split()
    assert "a.txt" in tree and "dir/c.txt" in tree and "b.txt" not in tree
    assert work.status().untracked == ["b.txt"]


@pytest.mark.parametrize(
    "outside", ["../escape.txt", "/etc/hostname", ".git/config", "sub/../../x"]
)
def test_paths_outside_the_work_tree_are_refused_and_nothing_is_committed(
    work: hfgit.Repository, outside: str
) -> None:
    head = work.head
    with pytest.raises(hfgit.InvalidArgumentError):
        work.commit("escape", paths=[outside])
    assert work.head == head


def test_nothing_to_commit_raises_unless_empty_commits_are_allowed(work: hfgit.Repository) -> None:
    head = work.head
    with pytest.raises(hfgit.NothingToCommitError):
        work.commit("nothing")
    assert work.head == head

    empty = work.commit("empty on purpose", allow_empty=True)
    assert work.log(limit=1)[0].id == empty
    assert work.log(limit=1)[0].parents == (head,)


def test_author_defaults_to_git_config_and_can_be_given(
    work: hfgit.Repository, clone_dir: Path
) -> None:
    (clone_dir / "x").write_text("x")
    work.commit("default author")
    assert (work.log(1)[0].author_name, work.log(1)[0].author_email) == (
        "Test User",
        "test@example.com",
    )

    (clone_dir / "y").write_text("y")
    work.commit("given author", author="Ada Lovelace <ada@example.com>")
    info = work.log(1)[0]
    assert (info.author_name, info.author_email, info.summary) == (
        "Ada Lovelace",
        "ada@example.com",
        "given author",
    )


def test_malformed_author_is_refused(work: hfgit.Repository, clone_dir: Path) -> None:
    (clone_dir / "x").write_text("x")
    with pytest.raises(hfgit.InvalidArgumentError):
        work.commit("bad author", author="no email here")


def test_commit_outside_a_repository_is_not_a_repository_error(tmp_path: Path) -> None:
    with pytest.raises(hfgit.NotARepositoryError):
        hfgit.commit(tmp_path, "nope")
    with pytest.raises(hfgit.NotARepositoryError):
        hfgit.Repository(tmp_path)


def test_status_reports_each_kind_of_change(work: hfgit.Repository, clone_dir: Path) -> None:
    (clone_dir / "tracked.txt").write_text("1")
    (clone_dir / "doomed.txt").write_text("1")
    work.commit("base")
    (clone_dir / "tracked.txt").write_text("2")
    (clone_dir / "doomed.txt").unlink()
    (clone_dir / "fresh.txt").write_text("new")

    status = work.status()

    assert status.modified == ["tracked.txt"]
    assert status.deleted == ["doomed.txt"]
    assert status.untracked == ["fresh.txt"]
    assert not status.is_clean


def test_repr_shows_path_branch_head_and_remote(work: hfgit.Repository, hub: LocalHub) -> None:
    text = repr(work)
    assert "branch='main'" in text and (work.head or "")[:12] in text
    assert hub.endpoint in text and hub.write_token not in text
