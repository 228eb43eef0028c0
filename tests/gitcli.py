"""Driving the real git CLI from tests, as the other side of every interop check."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path


def git(*args: str, cwd: Path | None = None, token: str | None = None) -> str:
    """Run the real git CLI; a token travels in a header on the command line, never on disk."""
    command = ["git"]
    if token is not None:
        basic = base64.b64encode(f"hf_user:{token}".encode()).decode()
        command += ["-c", f"http.extraHeader=Authorization: Basic {basic}"]
    command += list(args)
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout
