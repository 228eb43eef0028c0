"""LFS transfers over real-world links: hfgit against git + git-lfs on the same hub, in one run.

    python benches/net_bench.py [--parts cdn,link] [--rounds N] [--smoke] [--out FILE]

Build the extension for speed first (`maturin develop --release`). Two parts:

* **cdn**: clone one LFS file of 1 GiB from a LocalHub whose storage caps every request at
  100 MB/s, as CDNs cap each connection. git-lfs fetches an object over one connection; hfgit
  splits big objects into ranges fetched at once. Targets: hfgit's wall time at most 0.35 of
  git + git-lfs's, hfgit's peak RSS at most 200 MiB.
* **link**: in a network namespace this script makes (root only; otherwise the part says why it
  was skipped), with a loopback of 50 Mbit/s, 2% packet loss and 160 ms added round trip
  (`hfgit.testing.netns`), commit, push, clone and pull three LFS files of 60 MB with each tool
  (`benches/harness/link_scenario.py`). Target: hfgit within 1.2 x git + git-lfs's wall time,
  step by step and in total. The RTT and loss printed are the ones measured in the run.

Every measured step is its own process under `/usr/bin/time -v` (wall, CPU, peak RSS); the hub
runs in a process of its own (cdn) or in the namespace (link). `--smoke` runs tiny sizes once, to
check that the script works; its figures mean nothing. The report (Markdown) goes to stdout and,
with `--out`, to a file. Exit status 1 if a step failed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hfgit
from harness.data import write_payload
from harness.hub_process import HubProcess
from harness.measure import Sample, StepFailed, timed, untimed
from harness.tools import command
from hfgit.testing.netns import LinkShape, ShapedNamespace, unavailable

BENCHES = Path(__file__).resolve().parent
LINK_SCENARIO = BENCHES / "harness" / "link_scenario.py"
MiB = 1024 * 1024
CDN_RATE = 100 * 1000 * 1000
LINK = LinkShape(rate_mbit=50, loss=0.02, rtt_ms=160)
TOOLS = ("hfgit", "git")


@dataclass
class Sizes:
    cdn_mib: int
    link_files: int
    link_bytes: int


FULL = Sizes(cdn_mib=1024, link_files=3, link_bytes=60 * 1000 * 1000)
SMOKE = Sizes(cdn_mib=48, link_files=2, link_bytes=1000 * 1000)


def environment(home: Path) -> dict[str, str]:
    home.mkdir(parents=True)
    (home / ".gitconfig").write_text(
        "[user]\n\tname = Bench\n\temail = bench@example.com\n[init]\n\tdefaultBranch = main\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "GIT_", "BENCH_"))}
    # Steps run in other directories: they must import this hfgit, not another one installed.
    package_root = str(Path(hfgit.__file__).resolve().parent.parent)
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        GIT_CONFIG_NOSYSTEM="1",
        GIT_TERMINAL_PROMPT="0",
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
        PYTHONPATH=os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")])),
    )
    return env


def median(samples: Sequence[Sample], field: str) -> float:
    return statistics.median(getattr(sample, field) for sample in samples)


def verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


# ---------------------------------------------------------------------- cdn


def run_cdn(sizes: Sizes, rounds: int, work: Path) -> list[str]:
    env = environment(work / "home")
    untimed(["git", "lfs", "install", "--skip-repo"], work, env)
    payload = work / "model.safetensors"
    write_payload(payload, sizes.cdn_mib * MiB, salt=7)
    expected = hashlib.sha256(payload.read_bytes()).hexdigest()
    hub = HubProcess(work / "hub", env, storage_rate_limit=CDN_RATE)
    samples: dict[str, list[Sample]] = {tool: [] for tool in TOOLS}
    try:
        env["BENCH_TOKEN"] = hub.token
        url, _ = hub.create("bench/cdn")
        seed = work / "seed"
        untimed(command("hfgit", "clone", url, str(seed)), work, env)
        shutil.copyfile(payload, seed / payload.name)
        untimed(command("hfgit", "commit"), seed, env)
        # Stored as a plain LFS object, as in the runs of RESULTS.md: through Xet, the first
        # clone would also time LocalHub rebuilding the file from its CAS (the LFS bridge).
        untimed(command("hfgit", "push"), seed, dict(env, HFGIT_LFS_TRANSFER="basic"))
        shutil.rmtree(seed)
        for round_no in range(rounds):
            for tool in TOOLS if round_no % 2 == 0 else TOOLS[::-1]:
                dest = work / f"{tool}-{round_no}"
                sample = timed(command(tool, "clone", url, str(dest)), work, env, hub.pid)
                got = hashlib.sha256((dest / payload.name).read_bytes()).hexdigest()
                if got != expected:
                    raise StepFailed(f"{tool} cloned different bytes")
                samples[tool].append(sample)
                shutil.rmtree(dest)
    finally:
        hub.stop()
    mine, theirs = samples["hfgit"], samples["git"]
    ratio = median(mine, "wall") / median(theirs, "wall")
    peak = max(sample.rss_mib for sample in mine)
    size = f"{sizes.cdn_mib} MiB" if sizes.cdn_mib < 1024 else f"{sizes.cdn_mib // 1024} GiB"
    lines = [
        f"## cdn: clone one {size} LFS file, storage capped at {CDN_RATE / 1e6:.0f} MB/s per "
        f"request, {rounds} round(s), medians",
        "",
        "| tool | wall s | in-call s | CPU s | peak RSS MiB | hub CPU s | wall hfgit / git |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for tool, got in samples.items():
        call = [s.call for s in got if s.call is not None]
        lines.append(
            f"| {tool} | {median(got, 'wall'):.2f} | "
            f"{statistics.median(call) if call else float('nan'):.2f} | "
            f"{median(got, 'cpu'):.2f} | {max(s.rss_mib for s in got):.0f} | "
            f"{median(got, 'hub_cpu'):.2f} | {ratio if tool == 'hfgit' else 1:.2f} |"
        )
    lines += [
        "",
        f"- wall hfgit / git {ratio:.2f} (target <= 0.35): {verdict(ratio <= 0.35)}",
        f"- hfgit peak RSS {peak:.0f} MiB (target <= 200): {verdict(peak <= 200)}",
        f"- git-lfs at one connection: {sizes.cdn_mib * MiB / median(theirs, 'wall') / 1e6:.0f}"
        f" MB/s; hfgit: {sizes.cdn_mib * MiB / median(mine, 'wall') / 1e6:.0f} MB/s",
    ]
    return lines


# ---------------------------------------------------------------------- link


def run_link(sizes: Sizes, rounds: int) -> list[str]:
    heading = (
        f"## link: commit, push, clone, pull of {sizes.link_files} LFS files of "
        f"{sizes.link_bytes / 1e6:g} MB ({LINK.describe()})"
    )
    reason = unavailable()
    if reason is not None:
        return [heading, "", f"skipped: {reason}"]
    started = time.monotonic()
    with ShapedNamespace(LINK) as namespace:
        scenario = [
            *(sys.executable, str(LINK_SCENARIO)),
            *("--files", str(sizes.link_files), "--size", str(sizes.link_bytes)),
            *("--rounds", str(rounds)),
        ]
        result = subprocess.run(namespace.argv(scenario), capture_output=True, text=True)
    if result.returncode != 0:
        raise StepFailed(f"the link scenario failed:\n{result.stdout[-2000:]}\n{result.stderr}")
    doc: dict[str, Any] = json.loads(result.stdout)
    return link_report(heading, doc, time.monotonic() - started)


def link_report(heading: str, doc: dict[str, Any], took: float) -> list[str]:
    rtts = doc["rtt_ms"]
    loss = doc["dropped"] / doc["packets"] if doc["packets"] else 0.0
    by: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for step in doc["steps"]:
        by.setdefault((step["tool"], step["step"]), []).append(step)
    lines = [
        heading,
        "",
        f"Measured in the namespace: TCP round trip median {statistics.median(rtts):.0f} ms "
        f"(min {min(rtts):.0f}, max {max(rtts):.0f}, {len(rtts)} pings); packets dropped "
        f"{loss:.2%} ({doc['dropped']} of {doc['packets']}, both directions, whole run). "
        f"Run took {took:.0f} s.",
        "",
        "| step | hfgit wall s | git wall s | hfgit / git | hfgit peak RSS MiB | "
        "hfgit longest LFS progress gap s | target <= 1.2 |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    totals = {"hfgit": 0.0, "git": 0.0}
    all_ok = True
    for step in ("commit", "push", "clone", "pull"):
        mine, theirs = by.get(("hfgit", step), []), by.get(("git", step), [])
        if not mine or not theirs:
            continue
        wall = {
            tool: statistics.median(s["wall"] for s in got)
            for tool, got in (("hfgit", mine), ("git", theirs))
        }
        totals["hfgit"] += wall["hfgit"]
        totals["git"] += wall["git"]
        ratio = wall["hfgit"] / wall["git"]
        stall = max(s.get("max_stall", 0.0) for s in mine)
        rss = max(s["rss_mib"] for s in mine)
        ok = ratio <= 1.2 or step == "commit"  # commit is local: not a link figure
        all_ok = all_ok and ok
        lines.append(
            f"| {step} | {wall['hfgit']:.2f} | {wall['git']:.2f} | {ratio:.2f} | {rss:.0f} | "
            f"{stall:.1f} | {verdict(ok) if step != 'commit' else 'local'} |"
        )
    total = totals["hfgit"] / totals["git"] if totals["git"] else float("nan")
    correct = all(step.get("bytes_ok") for step in doc["steps"])
    lines += [
        f"| total | {totals['hfgit']:.2f} | {totals['git']:.2f} | {total:.2f} | | | "
        f"{verdict(total <= 1.2)} |",
        "",
        f"- every clone and pull holds exactly the bytes pushed: {'yes' if correct else 'NO'}",
    ]
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--parts", default="cdn,link")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, one round")
    parser.add_argument("--out", type=Path, help="also write the report here")
    args = parser.parse_args()
    sizes = SMOKE if args.smoke else FULL
    parts = [part for part in args.parts.split(",") if part]
    work = Path(tempfile.mkdtemp(prefix="hfgit-net-bench-", dir=scratch_dir()))
    git_lfs = subprocess.run(["git", "lfs", "version"], capture_output=True, text=True)
    report = [
        "# hfgit over real-world links",
        "",
        f"- hfgit from {Path(hfgit.__file__).parent}",
        f"- {git_lfs.stdout.strip()}",
        f"- {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start",
        "",
    ]
    failed = False
    try:
        for part in parts:
            try:
                if part == "cdn":
                    report += run_cdn(sizes, args.rounds or (1 if args.smoke else 3), work)
                elif part == "link":
                    report += run_link(sizes, args.rounds or 1)
                else:
                    raise SystemExit(f"unknown part {part!r}: choose from cdn, link")
            except StepFailed as exc:
                failed = True
                report += [f"## {part}", "", f"FAILED: {exc}"]
            report.append("")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    text = "\n".join(report)
    print(text)
    if args.out is not None:
        args.out.write_text(text + "\n")
    return 1 if failed else 0


def scratch_dir() -> str | None:
    """tmpfs when there is room, as benches/run.py does: disk noise would drown the network."""
    shm = Path("/dev/shm")
    if shm.is_dir() and shutil.disk_usage(shm).free > 6 * 1024 * MiB:
        return str(shm)
    return None


if __name__ == "__main__":
    sys.exit(main())
