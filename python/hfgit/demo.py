"""``python -m hfgit demo``: the whole round trip against a LocalHub, no internet needed.

It starts a local Hub on 127.0.0.1, creates a repo, clones it with a token, writes and commits
a file, pushes, clones again elsewhere and checks that both sides agree and that the token
reached no file on disk. Each step prints one line, so a fresh machine can see it all work.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .api import clone
from .testing import LocalHub


@contextmanager
def _step(title: str) -> Iterator[None]:
    started = time.perf_counter()
    yield
    print(f"  {title:<46} {1000 * (time.perf_counter() - started):8.1f} ms")


def run_demo() -> int:
    """Run the demo and return a process exit code."""
    # Bars only where someone watches: in a log they would tear up the step lines.
    progress = None if sys.stderr.isatty() else False
    print("hfgit demo: clone, commit, push and clone again against a local Hub")
    with tempfile.TemporaryDirectory(prefix="hfgit-demo-") as tmp, LocalHub() as hub:
        work_dir = Path(tmp) / "work"
        check_dir = Path(tmp) / "check"
        repo_id = "demo-user/tiny-model"
        print(f"  local Hub at {hub.endpoint}")
        with _step(f"create {repo_id}"):
            hub.create_repo(repo_id, private=True)
        with _step("clone with a write token"):
            repo = clone(
                repo_id, work_dir, token=hub.write_token, endpoint=hub.endpoint, progress=progress
            )
        config = {"model_type": "demo", "hidden_size": 64, "num_layers": 2}
        with _step("write config.json and commit"):
            (work_dir / "config.json").write_text(json.dumps(config, indent=2) + "\n")
            commit_id = repo.commit("Add config.json", progress=progress)
        with _step("push"):
            result = repo.push(token=hub.write_token, progress=progress)
        with _step("clone again into a second directory"):
            second = clone(
                repo_id, check_dir, token=hub.write_token, endpoint=hub.endpoint, progress=progress
            )

        failures = []
        if second.head != commit_id:
            failures.append(f"second clone is at {second.head}, expected {commit_id}")
        if json.loads((check_dir / "config.json").read_text()) != config:
            failures.append("config.json differs in the second clone")
        leaked = [
            str(path)
            for root in (work_dir, check_dir)
            for path in root.rglob("*")
            if path.is_file() and hub.write_token.encode() in path.read_bytes()
        ]
        if leaked:
            failures.append(f"token found on disk in {leaked}")

        update = result.updates[0]
        print(f"  pushed {update.ref}: {(update.old or 'new')[:12]} -> {update.new[:12]}")
        print(f"  repository: {second!r}")
        if failures:
            for failure in failures:
                print(f"FAILED: {failure}")
            return 1
        print("OK: both clones agree, and the token is in no file on disk")
        return 0
