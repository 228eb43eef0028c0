"""push(rebase=True) and pull(rebase=True): when the Hub copy moves on, keep pushing.

The other writer is always real git (with git-lfs): someone editing the model card, another job
pushing an eval file. The results are checked with real git too: the server's history, `git fsck`,
and what a fresh `git clone` with git-lfs checks out.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import hfgit
import pytest
from gitcli import commit_blob_with_git, git, git_with_lfs
from hfgit.testing import LocalHub

MiB = 1024 * 1024
CARD = "".join(f"line {n}\n" for n in range(1, 11))


@pytest.fixture
def work(hub: LocalHub, repo_id: str, clone_dir: Path) -> hfgit.Repository:
    """An hfgit clone whose first commit (a model card and LFS weights) is on the server."""
    repo = hfgit.clone(repo_id, clone_dir, token=hub.write_token, endpoint=hub.endpoint)
    write(repo, "README.md", "# Model\n" + CARD)
    write(repo, "model.safetensors", os.urandom(MiB))
    repo.commit("first checkpoint")
    repo.push(token=hub.write_token)
    return repo


@pytest.fixture
def other(hub: LocalHub, repo_id: str, work: hfgit.Repository, tmp_path: Path) -> Path:
    """A real git + git-lfs clone: the other writer (the Hub website, another job)."""
    path = tmp_path / "by-git"
    git_with_lfs("clone", "-q", hub.repo_url(repo_id), str(path), token=hub.write_token)
    return path


def write(repo: hfgit.Repository | Path, name: str, content: str | bytes) -> None:
    path = Path(repo if isinstance(repo, Path) else repo.path) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        path.write_text(content)
    else:
        path.write_bytes(content)


def git_commit_and_push(hub: LocalHub, other: Path, message: str) -> str:
    git("add", "-A", cwd=other)
    git("commit", "-qm", message, cwd=other)
    git_with_lfs("push", "-q", "origin", "main", cwd=other, token=hub.write_token)
    return git("rev-parse", "HEAD", cwd=other).strip()


def edit_card_with_git(hub: LocalHub, other: Path, first_line: str = "# Model (edited)") -> str:
    """What an edit of the model card on the Hub website amounts to: a commit on main."""
    write(other, "README.md", first_line + "\n" + CARD)
    return git_commit_and_push(hub, other, "Update README.md")


def server_log(hub: LocalHub, repo_id: str) -> list[str]:
    """Subjects of the server's main branch, newest first, read by git from the bare repo."""
    out = git("--git-dir", str(hub.repo_path(repo_id)), "log", "--format=%s", "main")
    return out.splitlines()


def server_head(hub: LocalHub, repo_id: str) -> str:
    return git("--git-dir", str(hub.repo_path(repo_id)), "rev-parse", "main").strip()


def fresh_git_clone(hub: LocalHub, repo_id: str, path: Path) -> Path:
    git_with_lfs("clone", "-q", hub.repo_url(repo_id), str(path), token=hub.write_token)
    git("fsck", "--full", "--strict", cwd=path)
    git("lfs", "fsck", cwd=path)
    assert git("status", "--porcelain", cwd=path) == ""
    return path


def local_state(repo: hfgit.Repository) -> dict[str, object]:
    """Everything a failed rebase must leave alone: branch, index, work tree, LFS store."""
    root = Path(repo.path)
    files = {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(root).parts
    }
    lfs = sorted(str(p) for p in (root / ".git/lfs/objects").rglob("*") if p.is_file())
    return {
        "head": repo.head,
        "branch": repo.branch,
        "index": (root / ".git/index").read_bytes(),
        "files": files,
        "lfs": lfs,
        "log": [c.id for c in repo.log()],
    }


def storage_uploads(hub: LocalHub) -> int:
    return sum(r.method == "PUT" and "_lfs_storage" in r.path for r in hub.requests)


def test_push_with_rebase_puts_local_commits_after_a_readme_edit_made_with_git(
    hub: LocalHub,
    repo_id: str,
    work: hfgit.Repository,
    other: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HFGIT_LFS_TRANSFER", "basic")  # counts uploads to LFS storage
    edit_card_with_git(hub, other)
    weights = os.urandom(2 * MiB)
    write(work, "model.safetensors", weights)
    second = work.commit("second checkpoint", author="Trainer <trainer@example.com>")
    write(work, "trainer_state.json", '{"step": 200}')
    third = work.commit("third checkpoint", author="Trainer <trainer@example.com>")
    hub.clear_requests()

    result = work.push(token=hub.write_token, rebase=True)

    assert server_log(hub, repo_id)[:4] == [
        "third checkpoint",
        "second checkpoint",
        "Update README.md",
        "first checkpoint",
    ]
    assert work.head == server_head(hub, repo_id) == result.updates[0].new
    assert [old for old, _ in result.rebased] == [second, third]
    assert [c.id for c in work.log(limit=2)] == [new for _, new in reversed(result.rebased)]
    assert [(c.author_name, c.author_email) for c in work.log(limit=2)] == [
        ("Trainer", "trainer@example.com")
    ] * 2
    # The weights went up once, before the first attempt; the retry's batch found them there.
    assert storage_uploads(hub) == 1 and result.lfs_objects_uploaded == 1
    assert sum(r.method == "POST" and r.path.endswith("/objects/batch") for r in hub.requests) == 2
    # The local work tree has the remote's edit, and is clean for hfgit and for git + git-lfs.
    assert (Path(work.path) / "README.md").read_text().startswith("# Model (edited)\n")
    assert work.status().is_clean
    assert git("status", "--porcelain", cwd=Path(work.path)) == ""
    assert git("rev-parse", "origin/main", cwd=Path(work.path)).strip() == work.head
    fresh = fresh_git_clone(hub, repo_id, tmp_path / "fresh")
    assert (fresh / "model.safetensors").read_bytes() == weights
    assert (fresh / "README.md").read_text().startswith("# Model (edited)\n")
    assert (fresh / "trainer_state.json").read_text() == '{"step": 200}'


def test_push_with_rebase_brings_the_remote_lfs_file_into_the_work_tree(
    hub: LocalHub, repo_id: str, work: hfgit.Repository, other: Path, tmp_path: Path
) -> None:
    git("lfs", "track", "*.evalresult", cwd=other)
    eval_bytes = os.urandom(MiB // 2)
    write(other, "eval/scores.evalresult", eval_bytes)
    git_commit_and_push(hub, other, "Add eval results")
    weights = os.urandom(MiB)
    write(work, "model.safetensors", weights)
    work.commit("second checkpoint")

    result = work.push(token=hub.write_token, rebase=True)

    assert len(result.rebased) == 1
    assert server_log(hub, repo_id)[:3] == [
        "second checkpoint",
        "Add eval results",
        "first checkpoint",
    ]
    local = Path(work.path)
    assert (local / "eval/scores.evalresult").read_bytes() == eval_bytes
    assert "*.evalresult filter=lfs" in (local / ".gitattributes").read_text()
    assert work.status().is_clean
    assert git("status", "--porcelain", cwd=local) == ""
    fresh = fresh_git_clone(hub, repo_id, tmp_path / "fresh")
    assert (fresh / "model.safetensors").read_bytes() == weights
    assert (fresh / "eval/scores.evalresult").read_bytes() == eval_bytes


def test_pull_with_rebase_replays_local_commits_on_a_moved_remote(
    hub: LocalHub, repo_id: str, work: hfgit.Repository, other: Path
) -> None:
    write(other, "eval.json", '{"accuracy": 0.9}')
    remote = git_commit_and_push(hub, other, "Add eval")
    write(work, "notes.md", "notes\n")
    first = work.commit("local one")
    write(work, "config.json", "{}")
    second = work.commit("local two")
    before = work.head

    result = work.pull(token=hub.write_token, rebase=True)

    assert result.old_head == before and result.new_head == work.head
    assert result.updated
    assert [old for old, _ in result.rebased] == [first, second]
    log = work.log(limit=3)
    assert [c.summary for c in log] == ["local two", "local one", "Add eval"]
    assert log[2].id == remote and log[1].parents == (remote,)
    assert (Path(work.path) / "eval.json").read_text() == '{"accuracy": 0.9}'
    assert work.status().is_clean
    assert server_head(hub, repo_id) == remote  # a pull pushes nothing
    assert work.push(token=hub.write_token).updates[0].new == work.head


def test_pull_with_rebase_on_a_remote_that_did_not_move_changes_nothing(
    hub: LocalHub, work: hfgit.Repository
) -> None:
    write(work, "notes.md", "notes\n")
    mine = work.commit("local")

    result = work.pull(token=hub.write_token, rebase=True)

    assert (result.old_head, result.new_head, result.rebased) == (mine, mine, ())
    assert work.head == mine


def test_pull_with_rebase_fast_forwards_when_nothing_local_is_unpushed(
    hub: LocalHub, work: hfgit.Repository, other: Path
) -> None:
    remote = edit_card_with_git(hub, other)

    result = work.pull(token=hub.write_token, rebase=True)

    assert result.new_head == remote == work.head and result.rebased == ()


def test_a_rebase_downloads_no_lfs_file_the_clone_left_as_a_pointer(
    hub: LocalHub, repo_id: str, work: hfgit.Repository, other: Path, tmp_path: Path
) -> None:
    light = hfgit.clone(
        repo_id, tmp_path / "light", token=hub.write_token, endpoint=hub.endpoint, lfs=False
    )
    weights = Path(light.path) / "model.safetensors"
    pointer = weights.read_bytes()
    assert pointer.startswith(b"version https://git-lfs.github.com/spec/v1")
    edit_card_with_git(hub, other)
    write(light, "notes.md", "notes\n")
    light.commit("notes from a job that never needs the weights")
    hub.clear_requests()

    light.push(token=hub.write_token, rebase=True)

    assert weights.read_bytes() == pointer
    assert [r.path for r in hub.requests if "_lfs_storage" in r.path] == []
    assert (Path(light.path) / "README.md").read_text().startswith("# Model (edited)\n")
    assert light.status().is_clean


def test_rebased_trees_are_the_ones_git_rebase_makes(
    hub: LocalHub, repo_id: str, work: hfgit.Repository, other: Path, tmp_path: Path
) -> None:
    # The remote edits the top of the card; the job edits its bottom and adds files.
    edit_card_with_git(hub, other)
    write(work, "README.md", "# Model\n" + CARD.replace("line 10", "line 10: eval 0.93"))
    work.commit("card: eval score")
    write(work, "logs/run.txt", "loss 0.1\n")
    work.commit("logs")
    # The same local commits rebased by git itself, in a clone of its own.
    by_git = tmp_path / "git-rebase"
    env = {"GIT_LFS_SKIP_SMUDGE": "1"}
    subprocess.run(
        ["git", "clone", "-q", str(Path(work.path)), str(by_git)],
        check=True,
        env={**os.environ, **env},
    )
    git("fetch", "-q", hub.repo_url(repo_id), "main:refs/remotes/hub/main", cwd=by_git)
    subprocess.run(
        ["git", "-c", "core.hooksPath=/dev/null", "rebase", "-q", "hub/main"],
        cwd=by_git,
        check=True,
        capture_output=True,
        env={**os.environ, **env},
    )

    work.pull(token=hub.write_token, rebase=True)

    for back in ("HEAD", "HEAD~1"):
        assert git("rev-parse", f"{back}^{{tree}}", cwd=Path(work.path)) == git(
            "rev-parse", f"{back}^{{tree}}", cwd=by_git
        )
    assert "line 10: eval 0.93" in (Path(work.path) / "README.md").read_text()
    assert (Path(work.path) / "README.md").read_text().startswith("# Model (edited)\n")


def change_the_card(hub: LocalHub, work: hfgit.Repository, other: Path) -> str:
    edit_card_with_git(hub, other, "# Model by the Hub website")
    write(work, "README.md", "# Model by the training job\n" + CARD)
    return "README.md"


def change_the_weights(hub: LocalHub, work: hfgit.Repository, other: Path) -> str:
    write(other, "model.safetensors", os.urandom(MiB))
    git_commit_and_push(hub, other, "weights from another job")
    write(work, "model.safetensors", os.urandom(MiB))
    return "model.safetensors"


def delete_the_card(hub: LocalHub, work: hfgit.Repository, other: Path) -> str:
    git("rm", "-q", "README.md", cwd=other)
    git_commit_and_push(hub, other, "Delete README.md")
    write(work, "README.md", "# Model by the training job\n" + CARD)
    return "README.md"


@pytest.mark.parametrize("how", ["push", "pull"])
@pytest.mark.parametrize(
    "clash",
    [change_the_card, change_the_weights, delete_the_card],
    ids=["same-lines-of-readme", "same-lfs-file", "edited-what-the-remote-deleted"],
)
def test_a_conflict_raises_diverged_naming_the_path_and_changes_nothing_local(
    hub: LocalHub,
    repo_id: str,
    work: hfgit.Repository,
    other: Path,
    how: str,
    clash: Callable[[LocalHub, hfgit.Repository, Path], str],
) -> None:
    path = clash(hub, work, other)
    write(work, "unrelated.txt", "an uncommitted edit elsewhere")
    mine = work.commit("mine", paths=[path])
    remote = server_head(hub, repo_id)
    before = local_state(work)

    with pytest.raises(hfgit.DivergedError) as info:
        if how == "push":
            work.push(token=hub.write_token, rebase=True)
        else:
            work.pull(token=hub.write_token, rebase=True)

    assert info.value.paths == (path,)
    assert path in str(info.value) and "force=True" in str(info.value)
    assert local_state(work) == before and work.head == mine
    assert server_head(hub, repo_id) == remote
    assert git("status", "--porcelain", cwd=Path(work.path)) == "?? unrelated.txt\n"


def test_push_without_rebase_still_refuses_a_non_fast_forward(
    hub: LocalHub, repo_id: str, work: hfgit.Repository, other: Path
) -> None:
    remote = edit_card_with_git(hub, other)
    write(work, "notes.md", "notes\n")
    mine = work.commit("mine")

    with pytest.raises(hfgit.PushRejectedError) as info:
        work.push(token=hub.write_token)

    assert "fast-forward" in (info.value.reason or "")
    assert "rebase=True" in (info.value.reason or "")
    assert work.head == mine and server_head(hub, repo_id) == remote
    with pytest.raises(hfgit.DivergedError, match=r"rebase=True") as diverged:
        work.pull(token=hub.write_token)
    assert diverged.value.paths == ()


@pytest.mark.parametrize("how", ["push", "pull"])
def test_an_uncommitted_edit_on_a_file_the_remote_changed_raises_local_changes(
    hub: LocalHub, repo_id: str, work: hfgit.Repository, other: Path, how: str
) -> None:
    remote = edit_card_with_git(hub, other)
    write(work, "notes.md", "notes\n")
    work.commit("mine")
    write(work, "README.md", "# my uncommitted card\n")
    before = local_state(work)
    staged = git("ls-files", "-s", "--debug", cwd=Path(work.path))

    with pytest.raises(hfgit.LocalChangesError, match=r"README\.md \(modified\)"):
        if how == "push":
            work.push(token=hub.write_token, rebase=True)
        else:
            work.pull(token=hub.write_token, rebase=True)

    # The index may get fresh stat data for files whose content was unchanged (as a look by
    # `git status` may write), never another entry.
    after = local_state(work)
    assert {k: v for k, v in after.items() if k != "index"} == {
        k: v for k, v in before.items() if k != "index"
    }
    assert git("ls-files", "-s", cwd=Path(work.path)) == "".join(
        line + "\n" for line in staged.splitlines() if not line.startswith(" ")
    )
    assert server_head(hub, repo_id) == remote


def test_an_uncommitted_edit_of_an_lfs_file_the_remote_changed_raises_local_changes(
    hub: LocalHub, repo_id: str, work: hfgit.Repository, other: Path
) -> None:
    write(other, "model.safetensors", os.urandom(MiB))
    remote = git_commit_and_push(hub, other, "weights from another job")
    write(work, "notes.md", "notes\n")
    mine = work.commit("mine")
    mid_training = os.urandom(MiB)
    write(work, "model.safetensors", mid_training)

    with pytest.raises(hfgit.LocalChangesError, match=r"model\.safetensors \(modified\)"):
        work.push(token=hub.write_token, rebase=True)

    assert (Path(work.path) / "model.safetensors").read_bytes() == mid_training
    assert work.head == mine and server_head(hub, repo_id) == remote


def test_an_lfs_file_rewritten_with_the_same_bytes_does_not_block_a_rebase(
    hub: LocalHub, repo_id: str, work: hfgit.Repository, other: Path
) -> None:
    new_weights = os.urandom(MiB)
    write(other, "model.safetensors", new_weights)
    git_commit_and_push(hub, other, "weights from another job")
    write(work, "notes.md", "notes\n")
    work.commit("mine")
    weights = Path(work.path) / "model.safetensors"
    weights.write_bytes(weights.read_bytes())  # a checkpoint saved again, unchanged
    os.utime(weights, (1, 1))

    work.push(token=hub.write_token, rebase=True)

    assert weights.read_bytes() == new_weights
    assert work.status().is_clean and server_head(hub, repo_id) == work.head


def test_uncommitted_edits_to_files_the_remote_did_not_change_survive_a_rebase(
    hub: LocalHub, work: hfgit.Repository, other: Path
) -> None:
    edit_card_with_git(hub, other)
    write(work, "notes.md", "notes\n")
    work.commit("mine")
    write(work, "notes.md", "notes, still being written\n")
    write(work, "scratch.txt", "untracked")

    work.push(token=hub.write_token, rebase=True)

    assert (Path(work.path) / "notes.md").read_text() == "notes, still being written\n"
    status = work.status()
    assert (status.modified, status.untracked) == (["notes.md"], ["scratch.txt"])


def test_a_merge_commit_among_the_unpushed_ones_is_refused(
    hub: LocalHub, work: hfgit.Repository, other: Path
) -> None:
    edit_card_with_git(hub, other)
    local = Path(work.path)
    git("checkout", "-qb", "side", cwd=local)
    write(work, "side.txt", "side")
    work.commit("side")
    git("checkout", "-q", "main", cwd=local)
    write(work, "main.txt", "main")
    work.commit("main")
    git("merge", "-q", "--no-edit", "side", cwd=local)
    before = local_state(work)

    with pytest.raises(hfgit.DivergedError, match="merge commit"):
        work.push(token=hub.write_token, rebase=True)

    assert local_state(work) == before


def test_a_refusal_for_another_reason_is_raised_as_without_rebase(
    hub: LocalHub, repo_id: str, work: hfgit.Repository
) -> None:
    remote = server_head(hub, repo_id)
    commit_blob_with_git(Path(work.path), "data.raw", b"\0" + os.urandom(2 * MiB), "raw data")
    mine = work.head
    hub.clear_requests()

    with pytest.raises(hfgit.PushRejectedError, match="binary"):
        work.push(token=hub.write_token, rebase=True)

    assert receive_pack_posts(hub) == 1
    assert work.head == mine and server_head(hub, repo_id) == remote
    with pytest.raises(hfgit.AuthenticationError):
        work.push(token=hub.read_token, rebase=True)


def test_rebase_and_force_together_are_refused(hub: LocalHub, work: hfgit.Repository) -> None:
    with pytest.raises(hfgit.InvalidArgumentError, match="force=True"):
        work.push(token=hub.write_token, rebase=True, force=True)


RACE_HOOK = """#!/bin/sh
# Test only: another writer moves main after the client listed the refs and before this push
# updates it, as many times as {counter} says; then the LocalHub checks run as usual.
left=$(cat "{counter}")
if [ "$left" -gt 0 ]; then
    echo $((left - 1)) > "{counter}"
    (
        unset GIT_QUARANTINE_PATH GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES
        export GIT_AUTHOR_NAME=racer GIT_AUTHOR_EMAIL=racer@example.com
        export GIT_COMMITTER_NAME=racer GIT_COMMITTER_EMAIL=racer@example.com
        git="${{HFHUB_GIT:-git}}"
        old=$("$git" rev-parse refs/heads/main)
        new=$("$git" commit-tree -p "$old" -m "race $left" "$old^{{tree}}")
        "$git" update-ref refs/heads/main "$new" "$old"
    )
fi
exec "${{0%/*}}/pre-receive.localhub" "$@"
"""


def race_pushes(hub: LocalHub, repo_id: str, tmp_path: Path, times: int) -> None:
    hooks = hub.repo_path(repo_id) / "hooks"
    (hooks / "pre-receive").rename(hooks / "pre-receive.localhub")
    counter = tmp_path / "races-left"
    counter.write_text(str(times))
    (hooks / "pre-receive").write_text(RACE_HOOK.format(counter=counter))
    (hooks / "pre-receive").chmod(0o755)


def receive_pack_posts(hub: LocalHub) -> int:
    return sum(r.method == "POST" and r.path.endswith("/git-receive-pack") for r in hub.requests)


def test_a_push_that_loses_races_after_listing_refs_is_rebased_and_sent_again(
    hub: LocalHub, repo_id: str, work: hfgit.Repository, tmp_path: Path
) -> None:
    write(work, "notes.md", "notes\n")
    mine = work.commit("mine")
    race_pushes(hub, repo_id, tmp_path, times=2)
    hub.clear_requests()

    result = work.push(token=hub.write_token, rebase=True)

    assert server_log(hub, repo_id)[:4] == ["mine", "race 1", "race 2", "first checkpoint"]
    assert work.head == server_head(hub, repo_id)
    # Rebased twice, reported once: the original commit and where it ended up.
    assert result.rebased == ((mine, work.head),)
    assert receive_pack_posts(hub) == 3


def test_a_remote_that_keeps_moving_stops_the_push_after_three_rebases(
    hub: LocalHub, repo_id: str, work: hfgit.Repository, tmp_path: Path
) -> None:
    write(work, "notes.md", "notes\n")
    work.commit("mine")
    race_pushes(hub, repo_id, tmp_path, times=100)
    hub.clear_requests()

    with pytest.raises(hfgit.PushRejectedError, match="after each of 3 rebases"):
        work.push(token=hub.write_token, rebase=True)

    assert receive_pack_posts(hub) == 4
    # The local commit is kept, rebased on the last remote tip it saw.
    assert [c.summary for c in work.log(limit=2)] == ["mine", "race 98"]
    assert (Path(work.path) / "notes.md").read_text() == "notes\n"
    assert work.status().is_clean


def test_push_with_rebase_returns_a_future_when_not_blocking(
    hub: LocalHub, repo_id: str, work: hfgit.Repository, other: Path
) -> None:
    edit_card_with_git(hub, other)
    write(work, "notes.md", "notes\n")
    work.commit("mine")

    result = work.push(token=hub.write_token, rebase=True, blocking=False).result(timeout=120)

    assert result.updates[0].new == work.head == server_head(hub, repo_id)
