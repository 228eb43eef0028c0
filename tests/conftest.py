"""Shared fixtures: an isolated git/HF environment, a LocalHub, and helpers to drive real git."""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hfgit.testing import LocalHub

pytest_plugins = ["hfgit.testing.pytest_plugin"]

# libgit2 reads HOME once per process to find the global git config, so the whole session gets
# one throwaway HOME before anything touches git: no test sees the developer's config or tokens.
_SESSION_HOME = Path(tempfile.mkdtemp(prefix="hfgit-test-home-"))
atexit.register(shutil.rmtree, _SESSION_HOME, ignore_errors=True)
(_SESSION_HOME / ".gitconfig").write_text(
    "[user]\n\tname = Test User\n\temail = test@example.com\n[init]\n\tdefaultBranch = main\n"
)
os.environ["HOME"] = str(_SESSION_HOME)
os.environ["GIT_CONFIG_NOSYSTEM"] = "1"
os.environ["GIT_TERMINAL_PROMPT"] = "0"
os.environ.pop("GIT_CONFIG_GLOBAL", None)
# Real git-lfs is the other side of the LFS interop tests; its filters go in the throwaway HOME.
subprocess.run(["git", "lfs", "install", "--skip-repo"], check=True, capture_output=True)


@pytest.fixture(autouse=True)
def isolated_hf_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """No token or endpoint leaks in from the machine running the tests."""
    for key in (
        "HF_TOKEN",
        "HUGGING_FACE_HUB_TOKEN",
        "HF_TOKEN_PATH",
        "HF_ENDPOINT",
        "HF_HUB_DISABLE_IMPLICIT_TOKEN",
        "REQUESTS_CA_BUNDLE",
        # The network settings of the machine (a proxy, timeouts) stay out of the tests too.
        *(f"{name}_proxy" for name in ("http", "https", "all", "no")),
        *(f"{name}_PROXY" for name in ("HTTP", "HTTPS", "ALL", "NO")),
        "HF_HUB_USER_AGENT_ORIGIN",
        "HF_HUB_DOWNLOAD_TIMEOUT",
        "HF_HUB_ETAG_TIMEOUT",
        "HFGIT_RATE_LIMIT_MAX_WAIT",
    ):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path_factory.mktemp("hf_home")))


@pytest.fixture
def hub(local_hub: LocalHub) -> LocalHub:
    return local_hub


@pytest.fixture
def repo_id(hub: LocalHub) -> str:
    """A fresh public model repo on the hub, seeded with the Hub's .gitattributes."""
    name = f"alice/model-{uuid.uuid4().hex[:8]}"
    hub.create_repo(name)
    return name


@pytest.fixture
def clone_dir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "clone"
