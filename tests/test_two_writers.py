"""Two writers at once: processes started together never lose a commit, and the loser is told why.

git anchors the behaviour: it holds ``index.lock`` from reading the index to moving HEAD and
refuses a second writer. Each race here is made for real, with processes released at the same
instant, and repeated for enough rounds that an unguarded read-stage-write shows.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import hfgit
import pytest
from gitcli import git
from hfgit.testing import LocalHub

ROUNDS = 12

COMMITTER = """
import json, sys, time
import hfgit
directory, message, path, start = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
while time.time() < start:
    pass
try:
    print(json.dumps({"commit": hfgit.commit(directory, message, paths=[path], progress=False)}))
except hfgit.HfGitError as err:
    print(json.dumps({"error": type(err).__name__, "message": str(err),
                      "filename": getattr(err, "filename", None)}))
"""


def race(directory: Path, jobs: list[tuple[str, str]]) -> list[dict[str, str]]:
    """Start one committing process per job, all released at the same instant."""
    start = time.time() + 1.5
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", COMMITTER, str(directory), message, path, str(start)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for message, path in jobs
    ]
    outcomes = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        outcomes.append(json.loads(out.strip().splitlines()[-1]))
    return outcomes


@pytest.fixture
def work(hub: LocalHub, repo_id: str, clone_dir: Path) -> hfgit.Repository:
    return hfgit.clone(repo_id, clone_dir, token=hub.write_token, endpoint=hub.endpoint)


def test_two_processes_committing_at_once_never_lose_a_committed_file(
    work: hfgit.Repository,
) -> None:
    root = Path(work.path)
    committed: set[str] = set()
    refused = 0
    for round_number in range(ROUNDS):
        a, b = f"a{round_number}.bin", f"b{round_number}.txt"
        (root / a).write_bytes(os.urandom(256 * 1024))
        (root / b).write_text(f"round {round_number}\n")

        outcomes = race(root, [("a", a), ("b", b)])

        for (_, path), outcome in zip([("a", a), ("b", b)], outcomes):
            if "commit" in outcome:
                committed.add(path)
            else:
                refused += 1
                assert outcome["error"] == "RepositoryLockedError", outcome
                assert "hfgit-index.lock" in outcome["message"]
                assert outcome["filename"] and outcome["filename"].endswith("hfgit-index.lock")
        tree = set(git("ls-tree", "-r", "--name-only", "HEAD", cwd=root).split())
        assert committed <= tree, f"round {round_number}: lost {committed - tree}"
        # A refused commit leaves its file as it was: still there, still to be committed.
        hfgit.commit(root, f"catch up after round {round_number}", allow_empty=True)
        committed |= {a, b}

    git("fsck", "--full", cwd=root)
    assert git("status", "--porcelain", cwd=root) == ""
    print(f"{ROUNDS} rounds, {refused} commits refused with RepositoryLockedError")


def test_a_stale_git_index_lock_is_named_with_how_to_remove_it(work: hfgit.Repository) -> None:
    root = Path(work.path)
    lock = root / ".git" / "index.lock"
    lock.write_bytes(b"")
    (root / "new.txt").write_text("new\n")

    with pytest.raises(hfgit.RepositoryLockedError) as info:
        work.commit("blocked by a killed git")

    assert str(lock) in str(info.value)
    assert "delete" in str(info.value)
    assert isinstance(info.value, OSError)
    lock.unlink()
    work.commit("after removing it")


def test_a_manual_push_racing_the_checkpoint_pusher_never_reports_a_rejection(
    hub: LocalHub, repo_id: str, work: hfgit.Repository
) -> None:
    root = Path(work.path)
    rounds, rejected = 25, []
    with hfgit.CheckpointPusher(root, token=hub.write_token) as pusher:
        for step in range(rounds):
            (root / "trainer_state.json").write_text(json.dumps({"step": step}))
            pusher.submit(f"step {step}")
            try:
                work.push(token=hub.write_token, progress=False)
            except hfgit.PushRejectedError as error:
                rejected.append(str(error))
            except hfgit.NothingToCommitError:
                pass
    assert rejected == []
    assert pusher.last_error is None
    remote = git("ls-remote", hub.repo_url(repo_id), "refs/heads/main", token=hub.write_token)
    assert remote.split()[0] == work.head
    assert work.log(limit=1)[0].summary == f"step {rounds - 1}"


def test_a_ref_held_by_another_writer_is_a_local_lock_error_naming_the_ref_lock(
    work: hfgit.Repository,
) -> None:
    root = Path(work.path)
    lock = root / ".git" / "refs" / "heads" / "main.lock"
    lock.write_text("")
    (root / "new.txt").write_text("new\n")
    head = work.head

    with pytest.raises(hfgit.RepositoryLockedError) as info:
        work.commit("the branch is locked")

    assert not isinstance(info.value, ConnectionError)
    assert "main.lock" in str(info.value)
    assert work.head == head
    lock.unlink()
    work.commit("after the lock is gone")


CLONER = """
import json, sys, time
import hfgit
repo_id, directory, token, endpoint, start = sys.argv[1:6]
while time.time() < float(start):
    pass
try:
    hfgit.clone(repo_id, directory, token=token, endpoint=endpoint, progress=False)
    print(json.dumps({"cloned": True}))
except hfgit.HfGitError as err:
    print(json.dumps({"error": type(err).__name__, "message": str(err)}))
"""


def test_two_clones_into_one_folder_at_once_let_one_win_and_refuse_the_other_untouched(
    hub: LocalHub, repo_id: str, work: hfgit.Repository, tmp_path: Path
) -> None:
    data = os.urandom(6 * 1024 * 1024)
    (Path(work.path) / "model.bin").write_bytes(data)
    work.commit("weights")
    work.push(token=hub.write_token)
    hub.storage_rate_limit = 2 * 1024 * 1024  # the winner is still downloading as the other starts
    target = tmp_path / "shared"
    start = str(time.time() + 1.5)
    arguments = [repo_id, str(target), hub.write_token, hub.endpoint, start]
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", CLONER, *arguments],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outcomes = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        outcomes.append(json.loads(out.strip().splitlines()[-1]))

    assert sorted(outcomes, key=str)[0] == {"cloned": True}, outcomes
    refused = next(o for o in outcomes if "error" in o)
    assert refused["error"] == "RepositoryLockedError", refused
    assert "another clone into" in refused["message"] and "process" in refused["message"]
    assert (target / "model.bin").read_bytes() == data
    assert hfgit.Repository(target).status().is_clean
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clone", "shared"], "no lock file left"
