"""The GIL is released during long work; Ctrl-C stops it promptly; nothing half-written stays."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import hfgit
import pytest
from hfgit.testing import LocalHub


def wait_until_gone(path: Path, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not path.exists():
            return True
        time.sleep(0.05)
    return not path.exists()


def send_sigint_after(delay: float) -> threading.Timer:
    timer = threading.Timer(delay, os.kill, args=(os.getpid(), signal.SIGINT))
    timer.start()
    return timer


def test_a_python_thread_keeps_running_while_a_clone_waits_on_the_network(
    hub: LocalHub, repo_id: str, clone_dir: Path
) -> None:
    hub.faults.latency = 0.2
    ticks = 0
    stop = threading.Event()

    def count() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            time.sleep(0.001)

    counter = threading.Thread(target=count)
    counter.start()
    started = time.monotonic()
    try:
        hfgit.clone(repo_id, clone_dir, token=hub.write_token, endpoint=hub.endpoint)
    finally:
        stop.set()
        counter.join()
    elapsed = time.monotonic() - started

    assert elapsed > 0.4
    assert ticks > elapsed * 100, f"only {ticks} ticks in {elapsed:.2f}s: the GIL was held"


def test_ctrl_c_stops_a_clone_within_a_second_and_removes_its_directory(
    hub: LocalHub, repo_id: str, clone_dir: Path
) -> None:
    hub.faults.latency = 3.0
    with pytest.raises(KeyboardInterrupt):
        timer = send_sigint_after(0.3)
        started = time.monotonic()
        try:
            hfgit.clone(repo_id, clone_dir, token=hub.write_token, endpoint=hub.endpoint)
        finally:
            interrupted_after = time.monotonic() - started
            timer.join()
    assert interrupted_after < 0.3 + 1.2
    assert wait_until_gone(clone_dir), "interrupted clone left its directory behind"
    hub.faults.latency = 0.0
    assert hfgit.clone(repo_id, clone_dir, token=hub.write_token, endpoint=hub.endpoint).head


def test_ctrl_c_stops_a_push_and_keeps_the_local_commit(
    hub: LocalHub, repo_id: str, clone_dir: Path
) -> None:
    repo = hfgit.clone(repo_id, clone_dir, token=hub.write_token, endpoint=hub.endpoint)
    (clone_dir / "f.txt").write_text("f")
    mine = repo.commit("to push")
    hub.faults.latency = 3.0
    with pytest.raises(KeyboardInterrupt):
        timer = send_sigint_after(0.3)
        started = time.monotonic()
        try:
            repo.push(token=hub.write_token)
        finally:
            interrupted_after = time.monotonic() - started
            timer.join()
    assert interrupted_after < 0.3 + 1.2
    assert repo.head == mine and repo.branch == "main"


def test_an_exception_in_the_progress_callback_stops_the_clone_and_surfaces(
    hub: LocalHub, repo_id: str, clone_dir: Path
) -> None:
    def explode(event: hfgit.Progress) -> None:
        raise RuntimeError("stop here")

    hub.faults.latency = 0.3
    with pytest.raises(RuntimeError, match="stop here"):
        hfgit.clone(
            repo_id, clone_dir, token=hub.write_token, endpoint=hub.endpoint, progress=explode
        )
    assert wait_until_gone(clone_dir)


def test_clones_in_parallel_threads_all_succeed(
    hub: LocalHub, repo_id: str, tmp_path: Path
) -> None:
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        try:
            hfgit.clone(repo_id, tmp_path / f"c{i}", token=hub.write_token, endpoint=hub.endpoint)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert all((tmp_path / f"c{i}" / ".gitattributes").exists() for i in range(4))
