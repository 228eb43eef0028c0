"""The benchmarks run end to end in smoke mode, quickly.

Each runs as its own process, as a user would run it, against the LocalHub it starts itself.
The harness (`benches/run.py`) must report every scenario for every client: figures where the
client can do the work and is installed, a reason (n/a, skipped) otherwise, never a failure.
The soak (`benches/soak_training.py`) must pass every one of its checks.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RUN = ROOT / "benches" / "run.py"
SOAK = ROOT / "benches" / "soak_training.py"
CLIENTS = ("hfgit", "git", "pygit2", "dulwich")
LFS_SCENARIOS = {3, 4, 5, 6}
TOKEN = re.compile(r"hf_[A-Za-z0-9]{34}")


def _table_rows(markdown: str, heading: str) -> list[list[str]]:
    """Cells of the data rows of the table under `## heading`."""
    section = markdown.split(f"## {heading}", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows[2:]]


def _figures_expected(scenario: int, tool: str) -> bool:
    if scenario == 8:
        return tool == "hfgit"
    if tool in ("pygit2", "dulwich"):
        return scenario not in LFS_SCENARIOS and importlib.util.find_spec(tool) is not None
    return True


@pytest.mark.timeout(120)
def test_smoke_run_reports_every_scenario_and_tool(tmp_path: Path) -> None:
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, str(RUN), "--smoke", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=90,
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 0, f"stdout:\n{result.stdout[-4000:]}\nstderr:\n{result.stderr}"
    assert elapsed < 60, f"the smoke run took {elapsed:.0f} s"

    report = (tmp_path / "RESULTS.md").read_text()
    assert not TOKEN.search(report + result.stdout + result.stderr), "a token was printed"
    rows = _table_rows(report, "All figures")
    cells = {(int(row[0]), row[1].rsplit(": ", 1)[-1], row[2]): row[3:] for row in rows}
    steps = {(scenario, step) for scenario, step, _ in cells}
    assert {scenario for scenario, _ in steps} == set(range(1, 9))
    assert {step for scenario, step in steps if scenario == 7} == {"no-op push", "no-op pull"}

    for scenario, step in steps:
        for tool in CLIENTS:
            row = cells.get((scenario, step, tool))
            assert row is not None, f"no row for scenario {scenario} {step} / {tool}"
            first = row[0]
            if _figures_expected(scenario, tool) and not (
                scenario == 8 and first.startswith("skipped")  # no prebuilt example binary
            ):
                assert re.fullmatch(r"\d+\.\d\d", first), f"{scenario} {step} {tool}: {row}"
            else:
                assert first.startswith(("n/a", "skipped")), f"{scenario} {step} {tool}: {row}"
    assert (8, "sha256", "openssl") in cells

    targets = _table_rows(report, "Targets")
    assert len(targets) == 9
    if importlib.util.find_spec("matplotlib") is not None:
        assert (tmp_path / "results.png").stat().st_size > 10_000
    else:
        assert "matplotlib is not installed" in report


@pytest.mark.timeout(150)
def test_soak_smoke_run_meets_every_fault_and_passes_every_check(tmp_path: Path) -> None:
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, str(SOAK), "--smoke", "--tmp", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    elapsed = time.monotonic() - started
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"stdout:\n{result.stdout[-6000:]}\nstderr:\n{result.stderr}"
    assert elapsed < 60, f"the soak smoke run took {elapsed:.0f} s"
    assert not TOKEN.search(output), "a token was printed"
    assert "Traceback" not in output
    assert "[FAIL]" not in result.stdout
    assert result.stdout.count("  [ok] ") >= 14, result.stdout[-3000:]
    assert result.stdout.count("fault queued before step") == 8
    assert "README.md edited and pushed by real git" in result.stdout
    assert list(tmp_path.iterdir()) == [], "the work dir was left behind"
