"""The checkpoint disk benchmark (`benches/checkpoint_disk.py`) runs end to end in smoke mode.

It runs as its own process, as a user would run it, against the LocalHub it starts itself, and
must report every way of working, with figures that say what the prune is for: hfgit with
`prune_lfs` ends with an empty LFS store, the others keep a copy of every checkpoint (git-lfs's
own prune keeps the checked-out one).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benches" / "checkpoint_disk.py"
MiB = 1024 * 1024


@pytest.mark.timeout(120)
def test_smoke_run_reports_every_way_and_only_the_pruning_one_keeps_no_copies(
    tmp_path: Path,
) -> None:
    figures_file = tmp_path / "figures.json"
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, str(BENCH), "--smoke", "--distinct", "--json", str(figures_file)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=100,
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 0, f"stdout:\n{result.stdout[-4000:]}\nstderr:\n{result.stderr}"
    assert elapsed < 60, f"the smoke run took {elapsed:.0f} s"

    figures = {entry["way"]: entry for entry in json.loads(figures_file.read_text())}
    assert set(figures) == {"hfgit prune", "hfgit", "git", "git + lfs prune"}
    for way, entry in figures.items():
        assert f"| {way} |" in result.stdout
        assert entry["samples"] >= 3, entry
        assert entry["peak"] >= entry["end"] >= entry["checkpoint_bytes"], entry
        # Distinct blocks: no more than du counts (fewer only where a reflink shares them).
        assert 0 < entry["distinct_end"] <= entry["end"], entry
        assert entry["distinct_end"] <= entry["distinct_peak"], entry
    checkpoint = figures["hfgit"]["checkpoint_bytes"]
    count = figures["hfgit"]["checkpoints"]
    pruned = figures["hfgit prune"]
    assert pruned["store_at_end"] == 0
    assert pruned["end"] <= pruned["end_target"]
    # Allocated blocks may run a little past a file's end (XFS preallocates), never short of it.
    for way, copies in (("hfgit", count), ("git", count), ("git + lfs prune", 1)):
        assert copies * checkpoint <= figures[way]["store_at_end"] < (copies + 1) * checkpoint, way
