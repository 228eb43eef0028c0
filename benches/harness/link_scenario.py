"""Clone, commit, push and pull a repo of LFS files with hfgit and with git + git-lfs, in one run.

    python benches/harness/link_scenario.py --files 3 --size 62914560 [--rounds 1] [--cut]

Meant to run inside a shaped network namespace (`hfgit.testing.netns`; `benches/net_bench.py`
and `tests/test_lossy_link.py` put it there), where it starts a LocalHub on the namespace's
loopback and, for each tool in turn (the order alternating by round), on a repo of its own:

1. clone the empty repo (not measured), write `--files` files of `--size` random bytes;
2. commit, push, clone it again elsewhere (each measured);
3. rewrite every file, commit and push again (not measured), then pull in the second clone
   (measured), and check that it holds exactly the bytes pushed.

Each measured step is its own process under `/usr/bin/time -v`. hfgit's steps log every progress
event; `--cut` makes hfgit's clone and push cut every connection to the hub (TCP resets, through
iptables) for `--cut-seconds` once a third of their LFS bytes have moved, so the figures show
the retries. One JSON document goes to stdout: the link as measured (round trips at the start,
the drop rule's counters at the end), and every step's figures.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import hfgit
from hfgit.testing import LocalHub
from hfgit.testing.netns import counters_inside, round_trips_inside

from harness.data import write_payload
from harness.measure import Sample, timed, untimed
from harness.tools import git

TOOLS = ("hfgit", "git")

# One hfgit operation, logging every progress event (and, with LINK_CUT_AT, cutting the hub off
# for a moment once that many LFS bytes have moved).
HFGIT_STEP = r"""
import json, os, subprocess, sys, threading, time
import hfgit
op, log_path = sys.argv[1], sys.argv[2]
cut_at = int(os.environ.get("LINK_CUT_AT") or 0)
events = []
state = {"cut": False}
rule = ["INPUT", "-p", "tcp", "--dport", os.environ.get("LINK_HUB_PORT", "0"),
        "-j", "REJECT", "--reject-with", "tcp-reset"]
def heal():
    time.sleep(float(os.environ.get("LINK_CUT_SECONDS") or 1))
    subprocess.run(["iptables", "-D", *rule], check=True)
    events.append((time.monotonic(), "healed", 0))
def progress(p):
    events.append((time.monotonic(), p.phase, p.bytes))
    if cut_at and not state["cut"] and p.phase.startswith("lfs-") and p.bytes >= cut_at:
        state["cut"] = True
        subprocess.run(["iptables", "-I", *rule], check=True)
        events.append((time.monotonic(), "cut", 0))
        threading.Thread(target=heal, daemon=True).start()
token = os.environ["BENCH_TOKEN"]
started = time.perf_counter()
if op == "clone":
    hfgit.clone(sys.argv[3], sys.argv[4], token=token, progress=progress)
elif op == "commit":
    hfgit.commit(".", "bench commit", progress=progress)
elif op == "push":
    hfgit.push(".", token=token, progress=progress)
else:
    hfgit.Repository(".").pull(token=token, progress=progress)
print("call-seconds=%.6f" % (time.perf_counter() - started))
with open(log_path, "w") as log:
    json.dump(events, log)
"""


def step_command(tool: str, op: str, log: Path, url: str = "", dest: str = "") -> list[str]:
    if tool == "hfgit":
        extra = [url, dest] if op == "clone" else []
        return [sys.executable, "-c", HFGIT_STEP, op, str(log), *extra]
    if op == "clone":
        return git("clone", "-q", url, dest)
    if op == "commit":
        return ["sh", "-c", "git add -A && git commit -q -m 'bench commit'"]
    if op == "push":
        return git("push", "-q", "origin", "HEAD")
    return git("pull", "-q", "--ff-only")


def progress_figures(log: Path) -> dict[str, Any]:
    """From hfgit's progress log: events, the longest wait between two LFS progress events, and
    whether a cut happened (and how long LFS progress then stood still)."""
    if not log.exists():
        return {}
    events = json.loads(log.read_text())
    lfs = [(t, phase, moved) for t, phase, moved in events if phase.startswith("lfs-")]
    gaps = [later[0] - earlier[0] for earlier, later in zip(lfs, lfs[1:])]
    cut = next((t for t, phase, _ in events if phase == "cut"), None)
    figures: dict[str, Any] = {
        "events": len(events),
        "lfs_events": len(lfs),
        "max_stall": max(gaps, default=0.0),
        "cut": cut is not None,
        "lfs_bytes": max((moved for _, _, moved in lfs), default=0),
    }
    if cut is not None:
        before = max((moved for t, _, moved in lfs if t <= cut), default=0)
        moved_on = [t for t, _, moved in lfs if t > cut and moved > before]
        figures["stalled_after_cut"] = (moved_on[0] - cut) if moved_on else None
    return figures


def storage_figures(hub: LocalHub) -> dict[str, Any]:
    records = [r for r in hub.requests if r.path.startswith("/_lfs_storage/")]
    resumed = [
        r
        for r in records
        if r.range is not None and r.range.endswith("-") and not r.range.startswith("bytes=0-")
    ]
    return {
        "storage_requests": len(records),
        "storage_unanswered": sum(r.status is None for r in records),
        "resumed_gets": len(resumed),
        "storage_log": [f"{r.method} {r.status} {r.range}" for r in records[:40]],
    }


def sample_dict(sample: Sample) -> dict[str, Any]:
    return {"wall": sample.wall, "cpu": sample.cpu, "rss_mib": sample.rss_mib, "call": sample.call}


def digest(paths: list[Path]) -> list[str]:
    return [hashlib.sha256(path.read_bytes()).hexdigest() for path in paths]


def run_tool(
    hub: LocalHub,
    tool: str,
    round_no: int,
    args: argparse.Namespace,
    work: Path,
    env: dict[str, str],
) -> list[dict[str, Any]]:
    repo_id = f"link/{tool}-{round_no}"
    # A repo from before Xet: both tools upload with basic/multipart to LocalHub's storage, on
    # the hub's port, which the cut rule closes (Xet would go to the CAS on another port).
    url = hub.create_repo(repo_id, xet=False)
    first, second = work / f"{tool}-{round_no}-a", work / f"{tool}-{round_no}-b"
    untimed(git("clone", "-q", url, str(first)), work, env)
    names = [f"shard-{index}.bin" for index in range(args.files)]
    for index, name in enumerate(names):
        write_payload(first / name, args.size, salt=round_no * 100 + index)
    results: list[dict[str, Any]] = []
    cut_env = dict(env)
    if args.cut and tool == "hfgit":
        port = hub.endpoint.rsplit(":", 1)[1]
        cut_env.update(
            LINK_CUT_AT=str(args.files * args.size // 3),
            LINK_HUB_PORT=port,
            LINK_CUT_SECONDS=str(args.cut_seconds),
        )

    def measure(op: str, cwd: Path, cut: bool = False, **where: str) -> None:
        log = work / f"{tool}-{round_no}-{op}.json"
        hub.clear_requests()
        command = step_command(tool, op, log, **where)
        sample = timed(command, cwd, cut_env if cut else env)
        results.append(
            {
                "tool": tool,
                "round": round_no,
                "step": op,
                **sample_dict(sample),
                **progress_figures(log),
                **storage_figures(hub),
            }
        )

    measure("commit", first)
    measure("push", first, cut=True)
    measure("clone", work, cut=True, url=url, dest=str(second))
    cloned_ok = digest([second / name for name in names]) == digest([first / n for n in names])
    for index, name in enumerate(names):
        write_payload(first / name, args.size, salt=round_no * 100 + 50 + index)
    untimed(step_command(tool, "commit", work / "setup.json"), first, env)
    untimed(step_command(tool, "push", work / "setup.json"), first, env)
    measure("pull", second)
    pulled_ok = digest([second / name for name in names]) == digest([first / n for n in names])
    for result in results:
        result["bytes_ok"] = cloned_ok and pulled_ok
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=3)
    parser.add_argument("--size", type=int, default=60 * 1000 * 1000)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--tools", default=",".join(TOOLS))
    parser.add_argument("--cut", action="store_true", help="cut hfgit's connections once")
    parser.add_argument("--cut-seconds", type=float, default=1.0)
    parser.add_argument("--pings", type=int, default=20)
    args = parser.parse_args()
    tools = [tool for tool in args.tools.split(",") if tool]

    work = Path(tempfile.mkdtemp(prefix="hfgit-link-"))
    home = work / "home"
    home.mkdir()
    env = dict(os.environ, HOME=str(home), GIT_TERMINAL_PROMPT="0", GIT_CONFIG_NOSYSTEM="1")
    # The steps run elsewhere: they must import the hfgit this runner imported.
    package_root = str(Path(hfgit.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
    env.pop("GIT_CONFIG_GLOBAL", None)
    (home / ".gitconfig").write_text(
        "[user]\n\tname = Bench\n\temail = bench@example.com\n[init]\n\tdefaultBranch = main\n"
    )
    subprocess.run(
        ["git", "lfs", "install", "--skip-repo"], env=env, check=True, capture_output=True
    )
    rtts = round_trips_inside(args.pings)
    steps: list[dict[str, Any]] = []
    with LocalHub(work / "hub") as hub:
        env["BENCH_TOKEN"] = hub.write_token
        for round_no in range(args.rounds):
            order = tools if round_no % 2 == 0 else list(reversed(tools))
            for tool in order:
                steps.extend(run_tool(hub, tool, round_no, args, work, env))
    packets, dropped = counters_inside()
    json.dump(
        {
            "rtt_ms": sorted(t * 1000 for t in rtts),
            "packets": packets,
            "dropped": dropped,
            "files": args.files,
            "size": args.size,
            "steps": steps,
        },
        sys.stdout,
    )
    sys.stdout.write("\n")
    subprocess.run(["rm", "-rf", str(work)], check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
