"""`python -m hfgit.testing`: run a LocalHub in the foreground for demos and manual testing."""

from __future__ import annotations

import argparse
import contextlib
import signal
import threading
from collections.abc import Sequence
from types import FrameType

from .hub import LocalHub


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m hfgit.testing",
        description="Serve a local Hugging Face Hub git server on 127.0.0.1 until Ctrl-C.",
    )
    parser.add_argument("repo_id", nargs="?", help="create this repo at start, e.g. user/model")
    parser.add_argument("--repo-type", default="model", choices=("model", "dataset", "space"))
    parser.add_argument("--private", action="store_true", help="make the repo private")
    parser.add_argument("--https", action="store_true", help="serve HTTPS with a generated CA")
    parser.add_argument("--root", help="keep repos in this directory (default: a temp dir)")
    args = parser.parse_args(argv)
    # `kill` (SIGTERM) stops as cleanly as Ctrl-C: connections closed, temp root removed.
    signal.signal(signal.SIGTERM, _interrupt)

    with LocalHub(args.root, https=args.https) as hub:
        print(f"endpoint:    {hub.endpoint}")
        print(f"write token: {hub.write_token}")
        print(f"read token:  {hub.read_token}")
        if hub.ca_file is not None:
            print(f"CA file:     {hub.ca_file}")
        if args.repo_id:
            url = hub.create_repo(args.repo_id, args.repo_type, private=args.private)
            print(f"repo:        {url}")
        print("Serving; press Ctrl-C to stop.", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
