"""Disk use of a job that saves and pushes a checkpoint N times: hfgit against git + git-lfs.

    python benches/checkpoint_disk.py [--checkpoints 20] [--size-mib 256] [--root DIR]
                                      [--distinct] [--json FILE] [--smoke]

Each way of working clones a fresh repo from a LocalHub (in its own process, its storage outside
`--root`), then N times writes S MiB of new weights over `model.safetensors` in place (as
safetensors' `save_file` and `torch.save` do), commits and pushes them:

- `hfgit prune`: commit, then `push(prune_lfs=True)` (through `CheckpointPusher` when it takes
  `prune_lfs`);
- `hfgit`: commit and push, no prune;
- `git`: `git add -A`, `git commit`, `git push` with git-lfs's filters and hooks;
- `git + lfs prune`: the same, then `git lfs prune` after each push.

All use the same bytes: one seeded random block of S MiB, its first 8 bytes replaced by the
checkpoint's number. While they work, a thread samples the clone's disk use every 50 ms: the sum
of st_blocks x 512 over the work tree and `.git`, as `du` counts it. `du` counts a block that a
reflink shares once per file, so on a file system that shares blocks (`--root` on an XFS mount
made with `reflink=1`, say) the distinct blocks are sampled too: every file's extents (FIEMAP),
each physical block counted once. (statvfs would not do: XFS frees an unlinked file's blocks in
the background, so a pruned object stays counted as used for a moment after it is gone, until XFS
needs the space.) Mount such a file system with `-o allocsize=64k`: by default XFS keeps
speculative preallocation past the end of a file that is truncated and rewritten, up to its size
again and for minutes, which doubles the figures of every way alike.

Targets (issue 11): at the end at most 1.1 x one checkpoint + the git metadata (`.git` without
`lfs/objects`), and at the peak at most 2 x one checkpoint.
"""

from __future__ import annotations

import argparse
import array
import fcntl
import inspect
import json
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from harness.hub_process import HubProcess
from harness.tools import GIT_CREDENTIALS

MiB = 1024 * 1024
INTERVAL = 0.05
WAYS = ("hfgit prune", "hfgit", "git", "git + lfs prune")


@dataclass
class Figures:
    """One way of working: disk use in bytes (du, and statvfs growth when known) and wall time."""

    way: str
    checkpoints: int
    checkpoint_bytes: int
    end: int
    peak: int
    metadata: int
    store_at_end: int
    samples: int
    seconds: float
    distinct_end: int | None = None
    distinct_peak: int | None = None

    @property
    def end_target(self) -> float:
        return 1.1 * self.checkpoint_bytes + self.metadata

    @property
    def peak_target(self) -> float:
        return 2.0 * self.checkpoint_bytes

    def meets(self, end: int | None, peak: int | None) -> tuple[str, str]:
        """Whether the end and the peak meet their targets ("yes"/"no"; "" when unknown)."""
        if end is None or peak is None:
            return "", ""
        return (
            "yes" if end <= self.end_target else "no",
            "yes" if peak <= self.peak_target else "no",
        )


def tree_bytes(root: Path, skip: Path | None = None) -> int:
    """Allocated bytes of every file under `root` (not following links), as `du` counts them."""
    total = 0
    stack = [str(root)]
    while stack:
        directory = stack.pop()
        if skip is not None and directory == str(skip):
            continue
        try:
            entries = list(os.scandir(directory))
        except OSError:
            continue  # removed meanwhile
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                else:
                    total += entry.stat(follow_symlinks=False).st_blocks * 512
            except OSError:
                continue
    return total


FS_IOC_FIEMAP = 0xC020660B
FIEMAP_HEADER = struct.Struct("=QQIIII")  # start, length, flags, mapped, count, reserved
FIEMAP_EXTENT = struct.Struct("=QQQ16xI12x")  # logical, physical, length, flags
EXTENTS_PER_CALL = 64
EXTENT_LAST, EXTENT_UNKNOWN, EXTENT_DELALLOC = 0x1, 0x2, 0x4


def extents(path: str) -> list[tuple[int, int, bool]]:
    """`(physical, length, placed)` of each extent of a file; an extent not yet on disk
    (delayed allocation) is not placed and counts as blocks of its own."""
    found: list[tuple[int, int, bool]] = []
    start = 0
    with open(path, "rb") as file:
        while True:
            request = array.array(
                "B",
                FIEMAP_HEADER.pack(start, 2**64 - 1 - start, 0, 0, EXTENTS_PER_CALL, 0)
                + bytes(FIEMAP_EXTENT.size * EXTENTS_PER_CALL),
            )
            fcntl.ioctl(file.fileno(), FS_IOC_FIEMAP, request)
            mapped = FIEMAP_HEADER.unpack_from(request)[3]
            if mapped == 0:
                return found
            last_seen = False
            for index in range(mapped):
                offset = FIEMAP_HEADER.size + index * FIEMAP_EXTENT.size
                logical, physical, length, flags = FIEMAP_EXTENT.unpack_from(request, offset)
                placed = not flags & (EXTENT_UNKNOWN | EXTENT_DELALLOC)
                found.append((physical, length, placed))
                start = logical + length
                last_seen = last_seen or bool(flags & EXTENT_LAST)
            if last_seen:
                return found


def distinct_bytes(root: Path) -> int:
    """Bytes of the distinct physical blocks of every file under `root`: a block that several
    files share (a reflink) is counted once."""
    ranges: list[tuple[int, int]] = []
    unplaced = 0
    stack = [str(root)]
    while stack:
        directory = stack.pop()
        try:
            entries = list(os.scandir(directory))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                elif entry.is_file(follow_symlinks=False):
                    try:
                        mapped = extents(entry.path)
                    except OSError:  # no FIEMAP here (tmpfs): its blocks are its own
                        unplaced += entry.stat(follow_symlinks=False).st_blocks * 512
                        continue
                    for physical, length, placed in mapped:
                        if placed:
                            ranges.append((physical, physical + length))
                        else:
                            unplaced += length
            except OSError:
                continue  # removed meanwhile
    total, reach = 0, -1
    for begin, end in sorted(ranges):
        if end > reach:
            total += end - max(begin, reach)
            reach = end
    return total + unplaced


class Sampler(threading.Thread):
    """Samples a clone's disk use every `INTERVAL` seconds until stopped; keeps the peaks."""

    def __init__(self, clone: Path, distinct: bool) -> None:
        super().__init__(daemon=True)
        self.clone = clone
        self.distinct = distinct
        self.peak = 0
        self.distinct_peak = 0
        self.samples = 0
        self._stop_event = threading.Event()

    def sample(self) -> tuple[int, int]:
        used = tree_bytes(self.clone)
        # A file whose data is not on disk yet (delayed allocation) has no physical blocks to
        # compare; if it is cloned while a walk is under way, that walk counts its data twice
        # (unplaced in the file, placed in the clone). The next walk sees it placed in both, so
        # the smaller of two walks in a row is the true figure.
        distinct = (
            min(distinct_bytes(self.clone), distinct_bytes(self.clone)) if self.distinct else 0
        )
        self.peak = max(self.peak, used)
        self.distinct_peak = max(self.distinct_peak, distinct)
        self.samples += 1
        return used, distinct

    def run(self) -> None:
        while not self._stop_event.wait(INTERVAL):
            self.sample()

    def finish(self) -> tuple[int, int]:
        self._stop_event.set()
        self.join()
        return self.sample()


def write_checkpoint(path: Path, block: bytes, number: int) -> None:
    """S MiB of weights, distinct per checkpoint, written over the file in place."""
    with path.open("wb") as out:
        out.write(number.to_bytes(8, "little"))
        out.write(memoryview(block)[8:])


class Bench:
    def __init__(self, args: argparse.Namespace, scratch: Path) -> None:
        self.args = args
        self.root: Path = args.root or scratch / "clones"
        self.root.mkdir(parents=True, exist_ok=True)
        self.distinct = args.distinct or os.path.ismount(self.root)
        rng = random.Random(2024)
        self.block = b"".join(rng.randbytes(MiB) for _ in range(args.size_mib))
        self.home = scratch / "home"
        self.home.mkdir()
        (self.home / ".gitconfig").write_text(
            "[user]\n\tname = Bench\n\temail = bench@example.com\n[init]\n\tdefaultBranch = main\n"
        )
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "HF_"))}
        self.env.update(
            HOME=str(self.home),
            XDG_CONFIG_HOME=str(self.home / ".config"),
            GIT_CONFIG_NOSYSTEM="1",
            GIT_TERMINAL_PROMPT="0",
            HF_HUB_DISABLE_PROGRESS_BARS="1",
            NO_PROXY="127.0.0.1,localhost",
        )
        # hfgit runs in this process: libgit2 reads HOME (and its git config) from here.
        os.environ.update(self.env)
        self.run_git("lfs", "install", "--skip-repo", cwd=scratch)
        self.hub = HubProcess(scratch / "hub", self.env)
        self.env["BENCH_TOKEN"] = self.hub.token

    def run_git(self, *args: str, cwd: Path) -> None:
        subprocess.run(
            ["git", "-c", GIT_CREDENTIALS, *args],
            cwd=cwd,
            env=self.env,
            check=True,
            capture_output=True,
        )

    def measure(self, way: str) -> Figures:
        import hfgit

        repo_id = f"bench/ckpt-{way.replace(' ', '-').replace('+', 'and')}"
        url, _ = self.hub.create(repo_id)
        clone = self.root / repo_id.split("/")[1]
        if way.startswith("hfgit"):
            hfgit.clone(url, clone, token=self.hub.token, progress=False)
        else:
            self.run_git("clone", "-q", url, str(clone), cwd=self.root)
        step = self._stepper(way, clone)
        sampler = Sampler(clone, self.distinct)
        sampler.start()
        started = time.perf_counter()
        try:
            for number in range(1, self.args.checkpoints + 1):
                write_checkpoint(clone / "model.safetensors", self.block, number)
                step(number)
        finally:
            seconds = time.perf_counter() - started
            end, distinct_end = sampler.finish()
        objects = clone / ".git" / "lfs" / "objects"
        figures = Figures(
            way=way,
            checkpoints=self.args.checkpoints,
            checkpoint_bytes=len(self.block),
            end=end,
            peak=sampler.peak,
            metadata=tree_bytes(clone / ".git", skip=objects),
            store_at_end=tree_bytes(objects),
            samples=sampler.samples,
            seconds=seconds,
            distinct_end=distinct_end if self.distinct else None,
            distinct_peak=sampler.distinct_peak if self.distinct else None,
        )
        shutil.rmtree(clone)
        self.hub.delete(repo_id)
        return figures

    def _stepper(self, way: str, clone: Path) -> Callable[[int], None]:
        import hfgit

        token = self.hub.token
        pusher_prunes = "prune_lfs" in inspect.signature(hfgit.CheckpointPusher).parameters
        if way == "hfgit prune" and pusher_prunes:
            pusher = hfgit.CheckpointPusher(clone, token=token, prune_lfs=True)

            def through_pusher(number: int) -> None:
                pusher.submit(f"checkpoint {number}")
                pusher.wait()
                if pusher.last_error is not None:
                    raise pusher.last_error

            return through_pusher
        if way.startswith("hfgit"):
            prune = way == "hfgit prune"

            def with_hfgit(number: int) -> None:
                hfgit.commit(clone, f"checkpoint {number}", progress=False)
                hfgit.push(clone, token=token, progress=False, prune_lfs=prune)

            return with_hfgit

        def with_git(number: int) -> None:
            self.run_git("add", "-A", cwd=clone)
            self.run_git("commit", "-q", "-m", f"checkpoint {number}", cwd=clone)
            self.run_git("push", "-q", "origin", "HEAD", cwd=clone)
            if way == "git + lfs prune":
                self.run_git("lfs", "prune", cwd=clone)

        return with_git


def report(results: list[Figures], args: argparse.Namespace, root: Path, distinct: bool) -> str:
    size = args.size_mib * MiB

    def mib(value: int | float | None) -> str:
        return "" if value is None else f"{value / MiB:,.1f}"

    def times(value: int | None) -> str:
        return "" if value is None else f"{value / size:.3f}"

    lines = [
        f"## {args.checkpoints} checkpoints x {args.size_mib} MiB: disk use of the clone"
        f" (work tree + .git)",
        "",
        "du: sum of st_blocks x 512, sampled every 50 ms. Targets: end <= 1.1 x checkpoint + git"
        " metadata, peak <= 2 x checkpoint.",
        "",
        "| way | end MiB | end / ckpt | peak MiB | peak / ckpt | .git/lfs/objects MiB"
        " | git metadata MiB | end target | peak target | seconds |",
        "|---|---:|---:|---:|---:|---:|---:|---|---|---:|",
    ]
    for r in results:
        end_ok, peak_ok = r.meets(r.end, r.peak)
        lines.append(
            f"| {r.way} | {mib(r.end)} | {times(r.end)} | {mib(r.peak)} | {times(r.peak)}"
            f" | {mib(r.store_at_end)} | {r.metadata / MiB:.2f} | {end_ok} | {peak_ok}"
            f" | {r.seconds:.1f} |"
        )
    if distinct:
        lines += [
            "",
            "Distinct blocks (FIEMAP extents, a block shared by a reflink counted once), clones"
            f" in {root}:",
            "",
            "| way | end MiB | end / ckpt | peak MiB | peak / ckpt | end target | peak target |",
            "|---|---:|---:|---:|---:|---|---|",
        ]
        for r in results:
            end_ok, peak_ok = r.meets(r.distinct_end, r.distinct_peak)
            lines.append(
                f"| {r.way} | {mib(r.distinct_end)} | {times(r.distinct_end)}"
                f" | {mib(r.distinct_peak)} | {times(r.distinct_peak)} | {end_ok} | {peak_ok} |"
            )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--checkpoints", type=int, default=20)
    parser.add_argument("--size-mib", type=int, default=256)
    parser.add_argument("--root", type=Path, help="make the clones here (e.g. an XFS mount)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--distinct",
        action="store_true",
        help="also count distinct blocks (FIEMAP); on by default when --root is a mount point",
    )
    parser.add_argument("--smoke", action="store_true", help="3 checkpoints of 4 MiB")
    args = parser.parse_args()
    if args.smoke:
        args.checkpoints, args.size_mib = 3, 4
    scratch = Path(tempfile.mkdtemp(prefix="hfgit-ckpt-disk-"))
    bench: Bench | None = None
    try:
        bench = Bench(args, scratch)
        results = [bench.measure(way) for way in WAYS]
        print(report(results, args, bench.root, bench.distinct))
        if args.json:
            args.json.write_text(
                json.dumps(
                    [
                        {**asdict(r), "end_target": r.end_target, "peak_target": r.peak_target}
                        for r in results
                    ]
                )
            )
    finally:
        if bench is not None:
            bench.hub.stop()
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
