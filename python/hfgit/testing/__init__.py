"""Test helpers for hfgit: `LocalHub`, a local stand-in for the Hugging Face Hub's git server.

LocalHub serves the Hub's repo URLs on 127.0.0.1 through the real `git http-backend`, with the
Hub's token rules, default `.gitattributes` and push refusals, so clients can be tested end to
end offline; its Git LFS side (batch, storage, multipart, verify, push checks, fault switches)
is real enough for git-lfs itself. It needs git on the machine, and the `cryptography` package
for HTTPS mode.

For pytest, load `hfgit.testing.pytest_plugin` to get the `local_hub` and `local_hub_https`
fixtures (`pytest_plugins = ["hfgit.testing.pytest_plugin"]` in the root conftest.py). For a demo
server, run `python -m hfgit.testing [repo_id]`.
"""

from __future__ import annotations

from .errors import LocalHubError
from .faults import HubFaults
from .gitattributes import default_gitattributes
from .hub import LocalHub
from .lfs_faults import LFS_REPO_FAULTS, MAGIC_CONTENT_NAMES, magic_content
from .state import RequestRecord

__all__ = [
    "LFS_REPO_FAULTS",
    "MAGIC_CONTENT_NAMES",
    "HubFaults",
    "LocalHub",
    "LocalHubError",
    "RequestRecord",
    "default_gitattributes",
    "magic_content",
]
