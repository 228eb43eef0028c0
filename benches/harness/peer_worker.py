"""One git operation done by pygit2 or dulwich, for the benchmark harness.

    python benches/harness/peer_worker.py {pygit2|dulwich} clone URL DEST
    python benches/harness/peer_worker.py {pygit2|dulwich} {commit|push|pull}   (in the clone)

The token comes from the BENCH_TOKEN environment variable and goes to the library's credential
mechanism only (never into a URL). Each call is one process so `/usr/bin/time -v` sees exactly
that library's work. It imports nothing from the harness, to keep start-up identical to a user's
script.
"""

from __future__ import annotations

import importlib
import io
import os
import sys
import time

USER = "hf_user"
NAME, EMAIL = "Bench", "bench@example.com"
MESSAGE = "bench commit"


def _token() -> str:
    return os.environ["BENCH_TOKEN"]


def run_pygit2(op: str, args: list[str]) -> None:
    import pygit2

    callbacks = pygit2.RemoteCallbacks(credentials=pygit2.UserPass(USER, _token()))
    if op == "clone":
        pygit2.clone_repository(args[0], args[1], callbacks=callbacks)
        return
    repo = pygit2.Repository(".")
    if op == "commit":
        index = repo.index
        index.add_all()
        index.write()
        tree = index.write_tree()
        signature = pygit2.Signature(NAME, EMAIL)
        repo.create_commit("HEAD", signature, signature, MESSAGE, tree, [repo.head.target])
    elif op == "push":
        refused: list[str] = []

        class Report(pygit2.RemoteCallbacks):  # type: ignore[misc]
            def push_update_reference(self, refname: str, message: str | None) -> None:
                if message:
                    refused.append(f"{refname}: {message}")

        report = Report(credentials=pygit2.UserPass(USER, _token()))
        branch = repo.head.shorthand
        repo.remotes["origin"].push([f"refs/heads/{branch}"], callbacks=report)
        if refused:
            raise SystemExit("push refused: " + "; ".join(refused))
    elif op == "pull":
        branch = repo.head.shorthand
        repo.remotes["origin"].fetch(callbacks=callbacks)
        upstream = repo.references[f"refs/remotes/origin/{branch}"].target
        analysis, _ = repo.merge_analysis(upstream)
        if analysis & pygit2.enums.MergeAnalysis.UP_TO_DATE:
            return
        if not analysis & pygit2.enums.MergeAnalysis.FASTFORWARD:
            raise SystemExit("pull: not a fast-forward")
        repo.checkout_tree(repo.get(upstream))
        repo.references[f"refs/heads/{branch}"].set_target(upstream)
        repo.head.set_target(upstream)
    else:
        raise SystemExit(f"unknown op {op!r}")


def run_dulwich(op: str, args: list[str]) -> None:
    from dulwich import porcelain

    quiet = io.BytesIO()
    auth = {"username": USER, "password": _token()}
    if op == "clone":
        porcelain.clone(args[0], args[1], errstream=quiet, **auth)
    elif op == "commit":
        porcelain.add(".")
        identity = f"{NAME} <{EMAIL}>".encode()
        porcelain.commit(".", message=MESSAGE.encode(), author=identity, committer=identity)
    elif op == "push":
        branch = porcelain.active_branch(".").decode()
        porcelain.push(
            ".", "origin", f"refs/heads/{branch}", outstream=quiet, errstream=quiet, **auth
        )
    elif op == "pull":
        branch = porcelain.active_branch(".").decode()
        porcelain.pull(
            ".", "origin", f"refs/heads/{branch}", outstream=quiet, errstream=quiet, **auth
        )
    else:
        raise SystemExit(f"unknown op {op!r}")


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] not in ("pygit2", "dulwich"):
        raise SystemExit(__doc__)
    tool, op, rest = argv[0], argv[1], argv[2:]
    # Imported before the clock starts, as hfgit is in its snippets (harness/tools.py).
    importlib.import_module("pygit2" if tool == "pygit2" else "dulwich.porcelain")
    started = time.perf_counter()
    (run_pygit2 if tool == "pygit2" else run_dulwich)(op, rest)
    print(f"call-seconds={time.perf_counter() - started:.6f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
