"""Switches that make LocalHub's Git LFS side misbehave on purpose.

Two kinds, both borrowed from git-lfs's own test server (hub-protocol.md section 10):

* **Magic content.** A file whose bytes are exactly `magic_content(name)` has a well-known
  SHA-256, and the hub misbehaves for that object id wherever it shows up, whichever client
  sends it. The names:

  - `status-batch-{403,404,410,422,500}`: every batch (upload or download) answers this object
    with a per-object `error` of that code.
  - `status-storage-{403,404,410,422,500,503}`: every storage PUT of the object answers with
    that status.
  - `storage-upload-retry`: the first storage PUT answers 500, later ones succeed.
  - `storage-upload-retry-later`: the first storage PUT answers 429 with `Retry-After: 1`.
  - `storage-upload-drop`: the first storage PUT reads part of the body, then the connection is
    closed without a response.
  - `storage-download-corrupt`: every storage GET returns altered bytes of the right length.
  - `storage-download-drop`: the first storage GET sends the headers and half of the body, then
    closes the connection (a client can resume with `Range`).
  - `storage-download-retry-later`: the first storage GET answers 429 with `Retry-After: 1`.

* **Repo name.** A repo whose id contains one of these strings misbehaves for every object:

  - `batch-500`: every batch request answers 500.
  - `batch-429`: the first two batch requests to the repo answer 429 with `Retry-After: 1`.
  - `storage-500-once`: the first storage PUT (basic or multipart part) and the first storage
    GET of every object answer 503.
  - `verify-fail`: the first verify of every object answers 503.

"First" is counted per hub, per repo and per object, so one test's retries do not use up
another repo's fault.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Hashable

__all__ = [
    "LFS_REPO_FAULTS",
    "MAGIC_CONTENT_NAMES",
    "FaultCounters",
    "magic_content",
    "magic_name",
]

_BATCH_STATUSES = (403, 404, 410, 422, 500)
_STORAGE_STATUSES = (403, 404, 410, 422, 500, 503)

MAGIC_CONTENT_NAMES: tuple[str, ...] = (
    *(f"status-batch-{code}" for code in _BATCH_STATUSES),
    *(f"status-storage-{code}" for code in _STORAGE_STATUSES),
    "storage-upload-retry",
    "storage-upload-retry-later",
    "storage-upload-drop",
    "storage-download-corrupt",
    "storage-download-drop",
    "storage-download-retry-later",
)
"""Every name `magic_content` accepts."""

LFS_REPO_FAULTS: tuple[str, ...] = ("batch-500", "batch-429", "storage-500-once", "verify-fail")
"""Substrings of a repo id that switch on a fault for the whole repo."""

_NAME_BY_OID = {
    hashlib.sha256(name.encode("ascii")).hexdigest(): name for name in MAGIC_CONTENT_NAMES
}


def magic_content(name: str) -> bytes:
    """The exact file content that triggers the magic fault `name` (see MAGIC_CONTENT_NAMES).

    Write these bytes to a file tracked by LFS; the hub recognises the object by its SHA-256.
    """
    if name not in MAGIC_CONTENT_NAMES:
        known = ", ".join(MAGIC_CONTENT_NAMES)
        raise ValueError(f"unknown LocalHub magic content {name!r}; known names: {known}")
    return name.encode("ascii")


def magic_name(oid: str) -> str | None:
    """The magic name whose content has this object id, or None for ordinary objects."""
    return _NAME_BY_OID.get(oid)


def magic_status(name: str | None, prefix: str) -> int | None:
    """The status code of a `<prefix><code>` magic name (e.g. `status-batch-404` -> 404)."""
    if name is None or not name.startswith(prefix):
        return None
    return int(name[len(prefix) :])


class FaultCounters:
    """How often each fault key has fired; thread-safe. Keys are tuples chosen by the caller,
    e.g. `("storage-500-once", repo, oid, "PUT")`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[Hashable, int] = {}

    def bump(self, key: Hashable) -> int:
        """Count one more occurrence of `key` and return how many there were before."""
        with self._lock:
            before = self._counts.get(key, 0)
            self._counts[key] = before + 1
            return before

    def first(self, key: Hashable) -> bool:
        """True exactly once per key: the first time it is seen."""
        return self.bump(key) == 0
