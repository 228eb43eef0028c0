"""pytest fixtures that start a LocalHub per test and stop it afterwards.

Not registered as an entry point (installing hfgit should not add fixtures to every project's
test run); load it explicitly with `pytest_plugins = ["hfgit.testing.pytest_plugin"]` in a root
conftest.py, or `pytest -p hfgit.testing.pytest_plugin`.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .hub import LocalHub

__all__ = ["local_hub", "local_hub_https"]


@pytest.fixture
def local_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalHub]:
    """A running plain-HTTP LocalHub; its root is kept in pytest's temp dir for debugging."""
    with LocalHub(tmp_path_factory.mktemp("localhub")) as hub:
        yield hub


@pytest.fixture
def local_hub_https(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalHub]:
    """A running HTTPS LocalHub; clients must trust `hub.ca_file`."""
    with LocalHub(tmp_path_factory.mktemp("localhub-https"), https=True) as hub:
        yield hub
