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
