"""Deterministic benchmark data: a git history for fast-import, small files, LFS payloads.

Everything here is a pure function of its parameters, so two runs (and every tool within a run)
see byte-identical inputs.
"""

from __future__ import annotations

import random
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path

MiB = 1024 * 1024
AUTHOR = b"Bench <bench@example.com>"
EPOCH = 1_700_000_000

_POOL_RNG = random.Random(20240607)
_WORDS = [
    "".join(_POOL_RNG.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(_POOL_RNG.randint(2, 9)))
    for _ in range(512)
]
_LINES = [
    " ".join(_POOL_RNG.choice(_WORDS) for _ in range(_POOL_RNG.randint(4, 12))) for _ in range(997)
]


def small_text(kind: str, index: int, revision: int = 0) -> bytes:
    """A few hundred bytes to ~2 KB of text that differ per file and per revision."""
    count = 6 + (index * 13 + revision * 5) % 30
    start = (index * 31 + revision * 17) % len(_LINES)
    body = "\n".join(_LINES[(start + k * 7) % len(_LINES)] for k in range(count))
    return f"{kind} {index} revision {revision}\n{body}\n".encode()


def history_path(index: int) -> str:
    return f"files/d{index % 50:02d}/f{index:05d}.txt"


def history_stream(commits: int, files: int, parent: str) -> Iterator[bytes]:
    """A `git fast-import` stream of `commits` commits on refs/heads/main, on top of `parent`.

    Files are introduced evenly over the history (all `files` exist at the tip) and every commit
    after the first also edits one earlier file, so the history has real deltas.
    """
    revisions: dict[int, int] = {}
    for number in range(commits):
        first, last = number * files // commits, (number + 1) * files // commits
        changes: list[bytes] = []
        for index in range(first, last):
            revisions[index] = 0
            changes.append(_modify(history_path(index), small_text("file", index)))
        if first > 0:
            index = (number * 7919) % first
            revisions[index] += 1
            changes.append(
                _modify(history_path(index), small_text("file", index, revisions[index]))
            )
        message = f"Commit {number + 1} of {commits}\n".encode()
        stamp = AUTHOR + b" %d +0000" % (EPOCH + number * 60)
        yield b"commit refs/heads/main\n"
        yield b"author " + stamp + b"\ncommitter " + stamp + b"\n"
        yield b"data %d\n" % len(message) + message
        if number == 0:
            yield b"from " + parent.encode() + b"\n"
        yield from changes
        yield b"\n"


def _modify(path: str, content: bytes) -> bytes:
    return b"M 100644 inline " + path.encode() + b"\ndata %d\n" % len(content) + content + b"\n"


def import_history(bare_repo: Path, commits: int, files: int, env: Mapping[str, str]) -> None:
    """Write the history straight into a bare repo (the hub's, on disk) and repack it."""

    def git(*args: str, data: bytes | None = None) -> str:
        done = subprocess.run(
            ["git", "--git-dir", str(bare_repo), *args],
            input=data,
            env=dict(env),
            capture_output=True,
            check=True,
        )
        return done.stdout.decode().strip()

    parent = git("rev-parse", "refs/heads/main")
    stream = b"".join(history_stream(commits, files, parent))
    git("fast-import", "--quiet", "--date-format=raw", data=stream)
    git("repack", "-a", "-d", "-f", "-q", "--depth=50", "--window=50")
    git("prune-packed")


def write_new_files(root: Path, count: int) -> None:
    """The files scenario 2 commits: `count` small new files in 100 directories."""
    for index in range(count):
        path = root / "new" / f"d{index % 100:02d}" / f"n{index:05d}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(small_text("new", index))


def write_payload(path: Path, size: int, salt: int) -> None:
    """`size` incompressible bytes: one seeded random MiB, each copy stamped with (salt, index),
    so payloads with different salts (and every MiB within one) differ."""
    block = random.Random(1234).randbytes(MiB)
    with path.open("wb") as out:
        written, index = 0, 0
        while written < size:
            chunk = salt.to_bytes(8, "little") + index.to_bytes(8, "little") + block[16:]
            chunk = chunk[: size - written]
            out.write(chunk)
            written += len(chunk)
            index += 1
