"""Pushing and pulling, with real git on the other side, and every way a push can be refused."""

from __future__ import annotations

import os
from pathlib import Path

import hfgit
import pytest
from gitcli import git
from hfgit.testing import LocalHub


@pytest.fixture
def work(hub: LocalHub, repo_id: str, clone_dir: Path) -> hfgit.Repository:
    return hfgit.clone(repo_id, clone_dir, token=hub.write_token, endpoint=hub.endpoint)


def commit_file(repo: hfgit.Repository, name: str, content: str) -> str:
    path = Path(repo.path) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)
    return repo.commit(f"write {name}")


def test_push_is_seen_by_git_clone_with_the_same_tree(
    hub: LocalHub, repo_id: str, work: hfgit.Repository, tmp_path: Path
) -> None:
    old = work.head
    commit_file(work, "config.json", '{"hidden_size": 8}')
    commit_file(work, "nested/dir/notes.md", "# notes\n")

    result = hfgit.push(work.path, token=hub.write_token)

    assert result.updates == (hfgit.RefUpdate("refs/heads/main", old, work.head or ""),)
    assert not result.up_to_date
    git("clone", "-q", hub.repo_url(repo_id), str(tmp_path / "by-git"), token=hub.write_token)
    assert git("rev-parse", "HEAD", cwd=tmp_path / "by-git").strip() == work.head
    assert git("rev-parse", "HEAD^{tree}", cwd=tmp_path / "by-git") == git(
        "rev-parse", "HEAD^{tree}", cwd=Path(work.path)
    )
    assert (tmp_path / "by-git" / "nested/dir/notes.md").read_text() == "# notes\n"
    assert git("rev-parse", "origin/main", cwd=Path(work.path)).strip() == work.head


def test_commits_made_by_git_are_pulled_by_hfgit(
    hub: LocalHub, repo_id: str, work: hfgit.Repository, tmp_path: Path
) -> None:
    other = tmp_path / "by-git"
    git("clone", "-q", hub.repo_url(repo_id), str(other), token=hub.write_token)
    (other / "from-git.txt").write_text("hello from git")
    git("add", "-A", cwd=other)
    git("commit", "-qm", "from git", cwd=other)
    git("push", "-q", "origin", "main", cwd=other, token=hub.write_token)
    expected = git("rev-parse", "HEAD", cwd=other).strip()

    result = work.pull(token=hub.write_token)

    assert result.updated and result.new_head == expected == work.head
    assert (Path(work.path) / "from-git.txt").read_text() == "hello from git"
    assert work.status().is_clean
    assert not work.pull(token=hub.write_token).updated


def test_pushing_again_reports_up_to_date(hub: LocalHub, work: hfgit.Repository) -> None:
    commit_file(work, "a.txt", "a")
    work.push(token=hub.write_token)
    assert work.push(token=hub.write_token).up_to_date


def test_an_up_to_date_push_only_lists_refs_and_sends_no_pack(
    hub: LocalHub, repo_id: str, work: hfgit.Repository, tmp_path: Path
) -> None:
    commit_file(work, "a.txt", "a")
    work.push(token=hub.write_token)
    # A second clone that never pushed has a current remote ref but no record of pushing.
    other = hfgit.clone(repo_id, tmp_path / "other", token=hub.write_token, endpoint=hub.endpoint)
    hub.clear_requests()

    result = other.push(token=hub.write_token)

    assert result.up_to_date
    assert result.updates == (hfgit.RefUpdate("refs/heads/main", work.head, work.head or ""),)
    assert [r.path for r in hub.requests if r.method == "POST"] == []
    assert sum(r.status == 401 for r in hub.requests) <= 1


def test_non_fast_forward_push_is_rejected_and_keeps_the_local_commit(
    hub: LocalHub, repo_id: str, work: hfgit.Repository, tmp_path: Path
) -> None:
    other = hfgit.clone(repo_id, tmp_path / "other", token=hub.write_token, endpoint=hub.endpoint)
    commit_file(other, "theirs.txt", "theirs")
    other.push(token=hub.write_token)
    mine = commit_file(work, "mine.txt", "mine")

    with pytest.raises(hfgit.PushRejectedError) as info:
        work.push(token=hub.write_token)

    assert info.value.ref == "refs/heads/main"
    assert "fast-forward" in (info.value.reason or "")
    assert work.head == mine and work.branch == "main"
    with pytest.raises(hfgit.DivergedError):
        work.pull(token=hub.write_token)

    forced = work.push(token=hub.write_token, force=True)
    assert forced.updates[0].new == mine
    assert (
        git("ls-remote", hub.repo_url(repo_id), "refs/heads/main", token=hub.write_token).split()[0]
        == mine
    )


def test_read_token_push_is_an_authentication_error_and_keeps_the_commit(
    hub: LocalHub, repo_id: str, work: hfgit.Repository
) -> None:
    mine = commit_file(work, "a.txt", "a")
    remote_before = git(
        "ls-remote", hub.repo_url(repo_id), "refs/heads/main", token=hub.write_token
    )

    with pytest.raises(hfgit.AuthenticationError) as info:
        work.push(token=hub.read_token)

    assert isinstance(info.value, PermissionError)
    assert "write" in str(info.value)
    assert work.head == mine
    assert (
        git("ls-remote", hub.repo_url(repo_id), "refs/heads/main", token=hub.write_token)
        == remote_before
    )


def test_anonymous_push_says_how_to_pass_a_token(hub: LocalHub, work: hfgit.Repository) -> None:
    commit_file(work, "a.txt", "a")
    with pytest.raises(hfgit.AuthenticationError, match="HF_TOKEN"):
        work.push(token=False)


def test_server_error_during_push_keeps_the_commit_and_a_retry_succeeds(
    hub: LocalHub, work: hfgit.Repository
) -> None:
    mine = commit_file(work, "a.txt", "a")
    hub.faults.fail_next(1, status=500, path_contains="git-receive-pack")

    with pytest.raises(hfgit.NetworkError):
        work.push(token=hub.write_token)

    assert work.head == mine
    assert work.push(token=hub.write_token).updates[0].new == mine


def test_push_with_detached_head_needs_a_branch(
    hub: LocalHub, repo_id: str, work: hfgit.Repository, clone_dir: Path
) -> None:
    mine = commit_file(work, "a.txt", "a")
    git("checkout", "-q", "--detach", cwd=clone_dir)

    with pytest.raises(hfgit.DetachedHeadError):
        work.push(token=hub.write_token)

    result = work.push(token=hub.write_token, branch="from-detached")
    assert result.updates == (hfgit.RefUpdate("refs/heads/from-detached", None, mine),)


def test_pull_refuses_to_overwrite_local_edits(
    hub: LocalHub, repo_id: str, work: hfgit.Repository, tmp_path: Path
) -> None:
    other = hfgit.clone(repo_id, tmp_path / "other", token=hub.write_token, endpoint=hub.endpoint)
    commit_file(other, "shared.txt", "remote version")
    other.push(token=hub.write_token)
    (Path(work.path) / "shared.txt").write_text("my uncommitted edit")
    head = work.head

    with pytest.raises(hfgit.LocalChangesError):
        work.pull(token=hub.write_token)

    assert (Path(work.path) / "shared.txt").read_text() == "my uncommitted edit"
    assert work.head == head


def test_push_from_a_directory_that_is_not_a_repository(tmp_path: Path) -> None:
    with pytest.raises(hfgit.NotARepositoryError):
        hfgit.push(tmp_path)


def test_a_push_whose_reply_was_lost_says_it_may_have_landed_and_a_rerun_succeeds(
    hub: LocalHub, work: hfgit.Repository
) -> None:
    (Path(work.path) / "a.txt").write_text("a\n")
    mine = work.commit("a")
    hub.faults.drop_reply_next(path_contains="/git-receive-pack")

    with pytest.raises(hfgit.NetworkError) as info:
        work.push(token=hub.write_token)

    assert "may have applied it" in str(info.value)
    assert "running push() again is safe" in str(info.value)
    again = work.push(token=hub.write_token)
    assert [(u.ref, u.new) for u in again.updates] == [("refs/heads/main", mine)]


def test_a_503_on_receive_pack_names_the_status_not_a_broken_pipe(
    hub: LocalHub, work: hfgit.Repository
) -> None:
    (Path(work.path) / "corpus.txt").write_bytes(os.urandom(4 << 20).hex().encode())
    work.commit("eight MiB of text, more than a socket buffer")
    hub.faults.fail_next(status=503, path_contains="/git-receive-pack")

    with pytest.raises(hfgit.NetworkError) as info:
        work.push(token=hub.write_token)

    assert "503" in str(info.value)
    assert "Broken pipe" not in str(info.value)
    assert "nothing was applied" in str(info.value)
    work.push(token=hub.write_token)
