"""Counts the native layer cannot take (negative, a bool for a number) are refused up front with
``InvalidArgumentError``, before anything is touched, instead of surfacing as ``OverflowError``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import hfgit
import pytest
from hfgit.testing import LocalHub


def test_negative_or_boolean_counts_raise_invalid_argument_and_change_nothing(
    hub: LocalHub, repo_id: str, tmp_path: Path
) -> None:
    repo = hfgit.clone(repo_id, tmp_path / "work", token=hub.write_token, endpoint=hub.endpoint)
    head = repo.head
    token = hub.write_token
    calls: list[tuple[str, Callable[[], object]]] = [
        ("limit", lambda: repo.log(-1)),
        ("pr", lambda: repo.push(token=token, pr=-1)),
        ("pr", lambda: repo.push(token=token, pr=True)),
        ("lfs_concurrency", lambda: repo.push(token=token, lfs_concurrency=-3)),
        (
            "depth",
            lambda: hfgit.clone(
                repo_id, tmp_path / "deep", token=token, endpoint=hub.endpoint, depth=-1
            ),
        ),
    ]

    for name, call in calls:
        with pytest.raises(hfgit.InvalidArgumentError, match=f"^{name} must be an integer"):
            call()

    assert repo.head == head
    assert not (tmp_path / "deep").exists()
    assert len(repo.log(0)) == 0


def test_an_lfs_concurrency_past_the_maximum_is_refused_naming_it_not_a_crash(
    hub: LocalHub, repo_id: str, tmp_path: Path
) -> None:
    repo = hfgit.clone(repo_id, tmp_path / "work", token=hub.write_token, endpoint=hub.endpoint)
    (Path(repo.path) / "w.bin").write_bytes(b"\x00" * 1000)
    repo.commit("weights")
    repo.push(token=hub.write_token)
    lazy = hfgit.clone(
        repo_id, tmp_path / "lazy", token=hub.write_token, endpoint=hub.endpoint, lfs=False
    )

    with pytest.raises(hfgit.InvalidArgumentError, match="from 1 to 256"):
        hfgit.clone(
            repo_id,
            tmp_path / "c",
            token=hub.write_token,
            endpoint=hub.endpoint,
            lfs_concurrency=2**32,
        )
    with pytest.raises(hfgit.InvalidArgumentError, match="from 1 to 256"):
        lazy.lfs_pull(token=hub.write_token, lfs_concurrency=100_000)

    assert not (tmp_path / "c").exists()
    lazy.lfs_pull(token=hub.write_token, lfs_concurrency=256)
    assert (Path(lazy.path) / "w.bin").read_bytes() == b"\x00" * 1000
