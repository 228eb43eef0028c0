"""LocalHub's pre-receive hook: which pushed ref updates the emulated Hub accepts.

The Hub checks pushes server-side before updating refs; what a client sees is text on stderr
(git prints it as `remote:` lines) and, on refusal, `! [remote rejected] <ref> -> <ref>
(pre-receive hook declined)`. This script reproduces that. LocalHub copies it into every repo's
`hooks/` directory and runs it with `python -I`, so it must import only the standard library.

git passes one `<old-oid> <new-oid> <refname>` line per ref on stdin. The HTTP layer passes the
pusher's token scope and the repo in the environment (HFHUB_TOKEN_SCOPE, HFHUB_REPO_TYPE,
HFHUB_REPO_ID). Each rule takes the whole push and returns the reasons it refuses it; to add a
Hub rule (file size, binary files, LFS pointers), write a function and append it to RULES.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Callable, TextIO

ZERO_OID_CHARS = frozenset("0")
RULE_WIDTH = 74


@dataclass(frozen=True)
class RefUpdate:
    """One ref the client asks to move."""

    old: str
    new: str
    ref: str

    @property
    def is_delete(self) -> bool:
        return set(self.new) <= ZERO_OID_CHARS


@dataclass(frozen=True)
class Push:
    """Everything a rule may look at. Object checks can run `git` here: cwd is the repo and
    git's quarantine variables are set, so pushed objects are readable before acceptance."""

    updates: tuple[RefUpdate, ...]
    token_scope: str | None
    repo_type: str | None
    repo_id: str | None
    environ: Mapping[str, str]


def read_updates(lines: Sequence[str]) -> tuple[RefUpdate, ...]:
    updates = []
    for line in lines:
        parts = line.split()
        if len(parts) == 3:
            updates.append(RefUpdate(*parts))
    return tuple(updates)


def deny_without_write_scope(push: Push) -> list[str]:
    """Read tokens may fetch and may even send a pack, but may not update any ref."""
    if push.token_scope == "write":
        return []
    return [f"DENIED update {update.ref}: forbidden" for update in push.updates]


Rule = Callable[[Push], Sequence[str]]

RULES: list[Rule] = [deny_without_write_scope]


def format_rejection(reasons: Sequence[str]) -> str:
    """Frame the reasons the way the Hub does: between dashed rules, one reason per line."""
    rule = "-" * RULE_WIDTH
    lines = [rule, "Your push was rejected for the following reasons:", "", *reasons, rule]
    return "\n".join(lines) + "\n"


def main(
    stdin: TextIO = sys.stdin,
    stderr: TextIO = sys.stderr,
    environ: Mapping[str, str] = os.environ,
) -> int:
    push = Push(
        updates=read_updates(stdin.read().splitlines()),
        token_scope=environ.get("HFHUB_TOKEN_SCOPE") or None,
        repo_type=environ.get("HFHUB_REPO_TYPE") or None,
        repo_id=environ.get("HFHUB_REPO_ID") or None,
        environ=environ,
    )
    reasons: list[str] = []
    for rule in RULES:
        reasons.extend(rule(push))
    if not reasons:
        return 0
    stderr.write(format_rejection(reasons))
    stderr.flush()
    return 1


if __name__ == "__main__":
    sys.exit(main())
