"""Fault injection for LocalHub: make the next requests fail, vanish, or arrive late.

Clients have to survive flaky servers (retries, clear errors, no hangs), and that is hard to test
against the real Hub. Tests queue faults here from the test thread; request threads consume them,
so every method takes a lock.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

__all__ = ["FaultAction", "HubFaults"]


@dataclass(frozen=True)
class FaultAction:
    """What a request thread must do instead of serving a request.

    `status` is the HTTP status to answer with, or None to close the connection unanswered.
    """

    status: int | None
    #: Serve the request first (a push is applied), then close without sending the reply.
    after_serving: bool = False
    #: Serve the request, sending a storage download's body at most this many bytes a second.
    slowed_to: int | None = None

    @property
    def drops_connection(self) -> bool:
        return self.status is None and self.slowed_to is None


@dataclass
class _Rule:
    remaining: int
    action: FaultAction
    path_contains: str | None

    def matches(self, target: str) -> bool:
        return self.path_contains is None or self.path_contains in target


class HubFaults:
    """Faults to inject into the next requests a LocalHub receives; thread-safe.

    Rules apply in the order they were queued; each request consumes at most one rule. Faults are
    applied before authentication and routing, so they also hit requests that would have been
    rejected anyway. `path_contains` is matched against the request target including the query
    string, so `"service=git-receive-pack"` picks the push discovery request while
    `"/git-upload-pack"` only picks the fetch POST. Git LFS requests go through the same rules:
    `"/objects/batch"` picks batch calls and `"/_lfs_storage/"` the signed storage URLs.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[_Rule] = []
        self._latency = 0.0

    @property
    def latency(self) -> float:
        """Seconds every request waits before it is handled (default 0)."""
        with self._lock:
            return self._latency

    @latency.setter
    def latency(self, seconds: float) -> None:
        seconds = float(seconds)
        if seconds < 0:
            raise ValueError("latency must be >= 0 seconds")
        with self._lock:
            self._latency = seconds

    def fail_next(
        self, count: int = 1, status: int = 500, path_contains: str | None = None
    ) -> None:
        """Answer the next `count` matching requests with `status` and a short text body."""
        if not 400 <= status <= 599:
            raise ValueError(f"status must be an HTTP error status (400-599), not {status}")
        self._queue(count, FaultAction(status), path_contains)

    def drop_next(self, count: int = 1, path_contains: str | None = None) -> None:
        """Close the connection of the next `count` matching requests without any response."""
        self._queue(count, FaultAction(None), path_contains)

    def drop_reply_next(self, count: int = 1, path_contains: str | None = None) -> None:
        """Serve the next `count` matching requests, then close the connection instead of
        sending the reply: the request took effect (a push landed) but the client never hears."""
        self._queue(count, FaultAction(None, after_serving=True), path_contains)

    def slow_next(self, count: int = 1, rate: int = 1, path_contains: str | None = None) -> None:
        """Serve the next `count` matching requests, but send a storage download's body at
        `rate` bytes a second: one slow connection among fast ones, as a CDN edge that is
        congested or a TCP connection backing off after losses."""
        if isinstance(rate, bool) or not isinstance(rate, int) or rate <= 0:
            raise ValueError(f"rate must be a positive number of bytes per second, not {rate!r}")
        self._queue(count, FaultAction(None, slowed_to=rate), path_contains)

    def clear(self) -> None:
        """Forget every queued fault and reset the latency to 0."""
        with self._lock:
            self._rules.clear()
            self._latency = 0.0

    @property
    def pending(self) -> int:
        """How many requests are still due to be faulted."""
        with self._lock:
            return sum(rule.remaining for rule in self._rules)

    def take(self, target: str) -> FaultAction | None:
        """Consume and return the fault for a request to `target` (path?query), if any.

        Called by the request handler; not meant for tests.
        """
        with self._lock:
            for index, rule in enumerate(self._rules):
                if rule.matches(target):
                    rule.remaining -= 1
                    if rule.remaining == 0:
                        del self._rules[index]
                    return rule.action
        return None

    def _queue(self, count: int, action: FaultAction, path_contains: str | None) -> None:
        if count < 0:
            raise ValueError("count must be >= 0")
        if count == 0:
            return
        with self._lock:
            self._rules.append(_Rule(count, action, path_contains))
