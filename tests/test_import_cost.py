"""``import hfgit`` is cheap: names load on first use, and nothing heavy comes with the package."""

from __future__ import annotations

import subprocess
import sys

import hfgit
import pytest

# Loaded only when a name that needs them is used (`hfgit.clone`, `hfgit.CheckpointPusher`, ...).
DEFERRED = (
    "hfgit._native",
    "hfgit.api",
    "hfgit.checkpoint",
    "hfgit.cli",
    "hfgit.repository",
    "hfgit.testing",
    "concurrent.futures",
    "dataclasses",
    "logging",
    "tqdm",
    "typing",
)


def loaded_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"{code}; import sys; print(' '.join(sys.modules))"],
        capture_output=True,
        text=True,
        check=True,
    )
    return set(out.stdout.split())


def test_import_hfgit_loads_no_extension_logging_threads_tqdm_or_testing() -> None:
    bare = loaded_after("pass")
    loaded = loaded_after("import hfgit") - bare

    assert not loaded & set(DEFERRED), sorted(loaded & set(DEFERRED))
    assert {name for name in loaded if not name.startswith("hfgit")} <= {"__future__", "importlib"}


def test_the_public_names_load_on_first_use_and_are_listed() -> None:
    used = loaded_after("import hfgit; hfgit.clone; hfgit.HfGitError")
    assert {"hfgit.api", "hfgit._native", "hfgit.exceptions"} <= used
    assert "hfgit.checkpoint" not in used and "hfgit.testing" not in used

    assert set(hfgit.__all__) <= set(dir(hfgit))
    for name in hfgit.__all__:
        assert getattr(hfgit, name) is not None, name
    assert hfgit.clone is hfgit.api.clone
    assert isinstance(hfgit.__version__, str)
    with pytest.raises(AttributeError, match="no attribute 'clown'"):
        hfgit.clown  # type: ignore[attr-defined]  # noqa: B018


def test_import_hfgit_itself_takes_under_20_ms() -> None:
    """hfgit's own share of ``python -c 'import hfgit'`` (``-X importtime``, best of 5), so a
    slow interpreter start (a heavy ``site``, a loaded machine) does not count against it.
    scripts/test_wheel.py prints the whole command's time in a fresh virtualenv."""

    def import_seconds() -> float:
        report = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", "import hfgit"],
            capture_output=True,
            text=True,
            check=True,
        ).stderr
        line = next(line for line in report.splitlines() if line.endswith("| hfgit"))
        return int(line.split("|")[1]) / 1e6

    best = min(import_seconds() for _ in range(5))

    assert best < 0.020, f"import hfgit took {1000 * best:.1f} ms"
