"""How much of its step rate a pure-Python training loop keeps while a checkpoint is pushed.

    python benches/training_step_rate.py [--size-mib 1024] [--rounds 3] [--smoke]

The claim measured: a pure-Python training loop keeps at least 90% of its step rate while a
1 GiB checkpoint is committed and pushed in the background by ``hfgit.CheckpointPusher``, because
the GIL is released for the whole of the git and LFS work.

The Hub is a LocalHub in a separate process (``python -m hfgit.testing``), so that its own Python
request handling does not compete for this process's GIL. Each round writes a fresh checkpoint
(``model.safetensors``, deterministic bytes, different every round so the LFS upload really
happens) into a clone before anything is timed, then measures the step rate of a CPU-bound
pure-Python step function twice: with nothing in the background for ``--baseline-seconds``, and
from ``submit`` until the push has finished. Both phases run the same loop, which stops when an
event is set: by a timer for the baseline, by a thread blocked in ``pusher.wait()`` for the push.
Medians over the rounds are printed at the end. On a small machine the loop, hfgit's hashing and
upload threads and the hub process share few cores, so the CPU each used is printed too.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import hfgit

MiB = 1024 * 1024
REPO_ID = "bench-user/step-rate"
STEP_WIDTH = 20_000  # multiply-adds per step: about a millisecond of pure Python


# ----------------------------------------------------------------------------- the training loop


def train_step(weights: list[float], inputs: list[float]) -> float:
    """One pure-Python "step": a dot product and an update of every weight. Holds the GIL."""
    total = 0.0
    for i, x in enumerate(inputs):
        total += weights[i] * x
        weights[i] -= 1e-7 * (total - x)
    return total


def thread_schedstat() -> tuple[float, float]:
    """Seconds this thread has run on a CPU, and seconds it has waited, runnable, for one."""
    on_cpu, runnable, _ = Path("/proc/thread-self/schedstat").read_text().split()
    return int(on_cpu) / 1e9, int(runnable) / 1e9


@dataclass
class Loop:
    steps: int
    seconds: float
    on_cpu: float
    runnable: float  # waiting for a free CPU

    @property
    def blocked(self) -> float:
        """Wall time neither running nor runnable: waiting for the GIL (or anything else)."""
        return max(0.0, self.seconds - self.on_cpu - self.runnable)


def run_steps(done: threading.Event) -> Loop:
    """Step until ``done`` is set, and account for the wall time the loop took."""
    rng = random.Random(0)
    weights = [rng.uniform(-1, 1) for _ in range(STEP_WIDTH)]
    inputs = [rng.uniform(-1, 1) for _ in range(STEP_WIDTH)]
    steps = 0
    (cpu_started, runnable_started), started = thread_schedstat(), time.perf_counter()
    while not done.is_set():
        train_step(weights, inputs)
        steps += 1
    seconds = time.perf_counter() - started
    on_cpu, runnable = thread_schedstat()
    return Loop(steps, seconds, on_cpu - cpu_started, runnable - runnable_started)


# ----------------------------------------------------------------------------- the hub process


@dataclass
class HubProcess:
    process: subprocess.Popen[str]
    endpoint: str
    token: str

    def cpu_seconds(self) -> float:
        """User + system CPU of the hub and its finished children (git http-backend)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
        return ticks / os.sysconf("SC_CLK_TCK")


@contextmanager
def hub_process(root: Path) -> Iterator[HubProcess]:
    """``python -m hfgit.testing REPO_ID`` in its own process; stopped with SIGTERM at the end."""
    command = [sys.executable, "-m", "hfgit.testing", REPO_ID, "--root", str(root)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        printed: dict[str, str] = {}
        for line in process.stdout:
            if line.startswith("Serving"):
                break
            key, _, value = line.partition(":")
            printed[key.strip()] = value.strip()
        else:
            raise SystemExit(f"the hub process exited early (code {process.wait()})")
        yield HubProcess(process, printed["endpoint"], printed["write token"])
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# ----------------------------------------------------------------------------- one round


def write_checkpoint(path: Path, size_mib: int, round_number: int) -> None:
    """Deterministic, incompressible bytes, stamped with the round so every round uploads."""
    block = random.Random(1234).randbytes(MiB)
    with path.open("wb") as out:
        for index in range(size_mib):
            out.write(round_number.to_bytes(4, "little") + index.to_bytes(4, "little"))
            out.write(block[8:])
        out.flush()
        os.fsync(out.fileno())


def settle() -> None:
    """Let the disk catch up, so writeback from the last phase does not run into the next."""
    os.sync()
    time.sleep(0.5)


@dataclass
class Phase:
    loop: Loop
    other_cpu: float  # CPU of this process's other threads: hfgit's hashing and upload
    hub_cpu: float

    @property
    def rate(self) -> float:
        return self.loop.steps / self.loop.seconds

    @property
    def seconds(self) -> float:
        return self.loop.seconds


def measure(hub: HubProcess, start: threading.Thread, done: threading.Event) -> Phase:
    process_cpu, hub_cpu = time.process_time(), hub.cpu_seconds()
    start.start()
    loop = run_steps(done)
    start.join()
    other_cpu = time.process_time() - process_cpu - loop.on_cpu
    return Phase(loop, other_cpu, hub.cpu_seconds() - hub_cpu)


def baseline(hub: HubProcess, seconds: float) -> Phase:
    done = threading.Event()
    timer = threading.Timer(seconds, done.set)
    return measure(hub, timer, done)


def during_push(hub: HubProcess, pusher: hfgit.CheckpointPusher, message: str) -> Phase:
    done = threading.Event()

    def submit_and_wait() -> None:
        try:
            pusher.submit(message)
            pusher.wait()
        finally:
            done.set()

    phase = measure(hub, threading.Thread(target=submit_and_wait), done)
    if pusher.last_error is not None:
        raise pusher.last_error
    return phase


# ----------------------------------------------------------------------------- main


def describe(name: str, phase: Phase) -> str:
    loop = phase.loop
    return (
        f"  {name:<9} {phase.rate:7.1f} steps/s over {loop.seconds:5.2f} s;"
        f" loop ran {loop.on_cpu:5.2f} s, waited for a CPU {loop.runnable:4.2f} s,"
        f" blocked (GIL) {loop.blocked:4.2f} s; CPU of hfgit threads {phase.other_cpu:4.2f} s,"
        f" of the hub {phase.hub_cpu:4.2f} s"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024, help="checkpoint size (1024)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--baseline-seconds", type=float, default=5.0)
    parser.add_argument("--smoke", action="store_true", help="8 MiB, one round, 1 s baseline")
    args = parser.parse_args()
    if args.smoke:
        args.size_mib, args.rounds, args.baseline_seconds = 8, 1, 1.0
    if not Path("/proc/self/stat").exists():
        raise SystemExit("this bench reads CPU times from /proc: run it on Linux")

    print(f"hfgit {hfgit.__version__}, Python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    print(
        f"checkpoint {args.size_mib} MiB, {args.rounds} rounds, baseline {args.baseline_seconds} s;"
        " the hub runs in its own process and shares the CPUs"
    )
    work = Path(tempfile.mkdtemp(prefix="hfgit-step-rate-"))
    baselines: list[Phase] = []
    pushes: list[Phase] = []
    try:
        with hub_process(work / "hub") as hub:
            clone = hfgit.clone(
                REPO_ID, work / "clone", token=hub.token, endpoint=hub.endpoint, progress=False
            )
            with hfgit.CheckpointPusher(clone.path, token=hub.token) as pusher:
                for round_number in range(1, args.rounds + 1):
                    print(f"round {round_number}: writing the checkpoint ...", flush=True)
                    write_checkpoint(
                        work / "clone" / "model.safetensors", args.size_mib, round_number
                    )
                    settle()
                    baselines.append(baseline(hub, args.baseline_seconds))
                    print(describe("baseline", baselines[-1]), flush=True)
                    settle()
                    pushes.append(during_push(hub, pusher, f"checkpoint, round {round_number}"))
                    print(describe("push", pushes[-1]), flush=True)
                    result = pusher.last_result
                    if result is None or result.lfs_bytes_uploaded < args.size_mib * MiB:
                        raise SystemExit(f"the push did not upload the checkpoint: {result}")
                    print(
                        f"  ratio {pushes[-1].rate / baselines[-1].rate:.1%}, uploaded"
                        f" {result.lfs_objects_uploaded} LFS object of"
                        f" {result.lfs_bytes_uploaded / MiB:.0f} MiB",
                        flush=True,
                    )
    finally:
        shutil.rmtree(work, ignore_errors=True)

    step_ms = 1000 * statistics.median(phase.loop.on_cpu / phase.loop.steps for phase in baselines)
    base = statistics.median(phase.rate for phase in baselines)
    during = statistics.median(phase.rate for phase in pushes)
    push_seconds = statistics.median(phase.seconds for phase in pushes)
    ratio = during / base
    round_ratio = statistics.median(p.rate / b.rate for b, p in zip(baselines, pushes))
    print()
    print(f"medians over {args.rounds} rounds ({os.cpu_count()} CPUs, {step_ms:.2f} ms per step):")
    print(f"  baseline             {base:8.1f} steps/s")
    print(f"  during the push      {during:8.1f} steps/s")
    print(f"  ratio                {ratio:8.1%}   (target: at least 90%)")
    print(f"  per-round ratio      {round_ratio:8.1%}   (median of each round's ratio)")
    print(f"  commit + push time   {push_seconds:8.2f} s for {args.size_mib} MiB")
    runnable = statistics.median(phase.loop.runnable / phase.seconds for phase in pushes)
    blocked = statistics.median(phase.loop.blocked / phase.seconds for phase in pushes)
    print(f"  during the push, the loop waited for a CPU {runnable:.1%} of the time")
    print(f"  and was blocked (waiting for the GIL)     {blocked:.1%} of the time")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
