"""Fault injection for LocalHub: make the next requests fail, vanish, or arrive late.

Clients have to survive flaky servers (retries, clear errors, no hangs), and that is hard to test
against the real Hub. Tests queue faults here from the test thread; request threads consume them,
so every method takes a lock.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

__all__ = ["RATE_LIMIT_MESSAGE", "FaultAction", "HubFaults"]

RATE_LIMIT_MESSAGE = (
    "We had to rate limit your IP (127.0.0.1). To continue using our service, create a HF "
    "account or login to your existing account, and make sure you pass a HF_TOKEN if you're "
    "using the API."
)
"""The body text of a LocalHub 429, worded as the Hub's (hub-2026.md, row 12)."""

HeaderPairs = tuple[tuple[str, str], ...]


def _header_pairs(headers: Mapping[str, str] | Iterable[tuple[str, str]] | None) -> HeaderPairs:
    if headers is None:
        return ()
    items = headers.items() if isinstance(headers, Mapping) else headers
    pairs = tuple((str(name), str(value)) for name, value in items)
    for name, value in pairs:
        if not name or ":" in name or any(c in name + value for c in "\r\n"):
            raise ValueError(f"invalid header {name!r}: {value!r}")
    return pairs


@dataclass(frozen=True)
class FaultAction:
    """What a request thread must do instead of serving a request.

    `status` is the HTTP status to answer with, or None to close the connection unanswered;
    `headers` are sent with it, and `body` (JSON when it starts with "{") replaces the default
    text.
    """

    status: int | None
    #: Serve the request first (a push is applied), then close without sending the reply.
    after_serving: bool = False
    #: Serve the request, sending a storage download's body at most this many bytes a second.
    slowed_to: int | None = None
    headers: HeaderPairs = ()
    body: str | None = None

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
        self,
        count: int = 1,
        status: int = 500,
        path_contains: str | None = None,
        headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
    ) -> None:
        """Answer the next `count` matching requests with `status`, `headers` (a mapping or
        (name, value) pairs; default none) and a short text body."""
        if not 400 <= status <= 599:
            raise ValueError(f"status must be an HTTP error status (400-599), not {status}")
        self._queue(count, FaultAction(status, headers=_header_pairs(headers)), path_contains)

    def rate_limit_next(
        self,
        count: int = 1,
        *,
        reset_in: int = 300,
        path_contains: str | None = None,
        retry_after: str | None = None,
        remaining: int = 0,
        quota: int = 500,
        window: int = 300,
        resource: str = "api",
    ) -> None:
        """Answer the next `count` matching requests as the Hub answers a client over its quota.

        That is 429 with `RateLimit: "<resource>";r=<remaining>;t=<reset_in>` and
        `RateLimit-Policy: "fixed window";"<resource>";q=<quota>;w=<window>` (seconds; the Hub
        counts requests in 5-minute windows), a JSON body `{"error": RATE_LIMIT_MESSAGE}`, and
        no `Retry-After` unless `retry_after` gives its value (seconds or an HTTP date). See
        hub-2026.md row 12 and section 5 case 10.
        """
        for name, value in (("reset_in", reset_in), ("remaining", remaining), ("quota", quota)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be an integer >= 0, not {value!r}")
        headers = [
            ("RateLimit", f'"{resource}";r={remaining};t={reset_in}'),
            ("RateLimit-Policy", f'"fixed window";"{resource}";q={quota};w={window}'),
        ]
        if retry_after is not None:
            headers.append(("Retry-After", retry_after))
        body = json.dumps({"error": RATE_LIMIT_MESSAGE})
        action = FaultAction(429, headers=_header_pairs(headers), body=body)
        self._queue(count, action, path_contains)

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
