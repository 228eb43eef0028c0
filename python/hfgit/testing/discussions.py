"""LocalHub's discussions and pull requests, kept beside each bare repo.

On the Hub a pull request is a discussion with `isPullRequest: true`; its commits live at
`refs/pr/{num}` of the repo itself, and discussions and pull requests share one numbering
(huggingface_hub `community.py`). What LocalHub copies:

* Opening one (`create`) gives the next number. A pull request's ref is created at once, at the
  tip of `main`: a draft opened on the Hub shows "Files changed (0)" before anything is pushed
  (*inferred* from pages of such drafts; the ref's initial value is not documented).
* A per-repo switch turns discussions (and so pull requests) off, as the repo settings on the Hub
  do; opening one then answers 403 (status *inferred*, text *unconfirmed*).
* The pre-receive hook lets a push update `refs/pr/N` only for a pull request that exists
  (`HFHUB_PULL_REQUESTS`, set by the HTTP layer from `pull_request_numbers`).

State is a small JSON file in the bare repo (`localhub-discussions.json`), so a LocalHub started
again on the same root keeps it, and a marker file (`localhub-discussions-disabled`) holds the
switch, like the private marker.
"""

from __future__ import annotations

import datetime as _dt
import json
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .repos import RepoStore

__all__ = ["Discussion", "DiscussionStore", "DiscussionsDisabledError"]

STATE_FILE = "localhub-discussions.json"
DISABLED_MARKER = "localhub-discussions-disabled"


class DiscussionsDisabledError(Exception):
    """The repo's discussions (and pull requests) are turned off."""


@dataclass(frozen=True)
class Discussion:
    """One discussion or pull request, in the Hub API's field names."""

    num: int
    title: str
    description: str
    isPullRequest: bool  # the Hub API's name
    status: str
    createdAt: str  # the Hub API's name

    @property
    def git_reference(self) -> str | None:
        return f"refs/pr/{self.num}" if self.isPullRequest else None


class DiscussionStore:
    """Creates and finds the discussions of LocalHub's repos; thread-safe."""

    def __init__(self, store: RepoStore) -> None:
        self._store = store
        self._lock = threading.Lock()

    def enabled(self, repo_id: str, repo_type: str) -> bool:
        return not (self._store.path(repo_id, repo_type) / DISABLED_MARKER).exists()

    def set_enabled(self, repo_id: str, repo_type: str, enabled: bool) -> None:
        marker = self._store.path(repo_id, repo_type) / DISABLED_MARKER
        if enabled:
            marker.unlink(missing_ok=True)
        else:
            marker.touch()

    def create(
        self, repo_id: str, repo_type: str, title: str, description: str, pull_request: bool
    ) -> Discussion:
        """Open a discussion or pull request; raises DiscussionsDisabledError when turned off."""
        if not self.enabled(repo_id, repo_type):
            raise DiscussionsDisabledError(repo_id)
        with self._lock:
            items = self._read(repo_id, repo_type)
            num = max((item.num for item in items), default=0) + 1
            created = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds")
            discussion = Discussion(
                num=num,
                title=title,
                description=description,
                isPullRequest=pull_request,
                status="draft" if pull_request else "open",
                createdAt=created.replace("+00:00", "Z"),
            )
            if pull_request:
                self._store.update_ref(repo_id, repo_type, f"refs/pr/{num}", "refs/heads/main")
            self._write(repo_id, repo_type, [*items, discussion])
        return discussion

    def get(self, repo_id: str, repo_type: str, num: int) -> Discussion | None:
        with self._lock:
            return next((d for d in self._read(repo_id, repo_type) if d.num == num), None)

    def discussions(self, repo_id: str, repo_type: str) -> list[Discussion]:
        with self._lock:
            return self._read(repo_id, repo_type)

    def pull_request_numbers(self, repo_id: str, repo_type: str) -> list[int]:
        return [d.num for d in self.discussions(repo_id, repo_type) if d.isPullRequest]

    def _path(self, repo_id: str, repo_type: str) -> Path:
        return self._store.path(repo_id, repo_type) / STATE_FILE

    def _read(self, repo_id: str, repo_type: str) -> list[Discussion]:
        try:
            raw: list[dict[str, Any]] = json.loads(self._path(repo_id, repo_type).read_text())
        except FileNotFoundError:
            return []
        return [Discussion(**item) for item in raw]

    def _write(self, repo_id: str, repo_type: str, items: list[Discussion]) -> None:
        path = self._path(repo_id, repo_type)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps([asdict(item) for item in items], indent=1))
        temporary.replace(path)
