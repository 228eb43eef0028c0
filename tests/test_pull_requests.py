"""Pull requests the Hub's way: a discussion whose commits live at refs/pr/N of the repo itself.

hfgit opens them (push(create_pr=True)), adds to them (push(pr=N)) and checks them out
(clone(revision="refs/pr/N")); real `git` is the oracle for what landed where, and LocalHub's
own rules (refs/pr/N only after the pull request exists, read tokens allowed there) are checked
with git alone.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import os
import subprocess
from pathlib import Path

import hfgit
import pytest
from gitcli import git, git_with_lfs, isolated_git_env
from hfgit.testing import LocalHub


@pytest.fixture
def work(hub: LocalHub, repo_id: str, clone_dir: Path) -> hfgit.Repository:
    """A clone made with a read token: a contributor without write access."""
    return hfgit.clone(repo_id, clone_dir, token=hub.read_token, endpoint=hub.endpoint)


def commit_file(repo: hfgit.Repository, name: str, content: bytes, message: str) -> str:
    (Path(repo.path) / name).write_bytes(content)
    return repo.commit(message)


def remote_ref(hub: LocalHub, repo_id: str, ref: str) -> str | None:
    out = git(
        "--git-dir", str(hub.repo_path(repo_id)), "for-each-ref", "--format=%(objectname)", ref
    )
    return out.strip() or None


def open_discussion(hub: LocalHub, repo_id: str, title: str, pull_request: bool) -> tuple[int, int]:
    """POST /api/models/{repo_id}/discussions as huggingface_hub does: (status, num)."""
    connection = http.client.HTTPConnection(hub.endpoint.removeprefix("http://"))
    try:
        connection.request(
            "POST",
            f"/api/models/{repo_id}/discussions",
            json.dumps({"title": title, "description": "", "pullRequest": pull_request}),
            {"Authorization": f"Bearer {hub.read_token}", "Content-Type": "application/json"},
        )
        response = connection.getresponse()
        return response.status, json.loads(response.read())["num"]
    finally:
        connection.close()


def test_create_pr_opens_a_pull_request_whose_ref_git_fetches_with_its_lfs_object(
    hub: LocalHub, repo_id: str, work: hfgit.Repository, tmp_path: Path
) -> None:
    weights = os.urandom(1_500_000)
    head = commit_file(work, "model.safetensors", weights, "Add weights\n\nTrained for 3 epochs.")
    hub.clear_requests()

    result = work.push(token=hub.read_token, create_pr=True)

    assert (result.pr_num, result.pr_url) == (1, f"{hub.repo_url(repo_id)}/discussions/1")
    assert result.updates[0].ref == "refs/pr/1" and result.updates[0].new == head
    [pull_request] = hub.discussions(repo_id)
    assert (pull_request.isPullRequest, pull_request.title) == (True, "Add weights")
    assert pull_request.description == "Trained for 3 epochs."
    assert remote_ref(hub, repo_id, "refs/heads/main") != head
    # LFS objects first, as for a branch: the batch and the upload come before the ref moves.
    paths = [r.path for r in hub.requests]
    receive = paths.index(f"/{repo_id}/git-receive-pack")
    assert paths.index(f"/{repo_id}.git/info/lfs/objects/batch") < receive
    assert hashlib.sha256(weights).hexdigest() in hub.lfs_objects(repo_id)

    by_git = tmp_path / "by-git"
    git_with_lfs("clone", "-q", hub.repo_url(repo_id), str(by_git), token=hub.read_token)
    git_with_lfs("fetch", "-q", "origin", "refs/pr/1:pr/1", cwd=by_git, token=hub.read_token)
    git_with_lfs("checkout", "-q", "pr/1", cwd=by_git, token=hub.read_token)
    assert git("rev-parse", "HEAD", cwd=by_git).strip() == head
    assert (by_git / "model.safetensors").read_bytes() == weights


def test_pr_title_and_description_can_be_given(
    hub: LocalHub, repo_id: str, work: hfgit.Repository
) -> None:
    commit_file(work, "a.txt", b"a", "x")

    result = work.push(
        token=hub.read_token, create_pr=True, pr_title="  Better config ", pr_description="Why."
    )

    [pull_request] = hub.discussions(repo_id)
    assert (pull_request.num, pull_request.title, pull_request.description) == (
        result.pr_num,
        "Better config",
        "Why.",
    )


def test_push_with_pr_adds_commits_to_an_existing_pull_request(
    hub: LocalHub, repo_id: str, work: hfgit.Repository
) -> None:
    commit_file(work, "a.txt", b"first", "first")
    opened = work.push(token=hub.read_token, create_pr=True)
    second = commit_file(work, "b.txt", b"second", "second")

    result = work.push(token=hub.read_token, pr=opened.pr_num)

    assert (result.pr_num, result.pr_url) == (opened.pr_num, opened.pr_url)
    assert result.updates[0].old == opened.updates[0].new
    assert remote_ref(hub, repo_id, f"refs/pr/{opened.pr_num}") == second
    assert len(hub.discussions(repo_id)) == 1
    assert work.push(token=hub.read_token, pr=opened.pr_num).up_to_date


def test_pushing_to_a_pull_request_that_does_not_exist_raises_and_pushes_nothing(
    hub: LocalHub, repo_id: str, work: hfgit.Repository
) -> None:
    commit_file(work, "a.txt", b"a", "a")
    hub.clear_requests()

    with pytest.raises(hfgit.PullRequestNotFoundError) as info:
        work.push(token=hub.read_token, pr=7)

    assert isinstance(info.value, hfgit.RevisionNotFoundError)
    assert (info.value.num, info.value.revision) == (7, "refs/pr/7")
    assert "create_pr=True" in str(info.value)
    assert [r.path for r in hub.requests] == [f"/api/models/{repo_id}/discussions/7"]


def test_a_plain_discussion_is_not_a_pull_request_to_push_to(
    hub: LocalHub, repo_id: str, work: hfgit.Repository
) -> None:
    assert open_discussion(hub, repo_id, "A question", pull_request=False) == (200, 1)
    commit_file(work, "a.txt", b"a", "a")

    with pytest.raises(hfgit.PullRequestNotFoundError, match="discussion, not a pull request"):
        work.push(token=hub.read_token, pr=1)
    assert remote_ref(hub, repo_id, "refs/pr/1") is None


def test_opening_a_pull_request_where_discussions_are_disabled_raises_before_any_upload(
    hub: LocalHub, repo_id: str, work: hfgit.Repository
) -> None:
    hub.set_discussions_enabled(repo_id, False)
    commit_file(work, "w.bin", os.urandom(1_500_000), "weights")
    hub.clear_requests()

    with pytest.raises(hfgit.PullRequestForbiddenError) as info:
        work.push(token=hub.read_token, create_pr=True)

    assert isinstance(info.value, hfgit.AuthenticationError)
    assert "403" in str(info.value) and "disabled" in str(info.value)
    assert [(r.path, r.status) for r in hub.requests] == [
        (f"/api/models/{repo_id}/discussions", 403)
    ]
    assert hub.lfs_objects(repo_id) == set()


@pytest.mark.parametrize("lfs", [False, True], ids=["git-refusal", "lfs-refusal"])
def test_a_read_token_pushing_to_main_raises_write_permission_error_naming_create_pr(
    lfs: bool, hub: LocalHub, repo_id: str, work: hfgit.Repository
) -> None:
    content = os.urandom(1_500_000) if lfs else b"small change"
    head = commit_file(work, "w.bin" if lfs else "a.txt", content, "change")
    main_before = remote_ref(hub, repo_id, "refs/heads/main")

    with pytest.raises(hfgit.WritePermissionError) as info:
        work.push(token=hub.read_token)

    error = info.value
    assert isinstance(error, hfgit.AuthenticationError) and isinstance(error, PermissionError)
    assert "create_pr=True" in str(error)
    assert error.ref == "refs/heads/main"
    if not lfs:
        # The Hub's own words, as git shows them (hub-protocol.md §2).
        assert error.reason == "DENIED update refs/heads/main: forbidden"
    assert work.head == head
    assert remote_ref(hub, repo_id, "refs/heads/main") == main_before

    result = work.push(token=hub.read_token, create_pr=True)
    assert remote_ref(hub, repo_id, f"refs/pr/{result.pr_num}") == head


def test_create_pr_replaces_the_new_pull_requests_ref_even_when_main_moved_on(
    hub: LocalHub, repo_id: str, work: hfgit.Repository, tmp_path: Path
) -> None:
    other = hfgit.clone(repo_id, tmp_path / "other", token=hub.write_token, endpoint=hub.endpoint)
    commit_file(other, "theirs.txt", b"theirs", "theirs")
    other.push(token=hub.write_token)
    mine = commit_file(work, "mine.txt", b"mine", "mine")

    result = work.push(token=hub.read_token, create_pr=True)

    assert remote_ref(hub, repo_id, f"refs/pr/{result.pr_num}") == mine


def test_clone_of_refs_pr_checks_it_out_on_a_branch_that_pushes_back_to_it(
    hub: LocalHub, repo_id: str, work: hfgit.Repository, tmp_path: Path
) -> None:
    weights = os.urandom(1_200_000)
    tip = commit_file(work, "w.bin", weights, "weights")
    opened = work.push(token=hub.read_token, create_pr=True)
    main = remote_ref(hub, repo_id, "refs/heads/main")

    reviewer = hfgit.clone(
        repo_id,
        tmp_path / "review",
        token=hub.read_token,
        endpoint=hub.endpoint,
        revision=f"refs/pr/{opened.pr_num}",
    )

    assert (reviewer.branch, reviewer.head) == (f"pr/{opened.pr_num}", tip)
    assert (tmp_path / "review" / "w.bin").read_bytes() == weights
    assert reviewer.status().is_clean
    # The author adds a commit; the reviewer's pull brings it from refs/pr/N.
    more = commit_file(work, "more.txt", b"more", "more")
    work.push(token=hub.read_token, pr=opened.pr_num)
    assert reviewer.pull(token=hub.read_token).new_head == more == reviewer.head
    fix = commit_file(reviewer, "fix.txt", b"fix", "fix from a reviewer")
    result = reviewer.push(token=hub.read_token)
    assert result.updates[0].ref == f"refs/pr/{opened.pr_num}"
    assert remote_ref(hub, repo_id, f"refs/pr/{opened.pr_num}") == fix
    assert remote_ref(hub, repo_id, "refs/heads/main") == main
    # The clone's git sees the pull request as its upstream, as `git fetch` keeps it current.
    review = tmp_path / "review"
    assert git("rev-parse", "--abbrev-ref", "@{upstream}", cwd=review).strip() == (
        f"origin/pr/{opened.pr_num}"
    )


def test_clone_of_a_missing_pull_request_raises_and_leaves_nothing(
    hub: LocalHub, repo_id: str, tmp_path: Path
) -> None:
    with pytest.raises(hfgit.PullRequestNotFoundError) as info:
        hfgit.clone(
            repo_id,
            tmp_path / "c",
            token=hub.read_token,
            endpoint=hub.endpoint,
            revision="refs/pr/4",
        )

    assert info.value.revision == "refs/pr/4"
    assert not (tmp_path / "c").exists()


def test_pull_request_arguments_that_contradict_each_other_are_refused(
    hub: LocalHub, work: hfgit.Repository
) -> None:
    commit_file(work, "a.txt", b"a", "a")
    hub.clear_requests()
    for kwargs in (
        {"create_pr": True, "pr": 1},
        {"pr_title": "a title"},
        {"create_pr": True, "branch": "dev"},
        {"pr": 0},
    ):
        with pytest.raises(hfgit.InvalidArgumentError):
            work.push(token=hub.read_token, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(hfgit.InvalidArgumentError, match="pr_title"):
        work.push(token=hub.read_token, create_pr=True, pr_title="ab")
    assert [r.path for r in hub.requests if not r.path.startswith("/api/")] == []


# ---------------------------------------------------------------------- LocalHub with git alone


def git_as(
    home: Path, *args: str, token: str, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    basic = base64.b64encode(f"hf_user:{token}".encode()).decode()
    return subprocess.run(
        ["git", "-c", f"http.extraHeader=Authorization: Basic {basic}", *args],
        cwd=cwd,
        env=isolated_git_env(home),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_localhub_lets_git_update_refs_pr_only_once_the_pull_request_exists(
    hub: LocalHub, repo_id: str, tmp_path: Path
) -> None:
    home, clone = tmp_path / "home", tmp_path / "by-git"
    assert (
        git_as(
            home, "clone", "-q", hub.repo_url(repo_id), str(clone), token=hub.read_token
        ).returncode
        == 0
    )
    (clone / "a.txt").write_text("a")
    git_as(home, "add", "a.txt", cwd=clone, token=hub.read_token)
    git_as(home, "commit", "-qm", "a", cwd=clone, token=hub.read_token)

    early = git_as(home, "push", "origin", "HEAD:refs/pr/1", cwd=clone, token=hub.write_token)
    assert early.returncode != 0
    assert "DENIED update refs/pr/1: no such pull request" in early.stderr
    assert "(pre-receive hook declined)" in early.stderr

    work = hfgit.Repository(clone)
    # Opened through the API (by hfgit, for want of another client): the ref starts at main.
    opened = work.push(token=hub.read_token, create_pr=True, pr_title="from git")
    (clone / "b.txt").write_text("b")
    git_as(home, "add", "b.txt", cwd=clone, token=hub.read_token)
    git_as(home, "commit", "-qm", "b", cwd=clone, token=hub.read_token)

    # A read token may update an existing pull request's ref (inferred for git), never main.
    later = git_as(
        home, "push", "origin", f"HEAD:refs/pr/{opened.pr_num}", cwd=clone, token=hub.read_token
    )
    assert later.returncode == 0, later.stderr
    main = git_as(home, "push", "origin", "HEAD:refs/heads/main", cwd=clone, token=hub.read_token)
    assert "DENIED update refs/heads/main: forbidden" in main.stderr


def test_localhub_creates_a_new_pull_requests_ref_at_the_tip_of_main(
    hub: LocalHub, repo_id: str, tmp_path: Path
) -> None:
    assert open_discussion(hub, repo_id, "Draft", pull_request=True) == (200, 1)

    listed = git_as(tmp_path / "home", "ls-remote", hub.repo_url(repo_id), token=hub.read_token)
    refs = dict(reversed(line.split("\t")) for line in listed.stdout.splitlines())
    assert refs["refs/pr/1"] == refs["refs/heads/main"]
