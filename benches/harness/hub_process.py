"""Starting the LocalHub of `hub_server.py` in its own process and talking to it, for the
benchmarks (`run.py`, `checkpoint_disk.py`, `net_bench.py`)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

HUB_SERVER = Path(__file__).resolve().parent / "hub_server.py"


class HubProcess:
    """The LocalHub process (`hub_server.py`) and the line protocol to it; `request` may be
    called from several threads (one request and its answer at a time). `env` defaults to this
    process's environment."""

    def __init__(
        self, root: Path, env: dict[str, str] | None = None, storage_rate_limit: int | None = None
    ) -> None:
        limit = (
            [] if storage_rate_limit is None else ["--storage-rate-limit", str(storage_rate_limit)]
        )
        self._proc = subprocess.Popen(
            [sys.executable, str(HUB_SERVER), "--root", str(root), *limit],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            text=True,
        )
        self._lock = threading.Lock()
        assert self._proc.stdout is not None
        first = self._proc.stdout.readline()
        if not first:
            self._proc.wait(10)
            raise SystemExit(f"the LocalHub process did not start (exit {self._proc.returncode})")
        info = json.loads(first)
        self.endpoint: str = info["endpoint"]
        self.token: str = info["token"]
        self.pid: int = info["pid"]

    def request(self, **payload: Any) -> dict[str, Any]:
        assert self._proc.stdin is not None and self._proc.stdout is not None
        with self._lock:
            self._proc.stdin.write(json.dumps(payload) + "\n")
            self._proc.stdin.flush()
            line = self._proc.stdout.readline()
        if not line:
            raise RuntimeError("the LocalHub process went away")
        answer: dict[str, Any] = json.loads(line)
        if "error" in answer:
            raise RuntimeError(f"LocalHub: {answer['error']}")
        return answer

    def create(self, repo_id: str) -> tuple[str, Path]:
        answer = self.request(op="create", repo_id=repo_id)
        return answer["url"], Path(answer["path"])

    def delete(self, repo_id: str) -> None:
        self.request(op="delete", repo_id=repo_id)

    def stop(self) -> None:
        if self._proc.poll() is not None:
            return
        try:
            self.request(op="stop")
            self._proc.wait(15)
        except (OSError, RuntimeError, subprocess.TimeoutExpired):
            self._proc.kill()
            self._proc.wait()
