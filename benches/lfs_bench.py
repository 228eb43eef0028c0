"""Git LFS figures for a big file: hfgit against git + git-lfs on the same data, in one run.

    python benches/lfs_bench.py [--size-mib 1024] [--rounds 3] [--smoke]

Each round commits the same file in a fresh clone, pushes it to a fresh repo on a LocalHub and
clones that repo again, once with hfgit and once with `git add` + `git commit` + `git push` +
`git clone` (git-lfs hooks and filters), the tools
alternating so that machine noise hits both alike. Every step runs in its own process under
`/usr/bin/time -v`, which gives wall time, CPU seconds and peak RSS. It also compares hfgit's
streamed SHA-256 on one core with `openssl speed -evp sha256`. Medians are printed as a Markdown
table with ratios hfgit / git.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
from dataclasses import dataclass
from pathlib import Path

from hfgit.testing import LocalHub

ROOT = Path(__file__).resolve().parent.parent
MiB = 1024 * 1024


@dataclass
class Sample:
    wall: float
    cpu: float
    rss_mib: float


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> Sample:
    # Flush what earlier steps wrote, so no tool pays for another's page-cache writeback.
    os.sync()
    result = subprocess.run(
        ["/usr/bin/time", "-v", *command], cwd=cwd, env=env, capture_output=True, text=True
    )
    if result.returncode != 0:
        raise SystemExit(f"{command} failed:\n{result.stdout}\n{result.stderr}")
    report = result.stderr

    def field(name: str) -> str:
        match = re.search(rf"{re.escape(name)}: (.+)", report)
        if match is None:
            raise SystemExit(f"no {name!r} in /usr/bin/time output")
        return match.group(1).strip()

    parts = [float(p) for p in field("Elapsed (wall clock) time (h:mm:ss or m:ss)").split(":")]
    wall = sum(p * 60**i for i, p in enumerate(reversed(parts)))
    cpu = float(field("User time (seconds)")) + float(field("System time (seconds)"))
    return Sample(wall, cpu, int(field("Maximum resident set size (kbytes)")) / 1024)


def write_data(path: Path, size_mib: int) -> None:
    """Deterministic, incompressible: one seeded random MiB, each copy stamped with its index."""
    import random

    block = random.Random(1234).randbytes(MiB)
    with path.open("wb") as out:
        for i in range(size_mib):
            out.write(i.to_bytes(8, "little") + block[8:])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--smoke", action="store_true", help="tiny size, one round")
    args = parser.parse_args()
    if args.smoke:
        args.size_mib, args.rounds = 8, 1

    work = Path(tempfile.mkdtemp(prefix="hfgit-lfs-bench-"))
    home = work / "home"
    home.mkdir()
    env = dict(os.environ, HOME=str(home), GIT_TERMINAL_PROMPT="0", GIT_CONFIG_NOSYSTEM="1")
    (home / ".gitconfig").write_text("[user]\n\tname = Bench\n\temail = bench@example.com\n")
    subprocess.run(
        ["git", "lfs", "install", "--skip-repo"], env=env, check=True, capture_output=True
    )
    data = work / "model.safetensors"
    write_data(data, args.size_mib)

    results: dict[tuple[str, str], list[Sample]] = {}
    with LocalHub() as hub:
        env["HF_TEST_TOKEN"] = hub.write_token
        helper = "!f() { echo username=hf_user; echo password=$HF_TEST_TOKEN; }; f"
        for round_no in range(args.rounds):
            for tool in ("hfgit", "git") if round_no % 2 == 0 else ("git", "hfgit"):
                repo_id = f"bench/{tool}-{round_no}"
                hub.create_repo(repo_id)
                clone = work / f"{tool}-{round_no}"
                subprocess.run(
                    ["git", "clone", "-q", hub.repo_url(repo_id), str(clone)], env=env, check=True
                )
                shutil.copyfile(data, clone / "model.safetensors")
                if tool == "hfgit":
                    py = [sys.executable, "-c"]
                    commit = [*py, "import hfgit; hfgit.commit('.', 'weights')"]
                    push = [*py, f"import hfgit; hfgit.push('.', token={hub.write_token!r})"]
                else:
                    commit = ["sh", "-c", "git add model.safetensors && git commit -qm weights"]
                    push = [
                        "git",
                        "-c",
                        f"credential.helper={helper}",
                        "push",
                        "-q",
                        "origin",
                        "main",
                    ]
                results.setdefault((tool, "commit"), []).append(timed(commit, clone, env))
                results.setdefault((tool, "push"), []).append(timed(push, clone, env))
                shutil.rmtree(clone)
                fresh = work / f"{tool}-{round_no}-clone"
                if tool == "hfgit":
                    get = [
                        sys.executable,
                        "-c",
                        f"import hfgit; hfgit.clone({hub.repo_url(repo_id)!r}, {str(fresh)!r},"
                        f" token={hub.write_token!r})",
                    ]
                else:
                    get = [
                        "git",
                        "-c",
                        f"credential.helper={helper}",
                        "clone",
                        "-q",
                        hub.repo_url(repo_id),
                        str(fresh),
                    ]
                results.setdefault((tool, "clone"), []).append(timed(get, work, env))
                shutil.rmtree(fresh)

    sha_rate = hash_rate(data)
    openssl_rate = openssl_sha256_rate()
    shutil.rmtree(work, ignore_errors=True)
    print(report(results, args, sha_rate, openssl_rate))
    return 0


def hash_rate(path: Path) -> float:
    out = subprocess.run(
        [
            "cargo",
            "run",
            "-q",
            "--release",
            "--no-default-features",
            "--example",
            "sha256_throughput",
            "--",
            str(path),
            "3",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return float(out.stdout.strip())


def openssl_sha256_rate() -> float:
    out = subprocess.run(
        ["openssl", "speed", "-evp", "sha256", "-seconds", "2", "-bytes", str(MiB)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    kbytes = float(out.strip().splitlines()[-1].split()[-1].rstrip("k"))
    return kbytes * 1000


def report(
    results: dict[tuple[str, str], list[Sample]],
    args: argparse.Namespace,
    sha_rate: float,
    openssl_rate: float,
) -> str:
    lines = [
        f"## {args.size_mib} MiB LFS file, {args.rounds} round(s), medians",
        "",
        "| step | tool | wall s | CPU s | peak RSS MiB | wall hfgit/git |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for step in ("commit", "push", "clone"):
        git_wall = statistics.median(s.wall for s in results[("git", step)])
        for tool in ("hfgit", "git"):
            samples = results[(tool, step)]
            wall = statistics.median(s.wall for s in samples)
            cpu = statistics.median(s.cpu for s in samples)
            rss = max(s.rss_mib for s in samples)
            ratio = f"{wall / git_wall:.2f}" if tool == "hfgit" else ""
            lines.append(f"| {step} | {tool} | {wall:.2f} | {cpu:.2f} | {rss:.0f} | {ratio} |")
    lines += [
        "",
        f"SHA-256 one core: hfgit {sha_rate / 1e9:.2f} GB/s, openssl {openssl_rate / 1e9:.2f} GB/s"
        f" ({sha_rate / openssl_rate:.0%} of OpenSSL)",
    ]
    return textwrap.dedent("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
