"""Xet figures: what a checkpoint push sends to storage, with Xet, with `basic`, with git-lfs.

    python benches/xet_bench.py [--size-mib 1024] [--changed-percent 5] [--smoke]

On one LocalHub with its CAS (the `xet-client` crate's `local_cas_server`, built by
scripts/build-xet-cas.sh), three repos get the same checkpoint of random bytes: one pushed by
hfgit through Xet, one by hfgit with `lfs_transfer="basic"`, one by git + git-lfs. Then the same
5% of the file is overwritten in place, in three contiguous regions (a fine-tune of a few
layers), and each pushes again. Bytes sent to storage: for Xet, the request bodies the CAS
received (chunks, shards); for basic and git-lfs, the objects LFS storage received. Every hfgit
push runs in its own process under `/usr/bin/time` (wall, CPU seconds, peak RSS), after an
unmeasured commit, as git + git-lfs's `git push` does; the hub and its CAS run in this process
and in `local_cas_server`. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from hfgit.testing import LocalHub

MiB = 1024 * 1024
ROOT = Path(__file__).resolve().parent.parent

COMMIT_CHILD = """
import sys, hfgit
hfgit.Repository(sys.argv[1]).commit(sys.argv[2])
"""
PUSH_CHILD = """
import json, sys, hfgit
repo = hfgit.Repository(sys.argv[1])
result = repo.push(token=sys.argv[2], lfs_transfer=sys.argv[3], progress=False)
print(json.dumps({"sent": result.lfs_bytes_sent, "dedup": result.lfs_bytes_deduplicated}))
"""


def run_measured(
    args: list[str], env: dict[str, str] | None = None
) -> tuple[float, float, float, str]:
    """(wall s, CPU s, peak RSS MiB, stdout) of a child process, from `/usr/bin/time` (a fresh
    process image, so the peak RSS is the child's own and not this process's at fork)."""
    child = subprocess.run(
        ["/usr/bin/time", "-f", "TIME %e %U %S %M", *args], capture_output=True, env=env
    )
    err = child.stderr.decode()
    if child.returncode != 0:
        raise RuntimeError(f"{args[:3]} failed: {err[-2000:]}")
    line = next(line for line in reversed(err.splitlines()) if line.startswith("TIME "))
    wall, user, system, rss_kib = (float(field) for field in line.split()[1:])
    return wall, user + system, rss_kib / 1024, child.stdout.decode()


def git_env(home: Path, token: str) -> dict[str, str]:
    env = dict(os.environ, HOME=str(home), GIT_TERMINAL_PROMPT="0", HF_TEST_TOKEN=token)
    env["GIT_CONFIG_GLOBAL"] = str(home / ".gitconfig")
    return env


def git(env: dict[str, str], *args: str, cwd: Path | None = None) -> None:
    helper = "!f() { echo username=hf_user; echo password=$HF_TEST_TOKEN; }; f"
    subprocess.run(
        ["git", "-c", f"credential.helper={helper}", *args],
        cwd=cwd,
        env=env,
        check=True,
        capture_output=True,
    )


def change_in_place(path: Path, percent: int) -> None:
    size = path.stat().st_size
    region = size * percent // 100 // 3
    with open(path, "r+b") as out:
        for start in (size // 10, size // 2, size - 2 * region):
            out.seek(start)
            out.write(os.urandom(region))


def write_random(path: Path, size: int) -> None:
    with open(path, "wb") as out:
        for _ in range(size // (16 * MiB)):
            out.write(os.urandom(16 * MiB))
        out.write(os.urandom(size % (16 * MiB)))


def stored_bytes(hub: LocalHub, repo: str) -> int:
    total = 0
    for oid in hub.lfs_objects(repo) - hub.xet_objects(repo):
        path = hub.lfs_object_path(oid)
        total += path.stat().st_size if path else 0
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--changed-percent", type=int, default=5)
    parser.add_argument("--smoke", action="store_true", help="64 MiB, for CI")
    options = parser.parse_args()
    size = (64 if options.smoke else options.size_mib) * MiB
    rows: list[tuple[str, str, str, str, str]] = []
    with (
        tempfile.TemporaryDirectory(prefix="xet-bench-") as scratch,
        LocalHub(Path(scratch) / "hub") as hub,
    ):
        if not hub.xet_available:
            sys.exit("no local_cas_server: run scripts/build-xet-cas.sh first")
        home = Path(scratch) / "home"
        home.mkdir()
        env = git_env(home, hub.write_token)
        subprocess.run(["git", "lfs", "install", "--skip-repo"], env=env, check=True)
        git(env, "config", "--global", "user.name", "bench")
        git(env, "config", "--global", "user.email", "bench@localhost")
        child_env = dict(env, PYTHONPATH=str(ROOT / "python"))
        figures: dict[str, list[tuple[float, float, float, int]]] = {}
        for way in ("xet", "basic", "git-lfs"):
            repo = f"bench/{way}"
            hub.create_repo(repo)
            work = Path(scratch) / way
            git(env, "clone", "-q", hub.repo_url(repo), str(work))
            weights = work / "model.safetensors"
            write_random(weights, size)
            for step in ("first push", "after a 5% change"):
                if step != "first push":
                    change_in_place(weights, options.changed_percent)
                before_cas, before_lfs = hub.xet_bytes_received, stored_bytes(hub, repo)
                if way == "git-lfs":
                    git(env, "add", "-A", cwd=work)
                    git(env, "commit", "-qm", step, cwd=work)
                    wall, cpu, rss, _ = run_measured(
                        [
                            "git",
                            "-c",
                            "credential.helper=!f() { echo username=u; "
                            "echo password=$HF_TEST_TOKEN; }; f",
                            "-C",
                            str(work),
                            "push",
                            "-q",
                        ],
                        env,
                    )
                else:
                    subprocess.run(
                        [sys.executable, "-c", COMMIT_CHILD, str(work), step],
                        env=child_env,
                        check=True,
                        capture_output=True,
                    )
                    wall, cpu, rss, _ = run_measured(
                        [sys.executable, "-c", PUSH_CHILD, str(work), hub.write_token, way],
                        child_env,
                    )
                sent = (hub.xet_bytes_received - before_cas) + (
                    stored_bytes(hub, repo) - before_lfs
                )
                figures.setdefault(way, []).append((wall, cpu, rss, sent))
                print(
                    f"{way:8} {step:18} wall {wall:6.1f} s  CPU {cpu:6.1f} s  "
                    f"RSS {rss:6.0f} MiB  sent {sent / MiB:8.1f} MiB",
                    flush=True,
                )
        for way, steps in figures.items():
            (w1, c1, r1, s1), (w2, c2, r2, s2) = steps
            rows.append(
                (
                    way,
                    f"{w1:.1f} / {c1:.1f} / {r1:.0f}",
                    f"{s1 / MiB:.0f} ({100 * s1 / size:.1f}%)",
                    f"{w2:.1f} / {c2:.1f} / {r2:.0f}",
                    f"{s2 / MiB:.1f} ({100 * s2 / size:.1f}%)",
                )
            )
    print()
    print(
        f"Checkpoint of {size // MiB} MiB, then {options.changed_percent}% changed in place "
        "(3 regions); wall s / CPU s / peak RSS MiB of the pushing process, and MiB sent to "
        "storage:"
    )
    print()
    print("| way | first push | sent | second push | sent |")
    print("|---|---:|---:|---:|---:|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print(json.dumps({"size": size}))


if __name__ == "__main__":
    main()
