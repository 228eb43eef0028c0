"""``import hfgit`` imports no training library: the integrations load only when asked for."""

from __future__ import annotations

import subprocess
import sys

TRAINING_LIBRARIES = ("transformers", "lightning", "pytorch_lightning", "torch")


def test_importing_hfgit_and_its_integrations_package_imports_no_training_library() -> None:
    """In a fresh interpreter, where nothing else could have imported them first."""
    code = (
        "import sys, hfgit, hfgit.integrations\n"
        f"print(','.join(name for name in {TRAINING_LIBRARIES!r} if name in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == ""
