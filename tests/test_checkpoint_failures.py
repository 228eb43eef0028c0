"""What a training script sees of failing checkpoint pushes: callbacks, counters, a clear log,
a stop on errors that retrying cannot fix, and ``close()`` raising the last error."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import hfgit
import pytest
from gitcli import git
from hfgit.testing import LocalHub


@pytest.fixture
def work(hub: LocalHub, repo_id: str, clone_dir: Path) -> hfgit.Repository:
    return hfgit.clone(repo_id, clone_dir, token=hub.write_token, endpoint=hub.endpoint)


def server_messages(hub: LocalHub, repo_id: str) -> list[str]:
    bare = str(hub.repo_path(repo_id))
    return git("--git-dir", bare, "log", "--format=%s", "main").splitlines()


def test_on_push_and_on_error_are_called_on_the_pusher_thread_with_the_result_or_error(
    hub: LocalHub, work: hfgit.Repository
) -> None:
    seen: list[tuple[str, object]] = []

    def on_push(result: hfgit.PushResult) -> None:
        seen.append((threading.current_thread().name, result))

    def on_error(error: Exception) -> None:
        seen.append((threading.current_thread().name, error))

    pusher = hfgit.CheckpointPusher(
        work.path, token=hub.write_token, on_push=on_push, on_error=on_error
    )
    (Path(work.path) / "a.txt").write_text("a")
    hub.faults.fail_next(1, status=500, path_contains="git-receive-pack")
    pusher.submit("fails once")
    pusher.wait(timeout=60)
    (Path(work.path) / "b.txt").write_text("b")
    pusher.submit("goes through")
    pusher.close()

    assert [thread for thread, _ in seen] == ["hfgit-checkpoint-pusher"] * 2
    assert isinstance(seen[0][1], hfgit.NetworkError)
    result = seen[1][1]
    assert isinstance(result, hfgit.PushResult)
    assert result.updates[0].ref == "refs/heads/main"


def test_a_callback_that_raises_is_logged_and_the_pusher_carries_on(
    hub: LocalHub, repo_id: str, work: hfgit.Repository, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(result: hfgit.PushResult) -> None:
        raise ValueError("bug in the user's callback")

    with hfgit.CheckpointPusher(work.path, token=hub.write_token, on_push=broken) as pusher:
        for step in range(2):
            (Path(work.path) / "step.txt").write_text(str(step))
            pusher.submit(f"step {step}")
            pusher.wait(timeout=60)

    assert pusher.pushes_completed == 2
    logged = [r for r in caplog.records if r.exc_info and "callback" in r.getMessage()]
    assert len(logged) == 2
    assert server_messages(hub, repo_id)[0] == "step 1"


def test_consecutive_failures_count_up_and_reset_on_success_with_a_warning_that_says_what_next(
    hub: LocalHub, work: hfgit.Repository, caplog: pytest.LogCaptureFixture
) -> None:
    pusher = hfgit.CheckpointPusher(work.path, token=hub.write_token)
    for step in range(3):
        hub.faults.fail_next(1, status=503, path_contains="git-receive-pack")
        (Path(work.path) / "step.txt").write_text(str(step))
        pusher.submit(f"step {step}")
        pusher.wait(timeout=60)
        assert pusher.consecutive_failures == step + 1
    assert pusher.stopped_by is None
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "(3 in a row)" in warnings[-1].getMessage()
    assert "go out with the next submission, or at close()" in warnings[-1].getMessage()

    pusher.close()  # tries once more, and the three commits go out

    assert pusher.consecutive_failures == 0
    assert pusher.pushes_completed == 1
    assert pusher.last_error is None


def test_a_permanent_error_stops_pushing_keeps_committing_and_resume_pushes_everything(
    hub: LocalHub, repo_id: str, work: hfgit.Repository, caplog: pytest.LogCaptureFixture
) -> None:
    pusher = hfgit.CheckpointPusher(work.path, token=hub.read_token)
    (Path(work.path) / "a.txt").write_text("a")
    pusher.submit("step 1")
    pusher.wait(timeout=60)

    assert isinstance(pusher.stopped_by, hfgit.AuthenticationError)
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert "pushing has stopped" in errors[0].getMessage()
    requests_before = len(hub.requests)

    (Path(work.path) / "b.txt").write_text("b")
    pusher.submit("step 2")
    pusher.wait(timeout=60)
    assert len(hub.requests) == requests_before, "no push is tried while stopped"
    assert [c.summary for c in work.log(limit=2)] == ["step 2", "step 1"]

    pusher.resume(token=hub.write_token)
    pusher.close()
    assert server_messages(hub, repo_id)[:2] == ["step 2", "step 1"]


def test_close_raises_the_permanent_error_when_pushing_stayed_stopped(
    hub: LocalHub, work: hfgit.Repository
) -> None:
    pusher = hfgit.CheckpointPusher(work.path, token=hub.read_token)
    (Path(work.path) / "a.txt").write_text("a")
    pusher.submit("step 1")
    with pytest.raises(hfgit.AuthenticationError):
        pusher.close()
    with pytest.raises(RuntimeError):
        pusher.resume()
