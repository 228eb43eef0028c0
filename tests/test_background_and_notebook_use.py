"""Training scripts and notebooks: background pushes, checkpoint coalescing, progress bars,
logging, and Ctrl-C during LFS transfers."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import Future
from pathlib import Path

import hfgit
import pytest
from gitcli import git
from hfgit.testing import LocalHub

MiB = 1024 * 1024


@pytest.fixture
def work(hub: LocalHub, repo_id: str, clone_dir: Path) -> hfgit.Repository:
    return hfgit.clone(repo_id, clone_dir, token=hub.write_token, endpoint=hub.endpoint)


def remote_file(hub: LocalHub, repo_id: str, path: str) -> str:
    return git("--git-dir", str(hub.repo_path(repo_id)), "show", f"main:{path}")


def test_push_with_blocking_false_returns_a_future_of_the_result(
    hub: LocalHub, work: hfgit.Repository
) -> None:
    (Path(work.path) / "a.txt").write_text("a")
    mine = work.commit("a")

    future = work.push(token=hub.write_token, blocking=False)

    assert isinstance(future, Future)
    assert future.result(timeout=60).updates[0].new == mine


def test_errors_of_a_background_push_arrive_through_the_future(
    hub: LocalHub, work: hfgit.Repository
) -> None:
    (Path(work.path) / "a.txt").write_text("a")
    work.commit("a")
    future = hfgit.push(work.path, token=hub.read_token, blocking=False)
    with pytest.raises(hfgit.AuthenticationError):
        future.result(timeout=60)


def test_checkpoint_submissions_coalesce_and_the_latest_snapshot_wins(
    hub: LocalHub, repo_id: str, work: hfgit.Repository
) -> None:
    hub.faults.latency = 0.2
    checkpoint = Path(work.path) / "step.json"
    with hfgit.CheckpointPusher(work.path, token=hub.write_token) as pusher:
        for step in range(6):
            checkpoint.write_text(f'{{"step": {step}}}')
            pusher.submit(f"step {step}")
            time.sleep(0.01)
    assert 1 <= pusher.pushes_completed < 6
    assert remote_file(hub, repo_id, "step.json") == '{"step": 5}'
    assert work.log(limit=1)[0].summary == "step 5"


def test_a_failed_checkpoint_push_keeps_its_commit_and_goes_out_with_the_next_submission(
    hub: LocalHub, repo_id: str, work: hfgit.Repository
) -> None:
    (Path(work.path) / "first.txt").write_text("1")
    hub.faults.fail_next(1, status=500, path_contains="git-receive-pack")
    pusher = hfgit.CheckpointPusher(work.path, token=hub.write_token)
    pusher.submit("first")
    pusher.wait(timeout=60)
    assert isinstance(pusher.last_error, hfgit.NetworkError)

    (Path(work.path) / "second.txt").write_text("2")
    pusher.submit("second")
    pusher.close()

    assert pusher.last_error is None
    messages = git("--git-dir", str(hub.repo_path(repo_id)), "log", "--format=%s", "main")
    assert messages.splitlines()[:2] == ["second", "first"]


def test_close_raises_the_error_of_the_last_push(hub: LocalHub, work: hfgit.Repository) -> None:
    (Path(work.path) / "a.txt").write_text("a")
    pusher = hfgit.CheckpointPusher(work.path, token=hub.read_token)
    pusher.submit("read token cannot push")
    with pytest.raises(hfgit.AuthenticationError):
        pusher.close()
    with pytest.raises(RuntimeError):
        pusher.submit("closed")


def test_a_pending_checkpoint_push_finishes_when_the_interpreter_exits(
    hub: LocalHub, repo_id: str, work: hfgit.Repository
) -> None:
    (Path(work.path) / "weights.bin").write_bytes(os.urandom(2 * MiB))
    script = (
        "import sys, hfgit\n"
        "pusher = hfgit.CheckpointPusher(sys.argv[1], token=sys.argv[2])\n"
        "pusher.submit('pushed at exit')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, work.path, hub.write_token],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "waiting for a checkpoint push" in done.stderr
    assert hub.write_token not in done.stderr
    log = git("--git-dir", str(hub.repo_path(repo_id)), "log", "-1", "--format=%s", "main")
    assert log.strip() == "pushed at exit"


def test_progress_bars_show_by_default_and_hide_on_request(
    hub: LocalHub,
    repo_id: str,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hub.faults.latency = 0.15
    hfgit.clone(repo_id, tmp_path / "a", token=hub.write_token, endpoint=hub.endpoint)
    assert "Cloning" in capfd.readouterr().err

    hfgit.clone(
        repo_id, tmp_path / "b", token=hub.write_token, endpoint=hub.endpoint, progress=False
    )
    monkeypatch.setenv("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    hfgit.clone(repo_id, tmp_path / "c", token=hub.write_token, endpoint=hub.endpoint)
    assert "Cloning" not in capfd.readouterr().err


def test_operations_are_logged_without_the_token(
    hub: LocalHub, repo_id: str, clone_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="hfgit")
    repo = hfgit.clone(repo_id, clone_dir, token=hub.write_token, endpoint=hub.endpoint)
    (clone_dir / "a.txt").write_text("a")
    repo.commit("a")
    repo.push(token=hub.write_token)

    text = "\n".join(record.getMessage() for record in caplog.records)
    assert "cloned" in text and "committed" in text and "pushed refs/heads/main" in text
    assert hub.write_token not in text


def test_status_says_which_changed_paths_are_lfs(work: hfgit.Repository) -> None:
    (Path(work.path) / "model.safetensors").write_bytes(b"\0" * 10)
    (Path(work.path) / "config.json").write_text("{}")
    status = work.status()
    assert status.lfs == ["model.safetensors"]
    assert sorted(status.untracked) == ["config.json", "model.safetensors"]


def test_ctrl_c_during_an_lfs_download_leaves_pointers_a_sound_store_and_a_rerun_completes(
    hub: LocalHub,
    repo_id: str,
    work: hfgit.Repository,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    data = os.urandom(4 * MiB)
    (Path(work.path) / "model.safetensors").write_bytes(data)
    work.commit("weights")
    work.push(token=hub.write_token)
    lazy = hfgit.clone(
        repo_id, tmp_path / "lazy", lfs=False, token=hub.write_token, endpoint=hub.endpoint
    )
    hub.faults.latency = 3.0
    # Python installs its Ctrl-C handler only when SIGINT is not ignored at start-up, and a shell
    # ignores SIGINT for commands it runs in the background: install it for this test.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    request.addfinalizer(lambda: signal.signal(signal.SIGINT, previous))

    with pytest.raises(KeyboardInterrupt):
        timer = threading.Timer(0.3, os.kill, args=(os.getpid(), signal.SIGINT))
        timer.start()
        started = time.monotonic()
        try:
            lazy.lfs_pull(token=hub.write_token, progress=False)
        finally:
            interrupted_after = time.monotonic() - started
            timer.join()

    assert interrupted_after < 0.3 + 1.2
    target = tmp_path / "lazy" / "model.safetensors"
    assert target.read_bytes().startswith(b"version https://git-lfs")
    time.sleep(3.5)  # the abandoned request ends; nothing half-written may be left in the store
    objects = tmp_path / "lazy" / ".git" / "lfs" / "objects"
    assert not objects.exists() or not [p for p in objects.rglob("*") if p.is_file()]
    hub.faults.latency = 0.0
    assert lazy.lfs_pull(token=hub.write_token).objects_downloaded == 1
    assert target.read_bytes() == data
