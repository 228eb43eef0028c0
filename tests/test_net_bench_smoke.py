"""The network benchmark (`benches/net_bench.py`) runs end to end in smoke mode, quickly.

It runs as its own process, as a user would run it: the cdn part (a LocalHub capping each storage
request's rate) always, the link part in a network namespace when one can be made here, else it
reports why it was skipped. Figures at smoke sizes mean nothing; that they are there does.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from hfgit.testing.netns import unavailable

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benches" / "net_bench.py"
TOKEN = re.compile(r"hf_[A-Za-z0-9]{34}")


@pytest.mark.timeout(240)
def test_smoke_run_reports_both_tools_and_the_link_it_measured(tmp_path: Path) -> None:
    out = tmp_path / "NET.md"
    result = subprocess.run(
        [sys.executable, str(BENCH), "--smoke", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=220,
    )
    assert result.returncode == 0, f"stdout:\n{result.stdout[-4000:]}\nstderr:\n{result.stderr}"
    report = out.read_text()
    assert not TOKEN.search(report + result.stdout + result.stderr), "a token was printed"
    assert re.search(r"^\| hfgit \| \d+\.\d\d \|", report, re.MULTILINE), report
    assert re.search(r"^\| git \| \d+\.\d\d \|", report, re.MULTILINE), report
    assert "target <= 0.35" in report and "target <= 200" in report
    reason = unavailable()
    if reason is None:
        assert re.search(r"TCP round trip median \d+ ms", report), report
        for step in ("push", "clone", "pull"):
            assert re.search(rf"^\| {step} \| \d+\.\d\d \| \d+\.\d\d \|", report, re.MULTILINE)
    else:
        assert f"skipped: {reason}" in report
