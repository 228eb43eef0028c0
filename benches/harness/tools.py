"""The command line each tool runs for each operation.

Every command is one process. hfgit and the Python peers are run by the same interpreter as the
harness; the token always comes from the BENCH_TOKEN environment variable (a credential helper
for git, a credentials callback for pygit2, username/password parameters for dulwich), never
from argv or a URL.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PEER_WORKER = HERE / "peer_worker.py"

CLIENTS = ("hfgit", "git", "pygit2", "dulwich")
"""The git clients compared, hfgit first; `git` means the git CLI with git-lfs."""

GIT_CREDENTIALS = "credential.helper=!f() { echo username=hf_user; echo password=$BENCH_TOKEN; }; f"
"""A credential helper that reads the token from the environment at the moment git asks."""

CALL_SECONDS = "call-seconds="
"""Prefix of the line on which a Python tool reports how long the library call itself took."""

_TIMED = (
    "import time; started = time.perf_counter(); {call}; "
    f"print('{CALL_SECONDS}%.6f' % (time.perf_counter() - started))"
)

_HFGIT = {
    op: "import hfgit, os, sys; " + _TIMED.format(call=call)
    for op, call in {
        "clone": (
            "hfgit.clone(sys.argv[1], sys.argv[2], token=os.environ['BENCH_TOKEN'], progress=False)"
        ),
        "commit": "hfgit.commit('.', 'bench commit', progress=False)",
        "push": "hfgit.push('.', token=os.environ['BENCH_TOKEN'], progress=False)",
        "pull": ("hfgit.Repository('.').pull(token=os.environ['BENCH_TOKEN'], progress=False)"),
    }.items()
}


def git(*args: str) -> list[str]:
    """A git CLI command line that can authenticate to the hub."""
    return ["git", "-c", GIT_CREDENTIALS, *args]


def command(tool: str, op: str, url: str = "", dest: str = "") -> list[str]:
    """The command for `op` ("clone", "commit", "push", "pull") with `tool`; `clone` takes the
    URL and destination, the others run inside the clone."""
    if tool == "hfgit":
        return [sys.executable, "-c", _HFGIT[op], *([url, dest] if op == "clone" else [])]
    if tool == "git":
        if op == "clone":
            return git("clone", "-q", url, dest)
        if op == "commit":
            return ["sh", "-c", "git add -A && git commit -q -m 'bench commit'"]
        if op == "push":
            return git("push", "-q", "origin", "HEAD")
        if op == "pull":
            return git("pull", "-q", "--ff-only")
        raise ValueError(op)
    if tool in ("pygit2", "dulwich"):
        return [sys.executable, str(PEER_WORKER), tool, op, *([url, dest] if op == "clone" else [])]
    raise ValueError(tool)
