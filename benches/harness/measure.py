"""Run one step in its own process under `/usr/bin/time -v` and read what it cost.

CPU seconds (user + sys) and peak RSS come from `/usr/bin/time -v`; the wall time is taken with
`time.perf_counter()` around it, because time's own figure is rounded to 10 ms, too coarse for
the no-op steps. Each sample also records how much CPU the hub process spent meanwhile (its own
threads, and the git processes it ran and reaped), read from /proc/<pid>/stat, so a run can tell
when the hub was the bottleneck.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .tools import CALL_SECONDS

TIME = "/usr/bin/time"
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass
class Sample:
    wall: float
    cpu: float
    rss_mib: float
    hub_cpu: float = 0.0
    """CPU seconds of the hub's own (Python) process during the step."""
    hub_child_cpu: float = 0.0
    """CPU seconds of the processes the hub ran (git http-backend, hooks) during the step."""
    rate: float | None = None
    """Bytes per second, for throughput steps (scenario 8)."""
    call: float | None = None
    """Seconds inside the library call, as the Python tool measured it in its own process
    (interpreter start-up and imports left out): what a notebook or training script waits."""
    stdout: str = ""


class StepFailed(RuntimeError):
    pass


def process_cpu(pid: int | None) -> tuple[float, float]:
    """(own, reaped children) CPU seconds of a process, or zeros if unknown."""
    if pid is None:
        return 0.0, 0.0
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0, 0.0
    fields = stat[stat.rindex(")") + 2 :].split()
    # After the command name: state is field 3, utime 14, stime 15, cutime 16, cstime 17.
    utime, stime, cutime, cstime = (int(fields[i - 3]) for i in (14, 15, 16, 17))
    return (utime + stime) / _TICKS, (cutime + cstime) / _TICKS


def timed(
    command: Sequence[str],
    cwd: Path,
    env: Mapping[str, str],
    hub_pid: int | None = None,
) -> Sample:
    """Run `command` under /usr/bin/time -v; raise StepFailed with its output if it fails."""
    with tempfile.NamedTemporaryFile("r", prefix="bench-time-", suffix=".txt") as report_file:
        # Flush earlier steps' writes, so no tool pays for another's page-cache writeback.
        os.sync()
        hub_before = process_cpu(hub_pid)
        started = time.perf_counter()
        result = subprocess.run(
            [TIME, "-v", "-o", report_file.name, *command],
            cwd=cwd,
            env=dict(env),
            capture_output=True,
            text=True,
        )
        wall = time.perf_counter() - started
        hub_after = process_cpu(hub_pid)
        report = Path(report_file.name).read_text()
    if result.returncode != 0:
        raise StepFailed(
            f"{' '.join(command)} exited with {result.returncode}:\n"
            f"{result.stdout[-2000:]}\n{result.stderr[-4000:]}"
        )

    def field(name: str) -> str:
        match = re.search(rf"{re.escape(name)}: (.+)", report)
        if match is None:
            raise StepFailed(f"no {name!r} in the /usr/bin/time report:\n{report}")
        return match.group(1).strip()

    field("Elapsed (wall clock) time (h:mm:ss or m:ss)")  # present in a complete report
    cpu = float(field("User time (seconds)")) + float(field("System time (seconds)"))
    rss = int(field("Maximum resident set size (kbytes)")) / 1024
    return Sample(
        wall=wall,
        cpu=cpu,
        rss_mib=rss,
        hub_cpu=hub_after[0] - hub_before[0],
        hub_child_cpu=hub_after[1] - hub_before[1],
        stdout=result.stdout,
        call=call_seconds(result.stdout),
    )


def call_seconds(stdout: str) -> float | None:
    """The in-process time a Python tool reported on its `call-seconds=` line, if any."""
    match = re.search(rf"^{re.escape(CALL_SECONDS)}([0-9.]+)$", stdout, re.MULTILINE)
    return float(match.group(1)) if match else None


def untimed(command: Sequence[str], cwd: Path, env: Mapping[str, str]) -> str:
    """Run a setup command (not measured); raise StepFailed with its output if it fails."""
    result = subprocess.run(list(command), cwd=cwd, env=dict(env), capture_output=True, text=True)
    if result.returncode != 0:
        raise StepFailed(
            f"{' '.join(command)} exited with {result.returncode}:\n"
            f"{result.stdout[-2000:]}\n{result.stderr[-4000:]}"
        )
    return result.stdout
