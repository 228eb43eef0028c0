"""Every request says who sends it (User-Agent: hfgit/<version>, HF_HUB_USER_AGENT_ORIGIN
appended as huggingface_hub appends it), and a server that never answers fails within
HF_HUB_DOWNLOAD_TIMEOUT."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import hfgit
import pytest
from hfgit.testing import LocalHub


def clone_push_and_clone_again(hub: LocalHub, repo_id: str, tmp_path: Path) -> None:
    repo = hfgit.clone(repo_id, tmp_path / "a", token=hub.write_token, endpoint=hub.endpoint)
    (tmp_path / "a" / "model.bin").write_bytes(os.urandom(50_000))
    repo.commit("weights")
    repo.push(token=hub.write_token)
    hfgit.clone(repo_id, tmp_path / "b", token=hub.write_token, endpoint=hub.endpoint)


def is_git(path: str) -> bool:
    return path.endswith(("/info/refs", "/git-upload-pack", "/git-receive-pack"))


def is_lfs(path: str) -> bool:
    return "/info/lfs/" in path or path.startswith("/_lfs_storage/")


@pytest.mark.parametrize("origin", [None, "my-notebook"])
def test_every_request_says_hfgit_and_its_version_in_its_user_agent(
    hub: LocalHub,
    repo_id: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    origin: str | None,
) -> None:
    if origin is not None:
        monkeypatch.setenv("HF_HUB_USER_AGENT_ORIGIN", origin)
    agent = f"hfgit/{hfgit.__version__}" + (f"; origin/{origin}" if origin else "")

    clone_push_and_clone_again(hub, repo_id, tmp_path)

    git = [record for record in hub.requests if is_git(record.path)]
    lfs = [record for record in hub.requests if is_lfs(record.path)]
    assert git and lfs and len(git) + len(lfs) == len(hub.requests)
    for record in git:
        # libgit2's product token, which smart-HTTP servers look for, then ours and libgit2's.
        assert record.user_agent is not None
        assert record.user_agent.startswith(f"git/2.0 ({agent}; libgit2 1."), record
    for record in lfs:
        assert record.user_agent == agent, record


def test_a_server_that_accepts_and_never_answers_fails_within_the_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_DOWNLOAD_TIMEOUT", "2")
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # the kernel accepts connections; nothing ever reads or answers
        endpoint = f"http://127.0.0.1:{silent.getsockname()[1]}"

        started = time.monotonic()
        with pytest.raises(hfgit.NetworkError) as info:
            hfgit.clone("alice/model", tmp_path / "c", endpoint=endpoint, token=False)
        elapsed = time.monotonic() - started

    assert 1.5 <= elapsed < 10, f"failed after {elapsed:.1f} s with a 2 s timeout"
    assert "timed out" in str(info.value)
    assert not isinstance(info.value, (hfgit.ProxyError, hfgit.RateLimitedError))
    assert not (tmp_path / "c").exists()


@pytest.mark.parametrize("name", ["HF_HUB_DOWNLOAD_TIMEOUT", "HF_HUB_ETAG_TIMEOUT"])
def test_a_timeout_that_is_not_a_number_of_seconds_is_an_invalid_argument(
    hub: LocalHub, repo_id: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    repo = hfgit.clone(repo_id, tmp_path / "a", token=hub.write_token, endpoint=hub.endpoint)
    (tmp_path / "a" / "model.bin").write_bytes(os.urandom(1000))
    repo.commit("weights")
    monkeypatch.setenv(name, "soon")

    with pytest.raises(hfgit.InvalidArgumentError, match=f"{name} must be a positive number"):
        repo.push(token=hub.write_token)
