"""hfgit against its peers (git + git-lfs, pygit2, dulwich) on the same work, in one run.

    python benches/run.py [--smoke] [--rounds N] [--scenarios 1,3,...] [--out DIR]

Scenarios (default sizes; `--smoke` uses tiny ones):

1. clone a repo with 2,000 commits and 5,000 small files (no LFS)
2. commit 10,000 new small files in an existing clone (only the add + commit is measured)
3. commit one 1 GiB LFS file (hash + store)
4. push that commit (LFS upload + pack)
5. clone with one 1 GiB LFS file (download + smudge)
6. clone with 20 LFS files of 50 MiB
7. no-op push and no-op pull on the repo of scenario 1
8. SHA-256 throughput of hfgit's hashing against `openssl speed -evp sha256`, one core

A LocalHub runs in its own process (`benches/harness/hub_server.py`), so its Python threads never
share a GIL with anything measured; its CPU time during every step is recorded, and steps where
it kept a core busy are called out in the notes. Data is generated deterministically. Every step
runs in its own process under `/usr/bin/time -v` (wall, user + sys CPU, peak RSS), N rounds per
tool, the tools taking turns in a rotating order so that drift hits all alike. The report
(medians, min / max, ratios hfgit / git against the targets) goes to `benches/RESULTS.md` and the
chart to `benches/results.png`; `--smoke` writes them to a temporary directory instead unless
`--out` or `--write-results` says otherwise. pygit2 and dulwich are optional: a missing one is
skipped with a note. Clones, hub repos and LFS storage live in a scratch directory on tmpfs
(/dev/shm) when there is room, so that disk metadata costs, which swing widely on VMs, do not
drown the differences between clients; `--work-dir DIR` puts them on a disk instead. The exit
status is 1 if any step failed.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from harness import data as gen
from harness.hub_process import HubProcess
from harness.measure import Sample, StepFailed, timed, untimed
from harness.report import RunData, Step, chart, hub_findings, markdown
from harness.tools import CLIENTS, command

OPENSSL_DGST = "openssl dgst"
"""`openssl dgst -sha256 FILE`: OpenSSL hashing the same file, reading included, as hfgit does;
`openssl speed` hashes a buffer already in memory."""

BENCHES = Path(__file__).resolve().parent
ROOT = BENCHES.parent
MiB = gen.MiB
LFS_MEDIA = "application/vnd.git-lfs+json"
NO_LFS = "n/a: no Git LFS support"
DULWICH_NO_LFS = "n/a: dulwich's LFS client takes credentials only from git config or the URL"


@dataclass
class Sizes:
    commits: int = 2000
    files: int = 5000
    new_files: int = 10_000
    lfs_mib: int = 1024
    many_files: int = 20
    many_mib: int = 50
    openssl_seconds: int = 3


SMOKE = Sizes(
    commits=20, files=50, new_files=50, lfs_mib=8, many_files=3, many_mib=2, openssl_seconds=1
)


def size_text(mib: int) -> str:
    return f"{mib // 1024} GiB" if mib % 1024 == 0 else f"{mib} MiB"


def make_steps(sizes: Sizes) -> list[Step]:
    every = CLIENTS
    lfs = ("hfgit", "git")
    big = size_text(sizes.lfs_mib)
    history = f"{sizes.commits:,} commits, {sizes.files:,} files"
    return [
        Step(1, "clone", f"clone ({history})", every, "git", "clone", target=1.2),
        Step(2, "commit", f"commit {sizes.new_files:,} small files", every, "git", "commit"),
        Step(3, "commit", f"commit one {big} LFS file", lfs, "git", "commit", target=0.2),
        Step(4, "push", f"push one {big} LFS file", lfs, "git", "push", target=0.8),
        Step(5, "clone", f"clone one {big} LFS file", lfs, "git", "clone", target=0.5),
        Step(
            6,
            "clone",
            f"clone {sizes.many_files} LFS files of {size_text(sizes.many_mib)}",
            lfs,
            "git",
            "clone",
            target=0.5,
        ),
        Step(7, "no-op push", f"up to date ({history})", every, "git", "push"),
        Step(7, "no-op pull", f"up to date ({history})", every, "git", "pull"),
        Step(
            8,
            "sha256",
            f"SHA-256 of {big}, one core",
            ("hfgit", "openssl", OPENSSL_DGST),
            "openssl",
            "hash",
            higher_is_better=True,
            target=0.8,
        ),
    ]


class Bench:
    def __init__(self, args: argparse.Namespace, sizes: Sizes, work: Path) -> None:
        self.args = args
        self.sizes = sizes
        self.work = work
        self.selected: set[int] = args.scenarios
        self.steps = [s for s in make_steps(sizes) if s.scenario in self.selected]
        self.data = RunData(steps=self.steps, tools=CLIENTS)
        self.failures: list[str] = []
        self.unavailable: dict[str, str] = {}
        self.home = work / "home"
        self.env = self._environment()
        self.hub: HubProcess | None = None
        self.payload = work / "payload.bin"
        self.urls: dict[str, str] = {}
        self.sha_binary: Path | None = None
        self.git_lfs = False
        self.startup: dict[str, list[float]] = {}
        self.load_at_start = os.getloadavg()[0]
        self.reported_at_start = reported_to_host_kib()

    # ------------------------------------------------------------------ setup

    def _environment(self) -> dict[str, str]:
        self.home.mkdir()
        (self.home / ".gitconfig").write_text(
            "[user]\n\tname = Bench\n\temail = bench@example.com\n"
            "[init]\n\tdefaultBranch = main\n"
            "[advice]\n\tdetachedHead = false\n"
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "GIT_", "BENCH_"))}
        env.update(
            HOME=str(self.home),
            XDG_CONFIG_HOME=str(self.home / ".config"),
            GIT_CONFIG_NOSYSTEM="1",
            GIT_TERMINAL_PROMPT="0",
            HF_HUB_DISABLE_PROGRESS_BARS="1",
            NO_PROXY="127.0.0.1,localhost",
            no_proxy="127.0.0.1,localhost",
        )
        return env

    def find_tools(self) -> None:
        if shutil.which("git") is None:
            raise SystemExit("git is needed (LocalHub serves repos through git http-backend)")
        lfs = subprocess.run(["git", "lfs", "version"], capture_output=True, env=self.env)
        self.git_lfs = lfs.returncode == 0
        if self.git_lfs:
            untimed(["git", "lfs", "install", "--skip-repo"], self.work, self.env)
        else:
            self.note("git-lfs is not installed: git was skipped in the LFS scenarios (3-6)")
        for module in ("pygit2", "dulwich"):
            if importlib.util.find_spec(module) is None:
                self.unavailable[module] = f"skipped: {module} not installed"
                self.note(
                    f"{module} is not installed, so it was skipped (pip install {module}, or the "
                    "`bench` extra)"
                )
        if 8 in self.selected:
            if shutil.which("openssl") is None:
                self.unavailable["openssl"] = "skipped: openssl not installed"
            self.sha_binary = self._sha256_binary()
            if self.sha_binary is None:
                self.data.absent[("8 sha256", "hfgit")] = "skipped: see notes"

    def _sha256_binary(self) -> Path | None:
        target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
        binary = target / "release" / "examples" / "sha256_throughput"
        if self.args.smoke:  # never a release build inside the smoke run's time budget
            if binary.is_file():
                self.note(f"scenario 8 used the prebuilt {binary} as it was (smoke mode)")
                return binary
            self.note(
                f"smoke mode does not build {binary.name}, and it is not built: hfgit's side of "
                "scenario 8 was skipped (cargo build --release --no-default-features --example "
                "sha256_throughput)"
            )
            return None
        if shutil.which("cargo") is None:
            self.note("cargo is not installed: hfgit's side of scenario 8 was skipped")
            return binary if binary.is_file() else None
        build = subprocess.run(
            [
                "cargo",
                "build",
                "-q",
                "--release",
                "--no-default-features",
                "--example",
                "sha256_throughput",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        if build.returncode != 0:
            tail = build.stderr.strip().splitlines()[-3:]
            self.note(f"building the sha256_throughput example failed: {' / '.join(tail)}")
            if binary.is_file():
                self.note("scenario 8 used the previously built binary")
                return binary
            return None
        return binary

    def start_hub(self) -> HubProcess:
        self.hub = HubProcess(self.work / "hub", self.env)
        self.env["BENCH_TOKEN"] = self.hub.token
        return self.hub

    def prepare(self) -> None:
        hub = self.require_hub()
        if self.selected & {1, 2, 7}:
            started = time.monotonic()
            url, path = hub.create("bench/history")
            gen.import_history(path, self.sizes.commits, self.sizes.files, self.env)
            self.urls["history"] = url
            self.setup_note("history repo (fast-import + repack)", started)
        if self.selected & {3, 4, 5, 8}:
            started = time.monotonic()
            gen.write_payload(self.payload, self.sizes.lfs_mib * MiB, salt=0)
            self.setup_note(f"{size_text(self.sizes.lfs_mib)} payload written", started)
        if 5 in self.selected:
            started = time.monotonic()
            self.urls["one-big"] = self.publish(
                "bench/one-big",
                lambda dest: shutil.copyfile(self.payload, dest / "model.safetensors"),
            )
            self.setup_note("scenario 5 repo published", started)
        if 6 in self.selected:
            started = time.monotonic()

            def shards(dest: Path) -> None:
                for i in range(self.sizes.many_files):
                    target = dest / f"model-{i + 1:05d}-of-{self.sizes.many_files:05d}.safetensors"
                    gen.write_payload(target, self.sizes.many_mib * MiB, salt=i + 1)

            self.urls["many"] = self.publish("bench/many", shards)
            self.setup_note("scenario 6 repo published", started)
        if self.selected & {3, 4, 5, 6}:
            self.probe_storage()

    def publish(self, repo_id: str, fill: Any) -> str:
        """Create a repo holding LFS files, pushed with git + git-lfs (hfgit without git-lfs)."""
        url, _ = self.require_hub().create(repo_id)
        dest = self.work / "publish"
        tool = "git" if self.git_lfs else "hfgit"
        untimed(command(tool, "clone", url, str(dest)), self.work, self.env)
        fill(dest)
        untimed(command(tool, "commit"), dest, self.env)
        untimed(command(tool, "push"), dest, self.env)
        shutil.rmtree(dest)
        return url

    def probe_storage(self) -> None:
        """Time the hub's LFS storage alone (curl, one object) to see whether it can keep up."""
        if shutil.which("curl") is None:
            self.note("curl is not installed: the LocalHub storage probe was skipped")
            return
        hub = self.require_hub()
        size = self.payload.stat().st_size
        digest = hashlib.sha256()
        with self.payload.open("rb") as source:
            while block := source.read(8 * MiB):
                digest.update(block)
        oid = digest.hexdigest()
        url, _ = hub.create("bench/storage-probe")
        try:
            curl = ["curl", "-sS", "-f", "--noproxy", "*", "-o", "/dev/null", "-H", "Expect:"]
            href, headers = self.lfs_action(url, "upload", oid, size)
            put = [*curl, *headers, "-T", str(self.payload), href]
            up = timed(put, self.work, self.env, hub.pid)
            href, headers = self.lfs_action(url, "download", oid, size)
            down = timed([*curl, *headers, href], self.work, self.env, hub.pid)
        except (StepFailed, OSError, KeyError, ValueError) as exc:
            self.note(f"the LocalHub storage probe failed: {str(exc).splitlines()[0]}")
            return
        finally:
            hub.delete("bench/storage-probe")
        self.note(
            f"LocalHub storage alone (curl, {size_text(self.sizes.lfs_mib)}): upload "
            f"{size / up.wall / 1e9:.2f} GB/s in {up.wall:.2f} s (hub CPU {up.hub_cpu:.2f} s, "
            f"its Python hashes and writes every upload), download {size / down.wall / 1e9:.2f} "
            f"GB/s in {down.wall:.2f} s (hub CPU {down.hub_cpu:.2f} s, sendfile). An LFS step "
            "close to these times is bounded by the hub, not the client."
        )

    def lfs_action(
        self, repo_url: str, operation: str, oid: str, size: int
    ) -> tuple[str, list[str]]:
        body = {
            "operation": operation,
            "transfers": ["basic"],
            "objects": [{"oid": oid, "size": size}],
            "hash_algo": "sha256",
        }
        basic = base64.b64encode(f"hf_user:{self.require_hub().token}".encode()).decode()
        request = urllib.request.Request(
            f"{repo_url}.git/info/lfs/objects/batch",
            data=json.dumps(body).encode(),
            method="POST",
            headers={
                "Accept": LFS_MEDIA,
                "Content-Type": LFS_MEDIA,
                "Authorization": f"Basic {basic}",
            },
        )
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(request, timeout=60) as response:
            answer = json.load(response)
        action = answer["objects"][0]["actions"][operation]
        headers = [arg for k, v in action.get("header", {}).items() for arg in ("-H", f"{k}: {v}")]
        return action["href"], headers

    # ------------------------------------------------------------------ running steps

    def require_hub(self) -> HubProcess:
        if self.hub is None:
            raise RuntimeError("the hub is not running")
        return self.hub

    def note(self, text: str) -> None:
        self.data.notes.append(text)

    def setup_note(self, what: str, started: float) -> None:
        print(f"  setup: {what} in {time.monotonic() - started:.1f} s", flush=True)

    def tools_for(self, step: Step, order: Sequence[str]) -> list[str]:
        return [t for t in order if t in step.tools and t not in self.unavailable]

    def mark_absent(self) -> None:
        for step in self.steps:
            for tool in (*step.tools, *CLIENTS):
                key = (step.label, tool)
                if key in self.data.samples or key in self.data.absent:
                    continue
                if tool in self.unavailable and tool in step.tools:
                    self.data.absent[key] = self.unavailable[tool]
                elif tool not in step.tools:
                    if step.scenario == 8:
                        self.data.absent[key] = "n/a: hfgit's hashing is compared with openssl"
                    else:
                        self.data.absent[key] = DULWICH_NO_LFS if tool == "dulwich" else NO_LFS
                elif tool == "git" and not self.git_lfs and step.scenario in (3, 4, 5, 6):
                    self.data.absent[key] = "skipped: git-lfs not installed"
                else:
                    self.data.absent[key] = "no figures: an earlier step failed, see notes"

    def fail(self, step: Step | None, tool: str, what: str, exc: Exception) -> None:
        label = step.label if step else "setup"
        message = f"{label} / {tool}: {what} failed: {str(exc).strip()[:1500]}"
        self.failures.append(message)
        self.note(message.replace("\n", " / "))
        if step is not None:
            self.data.absent.setdefault((step.label, tool), "failed: see notes")
        print(f"  FAILED {message}", flush=True)

    def measure(
        self,
        step: Step,
        tool: str,
        cmd: Sequence[str],
        cwd: Path,
        expect: tuple[Path, int] | None = None,
    ) -> Sample | None:
        try:
            sample = timed(cmd, cwd, self.env, self.require_hub().pid)
            if expect is not None:
                self.check_lfs_file(*expect)
        except (StepFailed, OSError) as exc:
            self.fail(step, tool, step.op, exc)
            return None
        self.data.samples.setdefault((step.label, tool), []).append(sample)
        hub_cpu = sample.hub_cpu + sample.hub_child_cpu
        print(
            f"  {step.label:<12} {tool:<8} wall {sample.wall:7.2f} s  cpu {sample.cpu:7.2f} s  "
            f"rss {sample.rss_mib:6.0f} MiB  hub cpu {hub_cpu:6.2f} s",
            flush=True,
        )
        return sample

    def check_lfs_file(self, path: Path, expected: int) -> None:
        """A cloned LFS file must hold its content, not a pointer."""
        size = path.stat().st_size if path.is_file() else -1
        if size != expected:
            raise StepFailed(f"{path.name} has {size} bytes after the clone, not {expected}")

    def run_or_measure(
        self, measured: bool, step: Step, tool: str, cmd: Sequence[str], cwd: Path
    ) -> bool:
        if measured:
            return self.measure(step, tool, cmd, cwd) is not None
        try:
            untimed(cmd, cwd, self.env)
        except (StepFailed, OSError) as exc:
            self.fail(step, tool, f"setup ({step.op})", exc)
            return False
        return True

    def step(self, scenario: int, name: str | None = None) -> Step:
        for step in make_steps(self.sizes):
            if step.scenario == scenario and (name is None or step.name == name):
                return step
        raise KeyError(scenario)

    # ------------------------------------------------------------------ scenarios

    def history_scenarios(self, round_no: int, order: Sequence[str]) -> None:
        """1 (clone), then 7 (no-op push and pull) and 2 (commit) in those clones."""
        if not self.selected & {1, 2, 7}:
            return
        clone_step = self.step(1)
        clones: dict[str, Path] = {}
        for tool in self.tools_for(clone_step, order):
            dest = self.work / f"r{round_no}-{tool}-history"
            cmd = command(tool, "clone", self.urls["history"], str(dest))
            if self.run_or_measure(1 in self.selected, clone_step, tool, cmd, self.work):
                clones[tool] = dest
        if 7 in self.selected:
            for name in ("no-op push", "no-op pull"):
                step = self.step(7, name)
                for tool in self.tools_for(step, order):
                    if tool in clones:
                        self.measure(step, tool, command(tool, step.op), clones[tool])
        if 2 in self.selected:
            step = self.step(2)
            for tool in self.tools_for(step, order):
                if tool in clones:
                    gen.write_new_files(clones[tool], self.sizes.new_files)
            for tool in self.tools_for(step, order):
                if tool in clones:
                    self.measure(step, tool, command(tool, "commit"), clones[tool])
        for dest in clones.values():
            shutil.rmtree(dest, ignore_errors=True)

    def lfs_commit_push(self, round_no: int, order: Sequence[str]) -> None:
        """3 (commit one big LFS file) and 4 (push it), each tool in its own fresh repo."""
        if not self.selected & {3, 4}:
            return
        commit_step, push_step = self.step(3), self.step(4)
        tools = [t for t in self.tools_for(commit_step, order) if t != "git" or self.git_lfs]
        clones: dict[str, Path] = {}
        repos: list[str] = []
        for tool in tools:
            repo_id = f"bench/lfs-r{round_no}-{tool}"
            url, _ = self.require_hub().create(repo_id)
            repos.append(repo_id)
            dest = self.work / f"r{round_no}-{tool}-lfs"
            cmd = command(tool, "clone", url, str(dest))
            if self.run_or_measure(False, commit_step, tool, cmd, self.work):
                shutil.copyfile(self.payload, dest / "model.safetensors")
                clones[tool] = dest
        committed = [
            tool
            for tool in tools
            if tool in clones
            and self.run_or_measure(
                3 in self.selected, commit_step, tool, command(tool, "commit"), clones[tool]
            )
        ]
        if 4 in self.selected:
            for tool in committed:
                self.measure(push_step, tool, command(tool, "push"), clones[tool])
        for dest in clones.values():
            shutil.rmtree(dest, ignore_errors=True)
        for repo_id in repos:
            self.require_hub().delete(repo_id)

    def lfs_clone(self, scenario: int, key: str, round_no: int, order: Sequence[str]) -> None:
        """5 and 6: clone a repo of LFS files, checking that the files arrived."""
        if scenario not in self.selected:
            return
        step = self.step(scenario)
        if scenario == 5:
            name, size = "model.safetensors", self.sizes.lfs_mib * MiB
        else:
            name = f"model-00001-of-{self.sizes.many_files:05d}.safetensors"
            size = self.sizes.many_mib * MiB
        for tool in self.tools_for(step, order):
            if tool == "git" and not self.git_lfs:
                continue
            dest = self.work / f"r{round_no}-{tool}-s{scenario}"
            cmd = command(tool, "clone", self.urls[key], str(dest))
            self.measure(step, tool, cmd, self.work, expect=(dest / name, size))
            shutil.rmtree(dest, ignore_errors=True)

    def sha256(self, round_no: int) -> None:
        """8: hfgit's streamed SHA-256 (the Rust example) against `openssl speed`, one core."""
        if 8 not in self.selected:
            return
        step = self.step(8)
        tools = ("hfgit", "openssl", OPENSSL_DGST)
        shift = round_no % len(tools)
        for tool in tools[shift:] + tools[:shift]:
            if tool in self.unavailable or (tool == OPENSSL_DGST and "openssl" in self.unavailable):
                continue
            if tool == "hfgit":
                if self.sha_binary is None:
                    continue
                cmd = [str(self.sha_binary), str(self.payload), "1"]
            elif tool == OPENSSL_DGST:
                cmd = ["openssl", "dgst", "-sha256", str(self.payload)]
            else:
                seconds = str(self.sizes.openssl_seconds)
                cmd = ["openssl", "speed", "-evp", "sha256", "-seconds", seconds]
                cmd += ["-bytes", str(MiB)]
            sample = self.measure(step, tool, cmd, self.work)
            if sample is None:
                continue
            try:
                if tool == "hfgit":
                    sample.rate = float(sample.stdout.strip())
                elif tool == OPENSSL_DGST:
                    sample.rate = self.payload.stat().st_size / sample.wall
                else:
                    last = sample.stdout.strip().splitlines()[-1].split()[-1]
                    sample.rate = float(last.rstrip("k")) * 1000
            except (ValueError, IndexError) as exc:
                self.data.samples[(step.label, tool)].remove(sample)
                self.fail(step, tool, "reading the rate", exc)

    def startup_baseline(self, order: Sequence[str]) -> None:
        """Python start-up plus the import, which every step of a Python tool pays."""
        imports = {"hfgit": "hfgit", "pygit2": "pygit2", "dulwich": "dulwich.porcelain"}
        for tool in order:
            if tool not in imports or tool in self.unavailable:
                continue
            try:
                sample = timed(
                    [sys.executable, "-c", f"import {imports[tool]}"], self.work, self.env
                )
            except StepFailed:
                continue
            self.startup.setdefault(tool, []).append(sample.wall)

    def run_rounds(self) -> None:
        for round_no in range(self.args.rounds):
            shift = round_no % len(CLIENTS)
            order = CLIENTS[shift:] + CLIENTS[:shift]
            print(f"round {round_no + 1}/{self.args.rounds}, order {', '.join(order)}", flush=True)
            self.startup_baseline(order)
            self.history_scenarios(round_no, order)
            self.lfs_commit_push(round_no, order)
            self.lfs_clone(5, "one-big", round_no, order)
            self.lfs_clone(6, "many", round_no, order)
            self.sha256(round_no)

    # ------------------------------------------------------------------ reporting

    def describe(self, elapsed: float) -> None:
        sizes = self.sizes
        self.data.settings = [
            ("command", " ".join(["python", "benches/run.py", *sys.argv[1:]])),
            ("mode", "smoke (tiny sizes)" if self.args.smoke else "full"),
            ("rounds per tool", str(self.args.rounds)),
            ("scenarios", ", ".join(str(s) for s in sorted(self.selected))),
            ("sizes", ", ".join(f"{f.name}={getattr(sizes, f.name)}" for f in fields(sizes))),
            ("duration", f"{elapsed / 60:.1f} min"),
            (
                "load average (1 min) at start / end",
                f"{self.load_at_start:.2f} / {os.getloadavg()[0]:.2f}"
                " (above ~1 at the start means something else was running)",
            ),
            ("scratch (clones, hub repos and storage)", self.scratch_text()),
        ]
        self.data.machine = machine_info(self.env)

    def scratch_text(self) -> str:
        parent = self.work.parent
        kind = "tmpfs" if str(parent).startswith("/dev/shm") else "disk"
        return f"{parent} ({kind})"

    def standing_notes(self) -> None:
        cores = os.cpu_count() or 0
        hub = self.require_hub()
        reported = reported_to_host_kib()
        if reported is not None and self.reported_at_start is not None:
            handed_back = (reported - self.reported_at_start) / 2**20
            self.note(
                f"The kernel's free page reporting handed {handed_back:.1f} GiB of freed memory "
                "back to the hypervisor during the run. Every page the host took back faults "
                "again when it is next written, which makes writing new large files (LFS stores, "
                "clones on tmpfs) slower and uneven from step to step, for every tool alike."
            )
        self.data.notes[:0] = [
            f"LocalHub ran as its own process (pid {hub.pid}) at {hub.endpoint}; it is plain "
            "HTTP on 127.0.0.1, so the figures show client costs without network latency. With "
            f"{cores} cores, the hub (and the git processes it runs) compete with the measured "
            "client for CPU: compare 'hub CPU s' with the wall time.",
            f"Scratch directory: {self.scratch_text()}. On tmpfs the figures leave out disk "
            "costs (file creation, fsync, journal); run with --work-dir on a disk to include them.",
            "The order of the tools rotates every round; every step is a fresh process (Python "
            "start-up and imports, ~0.1 s, are part of hfgit's, pygit2's and dulwich's figures).",
        ]
        if self.selected & {3, 4, 5, 6}:
            self.note(
                "pygit2 has no Git LFS support, so it is n/a for scenarios 3-6. dulwich 1.x has an "
                "LFS client, but it authenticates only from git config or the URL (the token would "
                "have to be stored on disk or put in the URL) and buffers whole objects in memory, "
                "so it is n/a too."
            )
        if 8 in self.selected:
            self.note(
                "Scenario 8: hfgit's figure is one streamed pass over the payload file, reading "
                "included, as commit and verify hash; `openssl speed` hashes a buffer already in "
                f"memory (the target's reference), and `{OPENSSL_DGST} -sha256` hashes the same "
                "file as hfgit does. The distance to `openssl speed` is the copy out of the page "
                "cache, which every file hash pays."
            )
        if self.startup:
            costs = ", ".join(
                f"{tool} {statistics.median(walls):.2f} s" for tool, walls in self.startup.items()
            )
            self.note(
                f"Python start-up plus import alone (median): {costs}; every figure of these "
                "tools includes it, as it would for a one-off script."
            )
        findings = hub_findings(self.data)
        self.data.notes.extend(
            findings or ["The LocalHub never kept a core 70% busy during a measured step."]
        )


def reported_to_host_kib() -> int | None:
    """KiB of freed memory the guest kernel has reported to its hypervisor since boot (free page
    reporting, as under virtio-balloon); None where the kernel does not report."""
    try:
        return int(Path("/sys/module/page_reporting/parameters/reported_kib").read_text())
    except (OSError, ValueError):
        return None


def machine_info(env: dict[str, str]) -> list[tuple[str, str]]:
    def out(cmd: list[str]) -> str:
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            return "not available"
        text = (done.stdout or done.stderr).strip().splitlines()
        return text[0] if done.returncode == 0 and text else "not available"

    def version(package: str) -> str:
        try:
            return importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            return "not installed"

    cpu = "unknown"
    memory = "unknown"
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
        cpu = next(
            (
                line.split(":", 1)[1].strip()
                for line in cpuinfo.splitlines()
                if "model name" in line
            ),
            cpu,
        )
        if " sha_ni" in cpuinfo:
            cpu += " (SHA extensions)"
        mem_kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f"{mem_kib / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    hfgit = out(
        [sys.executable, "-c", "import hfgit; print(hfgit.__version__, 'from', hfgit.__file__)"]
    )
    pygit2 = (
        "not installed"
        if importlib.util.find_spec("pygit2") is None
        else out(
            [
                sys.executable,
                "-c",
                "import pygit2; print(pygit2.__version__, 'libgit2', pygit2.LIBGIT2_VERSION)",
            ]
        )
    )
    return [
        ("date", datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")),
        ("CPU", f"{cpu}, {os.cpu_count()} cores"),
        ("memory", memory),
        ("OS", platform.platform()),
        ("Python", f"{platform.python_implementation()} {platform.python_version()}"),
        ("hfgit", hfgit),
        ("git", out(["git", "--version"])),
        ("git-lfs", out(["git", "lfs", "version"])),
        ("pygit2", pygit2),
        ("dulwich", version("dulwich")),
        ("openssl", out(["openssl", "version"])),
        ("curl", out(["curl", "--version"])),
        ("matplotlib", version("matplotlib")),
    ]


def scratch_need(sizes: Sizes, scenarios: set[int]) -> int:
    """Bytes the scratch directory may hold at once (payloads, hub storage, LFS clones)."""
    big, many = sizes.lfs_mib * MiB, sizes.many_files * sizes.many_mib * MiB
    need = 256 * MiB
    if scenarios & {3, 4, 5, 8}:
        need += big
    if scenarios & {3, 4}:
        need += 2 * big + 2 * 2 * big  # hub storage and an upload in flight; two clones
    if 5 in scenarios:
        need += big + 2 * big
    if 6 in scenarios:
        need += many + 2 * many
    return need


def scratch_parent(sizes: Sizes, scenarios: set[int]) -> Path | None:
    """/dev/shm when it (and the memory behind it) has room, else the system temp dir.

    Scratch on tmpfs keeps the disk's metadata costs (file creation and removal, journal,
    discard), which vary a lot from one run to the next on VMs, out of the comparison between
    clients; --work-dir measures a disk instead.
    """
    shm = Path("/dev/shm")
    if not (shm.is_dir() and os.access(shm, os.W_OK)):
        return None
    need = scratch_need(sizes, scenarios) + 4 * 1024 * MiB
    try:
        meminfo = Path("/proc/meminfo").read_text().split("\n")
        available = next(int(line.split()[1]) * 1024 for line in meminfo if "MemAvailable" in line)
    except (OSError, StopIteration, ValueError, IndexError):
        return None
    if shutil.disk_usage(shm).free < need or available < need:
        return None
    return shm


def parse_scenarios(text: str) -> set[int]:
    try:
        chosen = {int(part) for part in text.split(",") if part.strip()}
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of scenario numbers: {text!r}") from None
    if not chosen or not chosen <= set(range(1, 9)):
        raise argparse.ArgumentTypeError("scenarios are numbers from 1 to 8, e.g. 1,3,5")
    return chosen


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="hfgit against git + git-lfs, pygit2 and dulwich on the same work.",
        epilog="Scenarios: 1 clone history, 2 commit small files, 3 commit big LFS file, "
        "4 push it, 5 clone big LFS file, 6 clone many LFS files, 7 no-op push/pull, "
        "8 SHA-256 throughput.",
    )
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, one round, temp output")
    parser.add_argument("--rounds", type=int, help="rounds per tool (default 3; smoke: 1)")
    parser.add_argument(
        "--scenarios", type=parse_scenarios, default=set(range(1, 9)), help="e.g. 1,3,5"
    )
    parser.add_argument("--out", type=Path, help="directory for RESULTS.md and results.png")
    parser.add_argument(
        "--write-results",
        action="store_true",
        help="with --smoke: write benches/RESULTS.md and results.png anyway",
    )
    parser.add_argument("--work-dir", type=Path, help="scratch directory (default: a temp dir)")
    for item in fields(Sizes):
        parser.add_argument(f"--{item.name.replace('_', '-')}", type=int, dest=item.name)
    args = parser.parse_args(argv)
    if args.rounds is None:
        args.rounds = 1 if args.smoke else 3
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    sizes = SMOKE if args.smoke else Sizes()
    for item in fields(Sizes):
        value = getattr(args, item.name)
        if value is not None:
            sizes = Sizes(**{**sizes.__dict__, item.name: value})
    if args.out is not None:
        out = args.out
    elif args.smoke and not args.write_results:
        out = Path(tempfile.mkdtemp(prefix="hfgit-bench-smoke-"))
    else:
        out = BENCHES
    out.mkdir(parents=True, exist_ok=True)

    if args.work_dir is not None:
        args.work_dir.mkdir(parents=True, exist_ok=True)
    parent = args.work_dir or scratch_parent(sizes, args.scenarios)
    work = Path(tempfile.mkdtemp(prefix="hfgit-bench-", dir=parent))
    started = time.monotonic()
    bench = Bench(args, sizes, work)
    try:
        bench.find_tools()
        bench.start_hub()
        print(f"LocalHub process {bench.require_hub().pid} at {bench.require_hub().endpoint}")
        bench.prepare()
        bench.run_rounds()
        bench.mark_absent()
        bench.standing_notes()
    finally:
        if bench.hub is not None:
            bench.hub.stop()
        shutil.rmtree(work, ignore_errors=True)
    bench.describe(time.monotonic() - started)

    title = "hfgit benchmark" + (" (smoke run, tiny sizes)" if args.smoke else "")
    image = out / "results.png"
    problem = chart(bench.data, image, title)
    if problem is not None:
        bench.note(problem)
        print(problem)
    text = markdown(bench.data, title)
    if problem is None:
        text += "\n![results](results.png)\n"
    results = out / "RESULTS.md"
    results.write_text(text)
    print(text)
    print(f"wrote {results}" + ("" if problem else f" and {image}"))
    if bench.failures:
        print(f"{len(bench.failures)} step(s) failed", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
