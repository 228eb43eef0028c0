"""Branches, tags, checkout, fetch and pull-request checkouts, with real git reading what hfgit
wrote (refs, tag objects, trees, `git status`, `git lfs fsck`) and real git + git-lfs as the
other writer on the Hub side."""

from __future__ import annotations

import json
import os
import urllib.request
from pathlib import Path

import hfgit
import pytest
from gitcli import git, git_blob, git_with_lfs
from hfgit.testing import LocalHub
from localstate import MiB, local_state, pointer_oid, server_ref, status_porcelain, write


@pytest.fixture
def work(hub: LocalHub, repo_id: str, clone_dir: Path) -> hfgit.Repository:
    """An hfgit clone whose first commit (a config and LFS weights) is on the server."""
    repo = hfgit.clone(repo_id, clone_dir, token=hub.write_token, endpoint=hub.endpoint)
    write(repo, "config.json", '{"lr": 0.1}\n')
    write(repo, "model.safetensors", os.urandom(MiB))
    repo.commit("first checkpoint")
    repo.push(token=hub.write_token)
    return repo


@pytest.fixture
def other(hub: LocalHub, repo_id: str, work: hfgit.Repository, tmp_path: Path) -> Path:
    """A real git + git-lfs clone: another job pushing to the same repo."""
    path = tmp_path / "by-git"
    git_with_lfs("clone", "-q", hub.repo_url(repo_id), str(path), token=hub.write_token)
    return path


def git_push(hub: LocalHub, other: Path, message: str, refspec: str = "HEAD") -> str:
    git("add", "-A", cwd=other)
    git("commit", "-qm", message, cwd=other)
    git_with_lfs("push", "-q", "origin", refspec, cwd=other, token=hub.write_token)
    return git("rev-parse", "HEAD", cwd=other).strip()


# ---------------------------------------------------------------------------- branches


def test_branches_lists_local_and_remote_tracking_branches_and_marks_the_current_one(
    work: hfgit.Repository,
) -> None:
    head = work.head or ""
    assert work.create_branch("experiment") == head

    assert work.branches() == [
        hfgit.BranchInfo("experiment", head),
        hfgit.BranchInfo("main", head, current=True, upstream="origin/main"),
        hfgit.BranchInfo("origin/main", head, remote=True),
    ]
    root = Path(work.path)
    assert git("rev-parse", "refs/heads/experiment", cwd=root).strip() == head
    assert git("symbolic-ref", "HEAD", cwd=root).strip() == "refs/heads/main"


def test_create_branch_at_a_revision_and_from_a_remote_branch_which_it_then_tracks(
    hub: LocalHub, work: hfgit.Repository, other: Path
) -> None:
    first = work.head or ""
    write(work, "notes.md", "second\n")
    work.commit("second")
    git("switch", "-qc", "sweep", cwd=other)
    write(other, "sweep.json", "{}\n")
    sweep_tip = git_push(hub, other, "sweep run", "sweep")
    work.fetch(token=hub.write_token)

    assert work.create_branch("old", "HEAD~1") == first
    assert work.create_branch("sweep", "origin/sweep") == sweep_tip

    root = Path(work.path)
    assert git("rev-parse", "old", cwd=root).strip() == first
    assert git("rev-parse", "--abbrev-ref", "sweep@{upstream}", cwd=root).strip() == "origin/sweep"
    assert git("rev-parse", "--abbrev-ref", "HEAD", cwd=root).strip() == "main"
    assert status_porcelain(root) == ""


def test_creating_a_branch_that_exists_raises_revision_exists_unless_exist_ok(
    work: hfgit.Repository,
) -> None:
    first = work.head or ""
    work.create_branch("dev")
    write(work, "a.txt", "a\n")
    work.commit("a")
    before = local_state(Path(work.path))

    with pytest.raises(hfgit.RevisionExistsError, match="dev") as raised:
        work.create_branch("dev", "HEAD")

    assert raised.value.revision == "dev"
    assert local_state(Path(work.path)) == before
    assert work.create_branch("dev", "HEAD", exist_ok=True) == first


@pytest.mark.parametrize("name", ["", "has space", "a..b", "HEAD", "-dash", "x~1", "y:z"])
def test_branch_names_git_refuses_are_invalid_arguments(work: hfgit.Repository, name: str) -> None:
    with pytest.raises(hfgit.InvalidArgumentError):
        work.create_branch(name)
    assert [b.name for b in work.branches()] == ["main", "origin/main"]


def test_checkout_switches_branch_files_and_lfs_content_and_git_sees_a_clean_tree(
    work: hfgit.Repository,
) -> None:
    root = Path(work.path)
    main_weights = (root / "model.safetensors").read_bytes()
    work.checkout("dev", create=True)
    dev_weights = os.urandom(MiB + 1)
    write(work, "model.safetensors", dev_weights)
    write(work, "dev-only.txt", "dev\n")
    dev = work.commit("dev weights")

    head = work.checkout("main")

    assert head == git("rev-parse", "main", cwd=root).strip()
    assert work.branch == "main"
    assert (root / "model.safetensors").read_bytes() == main_weights
    assert not (root / "dev-only.txt").exists()
    assert status_porcelain(root) == ""
    git("lfs", "fsck", cwd=root)

    assert work.checkout("dev") == dev
    assert (root / "model.safetensors").read_bytes() == dev_weights
    assert git("symbolic-ref", "HEAD", cwd=root).strip() == "refs/heads/dev"
    assert status_porcelain(root) == ""


def test_checkout_of_a_branch_only_the_remote_has_creates_a_tracking_branch_with_its_lfs_files(
    hub: LocalHub, work: hfgit.Repository, other: Path
) -> None:
    git("switch", "-qc", "eval", cwd=other)
    weights = os.urandom(MiB)
    write(other, "eval.safetensors", weights)
    tip = git_push(hub, other, "eval weights", "eval")
    work.fetch(token=hub.write_token)

    assert work.checkout("eval", token=hub.write_token) == tip

    root = Path(work.path)
    assert (root / "eval.safetensors").read_bytes() == weights
    assert git("rev-parse", "--abbrev-ref", "eval@{upstream}", cwd=root).strip() == "origin/eval"
    assert status_porcelain(root) == ""
    git("lfs", "fsck", cwd=root)


def test_checkout_of_a_tag_or_commit_detaches_head(work: hfgit.Repository) -> None:
    first = work.head or ""
    write(work, "config.json", '{"lr": 0.2}\n')
    work.commit("lr 0.2")
    work.create_tag("v1", "HEAD~1")

    assert work.checkout("v1") == first

    root = Path(work.path)
    assert work.branch is None
    assert git("rev-parse", "HEAD", cwd=root).strip() == first
    assert (root / "config.json").read_text() == '{"lr": 0.1}\n'
    assert status_porcelain(root) == ""
    work.checkout("main")
    assert work.branch == "main"


def test_checkout_refuses_to_overwrite_uncommitted_changes_naming_them_and_changes_nothing(
    work: hfgit.Repository,
) -> None:
    work.checkout("dev", create=True)
    write(work, "config.json", '{"lr": 0.5}\n')
    write(work, "model.safetensors", os.urandom(MiB))
    work.commit("dev changes")
    work.checkout("main")
    write(work, "config.json", '{"lr": "mine"}\n')
    write(work, "model.safetensors", b"my unsaved weights" * 1000)
    root = Path(work.path)
    before = local_state(root)

    with pytest.raises(hfgit.LocalChangesError) as raised:
        work.checkout("dev")

    assert "config.json" in str(raised.value)
    assert "model.safetensors" in str(raised.value)
    assert local_state(root) == before
    assert work.branch == "main"


def test_uncommitted_changes_to_files_the_checkout_leaves_alone_are_carried_over(
    work: hfgit.Repository,
) -> None:
    work.checkout("dev", create=True)
    write(work, "dev.txt", "dev\n")
    work.commit("dev file")
    work.checkout("main")
    write(work, "config.json", '{"lr": "mine"}\n')
    write(work, "scratch.txt", "untracked\n")

    work.checkout("dev")

    root = Path(work.path)
    assert (root / "config.json").read_text() == '{"lr": "mine"}\n'
    assert (root / "dev.txt").read_text() == "dev\n"
    assert sorted(status_porcelain(root).splitlines()) == [" M config.json", "?? scratch.txt"]


def test_an_untracked_file_where_the_checkout_writes_one_is_refused(
    work: hfgit.Repository,
) -> None:
    work.checkout("dev", create=True)
    write(work, "results.json", '{"acc": 1}\n')
    work.commit("results")
    work.checkout("main")
    write(work, "results.json", "mine, not committed\n")

    with pytest.raises(hfgit.LocalChangesError, match=r"results\.json"):
        work.checkout("dev")

    assert (Path(work.path) / "results.json").read_text() == "mine, not committed\n"
    assert work.branch == "main"


def test_checkout_of_an_unknown_revision_or_an_existing_branch_with_create_changes_nothing(
    work: hfgit.Repository,
) -> None:
    root = Path(work.path)
    before = local_state(root)

    with pytest.raises(hfgit.RevisionNotFoundError) as raised:
        work.checkout("no-such-branch")
    assert raised.value.revision == "no-such-branch"
    with pytest.raises(hfgit.RevisionExistsError):
        work.checkout("main", create=True)

    assert local_state(root) == before


def test_checkout_leaves_lfs_files_as_pointers_under_git_lfs_skip_smudge(
    work: hfgit.Repository, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = Path(work.path)
    work.checkout("dev", create=True)
    write(work, "model.safetensors", os.urandom(MiB))
    work.commit("dev weights")
    work.checkout("main")
    monkeypatch.setenv("GIT_LFS_SKIP_SMUDGE", "1")

    work.checkout("dev")

    assert (root / "model.safetensors").read_bytes() == git_blob("HEAD:model.safetensors", root)
    assert status_porcelain(root) == ""


def test_checkout_downloads_the_lfs_objects_the_store_lacks_before_switching(
    hub: LocalHub, repo_id: str, work: hfgit.Repository, tmp_path: Path
) -> None:
    work.checkout("v2", create=True)
    weights = os.urandom(MiB)
    write(work, "model.safetensors", weights)
    work.commit("v2 weights")
    work.push(token=hub.write_token)
    fresh = hfgit.clone(
        repo_id, tmp_path / "fresh", token=hub.write_token, endpoint=hub.endpoint, lfs=False
    )
    root = Path(fresh.path)
    assert (root / "model.safetensors").read_bytes() == git_blob("HEAD:model.safetensors", root)

    fresh.checkout("v2", token=hub.write_token)

    assert (root / "model.safetensors").read_bytes() == weights
    assert status_porcelain(root) == ""
    git("lfs", "fsck", cwd=root)


def test_push_of_a_new_branch_creates_it_on_the_hub_and_its_tracking_branch(
    hub: LocalHub, repo_id: str, work: hfgit.Repository
) -> None:
    work.checkout("lr-sweep", create=True)
    write(work, "model.safetensors", os.urandom(MiB))
    tip = work.commit("sweep weights")

    result = work.push(token=hub.write_token)

    assert result.updates[0].ref == "refs/heads/lr-sweep"
    assert result.updates[0].old is None
    assert server_ref(hub, repo_id, "refs/heads/lr-sweep") == tip
    assert server_ref(hub, repo_id, "refs/heads/main") != tip
    assert result.lfs_objects_uploaded == 1
    assert "origin/lr-sweep" in [b.name for b in work.branches()]

    result = work.push(token=hub.write_token, branch="copy-of-sweep")
    assert server_ref(hub, repo_id, "refs/heads/copy-of-sweep") == tip


def test_delete_branch_removes_a_merged_branch_and_refuses_the_checked_out_one(
    work: hfgit.Repository,
) -> None:
    work.create_branch("merged")
    root = Path(work.path)
    before = local_state(root)

    with pytest.raises(hfgit.BranchCheckedOutError, match="main"):
        work.delete_branch("main")
    assert local_state(root) == before

    work.delete_branch("merged")
    assert "merged" not in git("branch", "--list", cwd=root)
    with pytest.raises(hfgit.RevisionNotFoundError):
        work.delete_branch("merged")


def test_delete_branch_with_commits_nothing_else_has_is_refused_unless_forced(
    work: hfgit.Repository,
) -> None:
    work.checkout("scratch", create=True)
    write(work, "scratch.txt", "1\n")
    work.commit("scratch 1")
    write(work, "scratch.txt", "2\n")
    work.commit("scratch 2")
    work.checkout("main")
    root = Path(work.path)
    before = local_state(root)

    with pytest.raises(hfgit.UnmergedBranchError, match="2 commit"):
        work.delete_branch("scratch")
    assert local_state(root) == before

    work.delete_branch("scratch", force=True)
    assert git("branch", "--list", "scratch", cwd=root) == ""


def test_delete_branch_on_the_remote_too_keeps_the_local_one_when_the_remote_refuses(
    hub: LocalHub, repo_id: str, work: hfgit.Repository
) -> None:
    work.checkout("old-run", create=True)
    write(work, "run.txt", "old\n")
    work.commit("old run")
    work.push(token=hub.write_token)
    work.checkout("main")
    root = Path(work.path)

    # Its commit is on no other branch: deleting it everywhere would lose it.
    with pytest.raises(hfgit.UnmergedBranchError):
        work.delete_branch("old-run", remote=True, token=hub.write_token)
    with pytest.raises(hfgit.AuthenticationError):
        work.delete_branch("old-run", remote=True, force=True, token=hub.read_token)
    assert server_ref(hub, repo_id, "refs/heads/old-run") is not None
    assert git("branch", "--list", "old-run", cwd=root).strip() == "old-run"

    work.delete_branch("old-run", remote=True, force=True, token=hub.write_token)

    assert server_ref(hub, repo_id, "refs/heads/old-run") is None
    assert git("branch", "--all", "--list", "*old-run", cwd=root) == ""
    assert [b.name for b in work.branches()] == ["main", "origin/main"]


# ---------------------------------------------------------------------------- tags


def test_tags_are_lightweight_or_annotated_as_git_cat_file_sees_them(
    work: hfgit.Repository,
) -> None:
    root = Path(work.path)
    first = work.head or ""
    write(work, "config.json", '{"lr": 0.2}\n')
    second = work.commit("second")

    assert work.create_tag("light", "HEAD~1") == first
    assert work.create_tag("v1.0", message="Release 1.0  \n\nEval: 0.93\n\n") == second

    assert git("cat-file", "-t", "light", cwd=root).strip() == "commit"
    assert git("cat-file", "-t", "v1.0", cwd=root).strip() == "tag"
    assert git("rev-parse", "v1.0^{commit}", cwd=root).strip() == second
    tag_object = git("cat-file", "tag", "v1.0", cwd=root)
    assert "tagger Test User <test@example.com>" in tag_object
    assert tag_object.endswith("Release 1.0\n\nEval: 0.93\n")
    assert work.tags() == [
        hfgit.TagInfo("light", first),
        hfgit.TagInfo("v1.0", second, annotated=True, message="Release 1.0\n\nEval: 0.93\n"),
    ]


def test_a_tag_that_exists_raises_revision_exists_and_is_left_as_it_is(
    work: hfgit.Repository,
) -> None:
    first = work.head or ""
    work.create_tag("v1")
    write(work, "a.txt", "a\n")
    work.commit("a")

    with pytest.raises(hfgit.RevisionExistsError, match="v1"):
        work.create_tag("v1", message="again")

    root = Path(work.path)
    assert git("rev-parse", "v1", cwd=root).strip() == first
    assert work.create_tag("v1", exist_ok=True) == first
    with pytest.raises(hfgit.RevisionNotFoundError):
        work.create_tag("v2", "no-such-revision")
    assert git("tag", "--list", cwd=root).split() == ["v1"]


def test_push_tag_of_an_unpushed_commit_uploads_its_lfs_objects_first(
    hub: LocalHub, repo_id: str, work: hfgit.Repository, tmp_path: Path
) -> None:
    weights = os.urandom(MiB)
    write(work, "model.safetensors", weights)
    tagged = work.commit("paper checkpoint")
    work.create_tag("paper", message="the camera-ready checkpoint")
    root = Path(work.path)
    oid = pointer_oid(git_blob("HEAD:model.safetensors", root))

    result = work.push_tag("paper", token=hub.write_token)

    assert result.lfs_objects_uploaded == 1
    assert oid in hub.lfs_objects(repo_id)
    tag_id = git("rev-parse", "paper", cwd=root).strip()
    assert result.updates == (hfgit.RefUpdate("refs/tags/paper", None, tag_id),)
    assert server_ref(hub, repo_id, "refs/tags/paper") == tag_id
    assert server_ref(hub, repo_id, "refs/heads/main") != tagged
    assert result.commit_url is None
    by_git = tmp_path / "by-git"
    git_with_lfs(
        "clone",
        "-q",
        "--branch",
        "paper",
        hub.repo_url(repo_id),
        str(by_git),
        token=hub.write_token,
    )
    assert (by_git / "model.safetensors").read_bytes() == weights
    git("lfs", "fsck", cwd=by_git)

    assert work.push_tag("paper", token=hub.write_token).up_to_date


def test_push_tag_refuses_to_move_the_remote_tag_unless_forced(
    hub: LocalHub, repo_id: str, work: hfgit.Repository
) -> None:
    work.create_tag("best")
    work.push_tag("best", token=hub.write_token)
    on_server = server_ref(hub, repo_id, "refs/tags/best")
    work.delete_tag("best")
    write(work, "config.json", '{"lr": 0.01}\n')
    work.commit("better")
    work.push(token=hub.write_token)
    work.create_tag("best")

    with pytest.raises(hfgit.PushRejectedError, match="force=True"):
        work.push_tag("best", token=hub.write_token)
    assert server_ref(hub, repo_id, "refs/tags/best") == on_server

    work.push_tag("best", token=hub.write_token, force=True)
    assert server_ref(hub, repo_id, "refs/tags/best") == work.head


def test_delete_tag_locally_and_on_the_remote(
    hub: LocalHub, repo_id: str, work: hfgit.Repository
) -> None:
    work.create_tag("v1", message="one")
    work.push_tag("v1", token=hub.write_token)
    work.create_tag("local-only")
    root = Path(work.path)

    work.delete_tag("local-only")
    assert git("tag", "--list", cwd=root).split() == ["v1"]
    with pytest.raises(hfgit.RevisionNotFoundError):
        work.delete_tag("local-only")

    work.delete_tag("v1", remote=True, token=hub.write_token)
    assert server_ref(hub, repo_id, "refs/tags/v1") is None
    assert git("tag", "--list", cwd=root) == ""


# ---------------------------------------------------------------------------- fetch


def test_fetch_brings_branches_and_tags_without_touching_the_work_tree(
    hub: LocalHub, work: hfgit.Repository, other: Path
) -> None:
    root = Path(work.path)
    write(work, "config.json", '{"lr": "uncommitted"}\n')
    head = work.head
    write(other, "README.md", "# card\n")
    main_tip = git_push(hub, other, "card")
    git("tag", "-a", "v2", "-m", "two", cwd=other)
    git_with_lfs("push", "-q", "origin", "v2", cwd=other, token=hub.write_token)
    git("switch", "-qc", "ablation", cwd=other)
    git_with_lfs("push", "-q", "origin", "ablation", cwd=other, token=hub.write_token)
    ablation_tip = main_tip

    result = work.fetch(token=hub.write_token)

    updates = {update.ref: update for update in result.updates}
    assert updates["refs/remotes/origin/main"].new == main_tip
    assert updates["refs/remotes/origin/main"].old == head
    assert updates["refs/remotes/origin/ablation"] == hfgit.RefUpdate(
        "refs/remotes/origin/ablation", None, ablation_tip
    )
    assert git("cat-file", "-t", "v2", cwd=root).strip() == "tag"
    assert work.head == head
    assert (root / "config.json").read_text() == '{"lr": "uncommitted"}\n'
    assert not (root / "README.md").exists()
    assert status_porcelain(root) == " M config.json\n"
    assert work.fetch(token=hub.write_token).up_to_date
    assert "README.md" in work.diff("HEAD", "origin/main")


def test_fetch_keeps_a_local_tag_the_remote_has_elsewhere_and_prunes_deleted_branches(
    hub: LocalHub, work: hfgit.Repository, other: Path
) -> None:
    root = Path(work.path)
    work.create_tag("mine")
    git("commit", "-q", "--allow-empty", "-m", "other", cwd=other)
    git("tag", "mine", cwd=other)
    git_with_lfs(
        "push", "-q", "origin", "mine", "HEAD:refs/heads/gone", cwd=other, token=hub.write_token
    )
    work.fetch(token=hub.write_token)
    assert "origin/gone" in [b.name for b in work.branches()]
    git_with_lfs("push", "-q", "origin", ":refs/heads/gone", cwd=other, token=hub.write_token)

    result = work.fetch(token=hub.write_token, prune=True)

    assert result.deleted == ("refs/remotes/origin/gone",)
    assert git("rev-parse", "mine", cwd=root).strip() == work.head
    assert [b.name for b in work.branches()] == ["main", "origin/main"]


# ---------------------------------------------------------------------------- pull requests


def open_pull_request(hub: LocalHub, repo_id: str) -> None:
    """Open pull request 1 through the Hub API, as the website's button does."""
    request = urllib.request.Request(
        f"{hub.endpoint}/api/models/{repo_id}/discussions",
        data=json.dumps({"title": "New weights", "pullRequest": True}).encode(),
        headers={"Authorization": f"Bearer {hub.write_token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as reply:
        assert json.load(reply)["num"] == 1


def test_checkout_pr_fetches_refs_pr_onto_branch_pr_n_with_its_lfs_files(
    hub: LocalHub, repo_id: str, work: hfgit.Repository, other: Path
) -> None:
    weights = os.urandom(MiB)
    write(other, "model.safetensors", weights)
    git("add", "-A", cwd=other)
    git("commit", "-qm", "PR: new weights", cwd=other)
    open_pull_request(hub, repo_id)  # the Hub takes pushes to refs/pr/1 once PR 1 exists
    git_with_lfs("push", "-q", "origin", "HEAD:refs/pr/1", cwd=other, token=hub.write_token)
    pr_tip = git("rev-parse", "HEAD", cwd=other).strip()
    root = Path(work.path)

    assert work.checkout_pr(1, token=hub.write_token) == pr_tip

    assert work.branch == "pr/1"
    assert (root / "model.safetensors").read_bytes() == weights
    assert git("config", "branch.pr/1.merge", cwd=root).strip() == "refs/pr/1"
    assert status_porcelain(root) == ""
    git("lfs", "fsck", cwd=root)

    # The pull request moves on: checking it out again fast-forwards the branch.
    write(other, "README.md", "# review fixes\n")
    git("add", "-A", cwd=other)
    git("commit", "-qm", "PR: review fixes", cwd=other)
    git_with_lfs("push", "-q", "origin", "HEAD:refs/pr/1", cwd=other, token=hub.write_token)
    assert work.checkout_pr(1, token=hub.write_token) == git("rev-parse", "HEAD", cwd=other).strip()
    assert (root / "README.md").read_text() == "# review fixes\n"

    with pytest.raises(hfgit.RevisionNotFoundError, match="refs/pr/7"):
        work.checkout_pr(7, token=hub.write_token)
    assert work.branch == "pr/1"


# ---------------------------------------------------------------------------- commit URLs


def test_commit_url_follows_the_hub_layout_for_models_and_datasets(
    hub: LocalHub, work: hfgit.Repository, repo_id: str, tmp_path: Path
) -> None:
    head = work.head or ""
    assert work.commit_url() == f"{hub.endpoint}/{repo_id}/commit/{head}"
    assert work.commit_url("HEAD~1") == f"{hub.endpoint}/{repo_id}/commit/{work.log()[1].id}"

    hub.create_repo(repo_id, repo_type="dataset")
    data = hfgit.clone(
        f"datasets/{repo_id}", tmp_path / "data", token=hub.write_token, endpoint=hub.endpoint
    )
    write(data, "train.csv", "a,b\n1,2\n")
    data.commit("data")
    pushed = data.push(token=hub.write_token)
    expected = f"{hub.endpoint}/datasets/{repo_id}/commit/{data.head}"
    assert pushed.commit_url == expected == data.commit_url()
    with pytest.raises(hfgit.RevisionNotFoundError):
        data.commit_url("deadbeef" * 5)


def test_a_push_from_a_pull_request_checked_out_with_checkout_pr_goes_back_to_it(
    hub: LocalHub, repo_id: str, work: hfgit.Repository, tmp_path: Path
) -> None:
    (Path(work.path) / "first.txt").write_text("first\n")
    work.commit("Open a pull request")
    opened = work.push(token=hub.write_token, create_pr=True)
    assert opened.pr_num == 1
    reviewer = hfgit.clone(
        repo_id, tmp_path / "reviewer", token=hub.write_token, endpoint=hub.endpoint
    )

    reviewer.checkout_pr(1, token=hub.write_token)
    (Path(reviewer.path) / "review.txt").write_text("fixed\n")
    tip = reviewer.commit("Review fixes")
    pushed = reviewer.push(token=hub.write_token)

    assert [update.ref for update in pushed.updates] == ["refs/pr/1"]
    bare = str(hub.repo_path(repo_id))
    assert git("--git-dir", bare, "rev-parse", "refs/pr/1").strip() == tip
    assert "review.txt" not in git("--git-dir", bare, "ls-tree", "--name-only", "main")
