"""Helpers for the local-repository tests: writing files, snapshotting everything a refused call
must leave alone, and reading the LocalHub's bare repos with real git."""

from __future__ import annotations

import subprocess
from pathlib import Path

import hfgit
from gitcli import git
from hfgit.testing import LocalHub

MiB = 1024 * 1024


def write(root: hfgit.Repository | Path, name: str, content: str | bytes) -> Path:
    path = Path(root if isinstance(root, Path) else root.path) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        path.write_text(content)
    else:
        path.write_bytes(content)
    return path


def local_state(root: Path) -> dict[str, object]:
    """Everything a refused call must leave as it was: refs, HEAD, index, files, LFS store."""
    files = {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(root).parts
    }
    lfs = sorted(str(p) for p in (root / ".git/lfs/objects").rglob("*") if p.is_file())
    index = root / ".git/index"
    return {
        "refs": git("for-each-ref", "--format=%(refname) %(objectname)", cwd=root),
        "head": (root / ".git/HEAD").read_text(),
        "index": index.read_bytes() if index.exists() else b"",
        "files": files,
        "lfs": lfs,
    }


def server_ref(hub: LocalHub, repo_id: str, ref: str, repo_type: str = "model") -> str | None:
    """The id a ref of the hub's bare repo points at (tag objects not peeled), or None."""
    result = subprocess.run(
        [
            "git",
            "--git-dir",
            str(hub.repo_path(repo_id, repo_type)),
            "rev-parse",
            "--verify",
            "-q",
            ref,
        ],
        capture_output=True,
        text=True,
    )
    return result.stdout.strip() or None


def status_porcelain(root: Path) -> str:
    return git("status", "--porcelain", cwd=root)


def pointer_oid(blob: bytes) -> str:
    """The sha256 named by an LFS pointer's text."""
    for line in blob.decode().splitlines():
        if line.startswith("oid sha256:"):
            return line.removeprefix("oid sha256:")
    raise AssertionError(f"not a pointer: {blob!r}")
