"""A LocalHub in its own process, driven by JSON lines on stdin, for the benchmark harness.

    python benches/harness/hub_server.py [--root DIR] [--storage-rate-limit BYTES_PER_S]

The first line written to stdout is `{"endpoint", "token", "pid"}` (the token is a write token;
it travels through this pipe only, never through argv). Each request line read from stdin gets
one reply line:

    {"op": "create", "repo_id": "bench/x"}   ->  {"url": ..., "path": <bare repo on disk>}
    {"op": "delete", "repo_id": "bench/x"}   ->  {}
    {"op": "fault", "kind": "fail" | "drop" | "drop_reply", "count": 1,
     "status": 503, "path_contains": "...", "headers": {...}}
                                              ->  {"pending": n}  (see hfgit.testing.HubFaults)
    {"op": "pending"}                         ->  {"pending": n}  faulted requests still to come
    {"op": "clear_faults"}                    ->  {"pending": n}  how many were left, now dropped
    {"op": "requests"}                        ->  {"requests": [[method, path, query, status,
                                                                 received (monotonic s)]]}
    {"op": "stop"} or end of input            ->  the hub stops and the process exits

Keeping the hub out of the measuring process means its Python threads (HTTP, LFS storage,
hashing of uploads) never share a GIL with the orchestrator, and its CPU time can be read from
/proc/<pid>/stat on its own.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from typing import Any

from hfgit.testing import LocalHub


def _reply(payload: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(payload) + "\n")
    sys.stdout.flush()


def _queue_fault(hub: LocalHub, request: dict[str, Any]) -> None:
    kind = request["kind"]
    count = int(request.get("count", 1))
    path_contains = request.get("path_contains")
    if kind == "fail":
        hub.faults.fail_next(
            count, int(request["status"]), path_contains, headers=request.get("headers")
        )
    elif kind == "drop":
        hub.faults.drop_next(count, path_contains)
    elif kind == "drop_reply":
        hub.faults.drop_reply_next(count, path_contains)
    else:
        raise ValueError(f"unknown fault kind {kind!r}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", help="keep repos in this directory (default: a temp dir)")
    parser.add_argument(
        "--storage-rate-limit",
        type=int,
        help="cap each LFS storage request at this many bytes per second, like a CDN",
    )
    args = parser.parse_args()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the orchestrator decides when we stop
    with LocalHub(args.root, storage_rate_limit=args.storage_rate_limit) as hub:
        _reply({"endpoint": hub.endpoint, "token": hub.write_token, "pid": os.getpid()})
        for line in sys.stdin:
            request = json.loads(line)
            op = request.get("op")
            try:
                if op == "stop":
                    _reply({})
                    break
                if op == "create":
                    url = hub.create_repo(request["repo_id"])
                    _reply({"url": url, "path": str(hub.repo_path(request["repo_id"]))})
                elif op == "delete":
                    hub.delete_repo(request["repo_id"])
                    _reply({})
                elif op == "fault":
                    _queue_fault(hub, request)
                    _reply({"pending": hub.faults.pending})
                elif op == "pending":
                    _reply({"pending": hub.faults.pending})
                elif op == "clear_faults":
                    pending = hub.faults.pending
                    hub.faults.clear()
                    _reply({"pending": pending})
                elif op == "requests":
                    records = [
                        [r.method, r.path, r.query, r.status, r.received] for r in hub.requests
                    ]
                    _reply({"requests": records})
                else:
                    _reply({"error": f"unknown op {op!r}"})
            except Exception as exc:
                _reply({"error": f"{type(exc).__name__}: {exc}"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
