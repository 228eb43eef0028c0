"""LocalHub's pre-receive hook: which pushed ref updates the emulated Hub accepts.

The Hub checks pushes server-side before updating refs; what a client sees is text on stderr
(git prints it as `remote:` lines) and, on refusal, `! [remote rejected] <ref> -> <ref>
(pre-receive hook declined)`. This script reproduces that. LocalHub copies it into every repo's
`hooks/` directory and runs it with `python -I`, so it must import only the standard library.

git passes one `<old-oid> <new-oid> <refname>` line per ref on stdin. The HTTP layer passes the
pusher's token scope and the repo in the environment (HFHUB_TOKEN_SCOPE, HFHUB_REPO_TYPE,
HFHUB_REPO_ID), the git executable (HFHUB_GIT), where LFS objects live: HFHUB_LFS_OBJECTS
(the hub's store, `aa/bb/<oid>`) and HFHUB_LFS_INDEX (one empty file per object the repo owns),
and the numbers of the repo's pull requests (HFHUB_PULL_REQUESTS, space-separated).

Each rule takes the whole push and returns messages, one per problem; each message is printed
between dashed rules, the way the Hub frames its refusals. The Hub's rules (hub-protocol.md
section 7): read tokens may not update branches; blobs new in the push may not be over 10 MiB,
nor binary and over 1 MB, unless they are LFS pointers; and an LFS pointer must point to an
object the repo has in LFS storage. Pull requests (hub-2026.md rows 4 and 6): `refs/pr/N` may
only be updated once pull request N exists, and then by any valid token, a read token included
(*inferred* for git pushes: the Hub states it for Xet write tokens of `refs/pr/N`); the text
refusing an unknown `refs/pr/N` is *unconfirmed*. To add a rule, write a function and append it
to RULES.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Callable, TextIO

ZERO_OID_CHARS = frozenset("0")
RULE_WIDTH = 74

LARGE_FILE_LIMIT = 10 * 1024 * 1024
"""Non-LFS files strictly larger than this (10 MiB) are refused."""
BINARY_FILE_LIMIT = 1_000_000
"""Binary non-LFS files strictly larger than this (1 MB) are refused."""
BINARY_SNIFF_BYTES = 8000
"""A blob is binary if its first 8000 bytes hold a NUL byte (git's own heuristic)."""
POINTER_MAX_SIZE = 1024
"""git-lfs never treats a blob of 1024 bytes or more as a pointer."""
READ_BLOCK = 1024 * 1024

HELP_URL = "https://hf.co/docs/hub/repositories-getting-started#terminal"

_POINTER = re.compile(
    rb"version (?:https://git-lfs\.github\.com/spec/v1|https://hawser\.github\.com/spec/v1"
    rb"|http://git-media\.io/v/2)\n"
    rb"(?:ext-[0-9]-[A-Za-z0-9_]+ sha256:[0-9a-f]{64}\n)*"
    rb"oid sha256:(?P<oid>[0-9a-f]{64})\n"
    rb"size [0-9]+"
)


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
class NewBlob:
    """A file content the push introduces, with the first path and ref it was found under.

    `head` holds the first BINARY_SNIFF_BYTES bytes for blobs a rule needs to look into
    (pointer candidates and binary candidates), and is empty otherwise.
    """

    oid: str
    size: int
    path: str
    ref: str
    head: bytes

    @property
    def lfs_pointer_oid(self) -> str | None:
        """The LFS object id if this blob is a valid LFS pointer, else None."""
        if self.size >= POINTER_MAX_SIZE or not self.head:
            return None
        match = _POINTER.fullmatch(self.head.strip())
        return match["oid"].decode("ascii") if match else None

    @property
    def is_binary(self) -> bool:
        return b"\0" in self.head[:BINARY_SNIFF_BYTES]


@dataclass(frozen=True)
class Push:
    """Everything a rule may look at. Object checks can run `git` here: cwd is the repo and
    git's quarantine variables are set, so pushed objects are readable before acceptance."""

    updates: tuple[RefUpdate, ...]
    token_scope: str | None
    repo_type: str | None
    repo_id: str | None
    environ: Mapping[str, str]

    @cached_property
    def new_blobs(self) -> tuple[NewBlob, ...]:
        """Blobs reachable from the pushed refs but not from any existing ref."""
        return tuple(scan_new_blobs(self))


def read_updates(lines: Sequence[str]) -> tuple[RefUpdate, ...]:
    updates = []
    for line in lines:
        parts = line.split()
        if len(parts) == 3:
            updates.append(RefUpdate(*parts))
    return tuple(updates)


# ---------------------------------------------------------------------- reading pushed objects


def _git(push: Push) -> str:
    return push.environ.get("HFHUB_GIT") or "git"


def _run(args: Sequence[str], environ: Mapping[str, str], data: bytes = b"") -> bytes:
    completed = subprocess.run(
        list(args), input=data, capture_output=True, env=dict(environ), check=False
    )
    if completed.returncode != 0:
        message = completed.stderr.decode("utf-8", "replace").strip()
        raise RuntimeError(f"{' '.join(args[:2])} failed: {message}")
    return completed.stdout


def scan_new_blobs(push: Push) -> list[NewBlob]:
    """List the blobs each ref update introduces (`rev-list --objects <new> --not --all`: refs
    are not updated yet, so `--all` is what the repo had before the push)."""
    git = _git(push)
    found: list[tuple[str, int, str, str]] = []
    for update in push.updates:
        if update.is_delete:
            continue
        listing = _run([git, "rev-list", "--objects", update.new, "--not", "--all"], push.environ)
        if not listing.strip():
            continue
        checked = _run(
            [git, "cat-file", "--batch-check=%(objectname) %(objecttype) %(objectsize) %(rest)"],
            push.environ,
            listing,
        )
        for line in checked.splitlines():
            fields = line.split(b" ", 3)
            if len(fields) < 3 or fields[1] != b"blob":
                continue
            path = fields[3].decode("utf-8", "replace") if len(fields) == 4 else ""
            found.append((fields[0].decode("ascii"), int(fields[2]), path, update.ref))
    wanted = {
        oid
        for oid, size, _, _ in found
        if size < POINTER_MAX_SIZE or BINARY_FILE_LIMIT < size <= LARGE_FILE_LIMIT
    }
    heads = read_blob_heads(git, sorted(wanted), push.environ) if wanted else {}
    return [NewBlob(oid, size, path, ref, heads.get(oid, b"")) for oid, size, path, ref in found]


def read_blob_heads(git: str, oids: Sequence[str], environ: Mapping[str, str]) -> dict[str, bytes]:
    """The first BINARY_SNIFF_BYTES bytes of each blob, through one `git cat-file --batch`
    (one request at a time, so neither pipe can fill up)."""
    heads: dict[str, bytes] = {}
    process = subprocess.Popen(
        [git, "cat-file", "--batch"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=dict(environ),
    )
    assert process.stdin is not None and process.stdout is not None
    try:
        for oid in oids:
            process.stdin.write(oid.encode("ascii") + b"\n")
            process.stdin.flush()
            header = process.stdout.readline().split()
            if len(header) != 3:  # "<oid> missing"
                continue
            remaining = int(header[2]) + 1  # the content, then a newline
            kept = b""
            while remaining:
                block = process.stdout.read(min(remaining, READ_BLOCK))
                if not block:
                    raise RuntimeError("git cat-file --batch ended early")
                remaining -= len(block)
                if len(kept) < BINARY_SNIFF_BYTES:
                    kept += block[: BINARY_SNIFF_BYTES - len(kept)]
            heads[oid] = kept[: int(header[2])]
    finally:
        process.stdin.close()
        process.wait()
    return heads


# ---------------------------------------------------------------------- rules


_PULL_REQUEST_REF = re.compile(r"refs/pr/(?P<num>[1-9][0-9]*)")


def _pull_requests(push: Push) -> set[int]:
    return {int(num) for num in push.environ.get("HFHUB_PULL_REQUESTS", "").split()}


def deny_without_write_scope(push: Push) -> list[str]:
    """Read tokens may fetch and may even send a pack, but may not update a branch or tag; they
    may update an existing pull request's ref (the next rule checks that it exists)."""
    if push.token_scope == "write":
        return []
    denied = [
        f"DENIED update {update.ref}: forbidden"
        for update in push.updates
        if not _PULL_REQUEST_REF.fullmatch(update.ref)
    ]
    if not denied:
        return []
    return ["\n".join(["Your push was rejected for the following reasons:", "", *denied])]


def deny_unknown_pull_requests(push: Push) -> list[str]:
    """`refs/pr/N` belongs to pull request N: it has to be opened (through the API) first."""
    known = _pull_requests(push)
    denied = []
    for update in push.updates:
        if not update.ref.startswith("refs/pr/") or update.is_delete:
            continue
        match = _PULL_REQUEST_REF.fullmatch(update.ref)
        if match is None or int(match["num"]) not in known:
            denied.append(
                f"DENIED update {update.ref}: no such pull request; open it first "
                "(POST /api/{type}s/{repo_id}/discussions with pullRequest: true)"
            )
    if not denied:
        return []
    return ["\n".join(["Your push was rejected for the following reasons:", "", *denied])]


def _offending(headline: Sequence[str], blobs: Sequence[NewBlob]) -> list[str]:
    if not blobs:
        return []
    seen: dict[tuple[str, str], None] = {}
    for blob in blobs:
        seen[(blob.path, blob.ref)] = None
    files = [f"  - {path} (ref: {ref})" for path, ref in seen]
    return ["\n".join([*headline, "", "Offending files:", *files])]


def reject_large_files(push: Push) -> list[str]:
    """Files over 10 MiB must go through LFS (a pointer is never that big)."""
    large = [blob for blob in push.new_blobs if blob.size > LARGE_FILE_LIMIT]
    headline = [
        "Your push was rejected because it contains files larger than 10 MiB.",
        "Please use https://git-lfs.github.com/ to store large files.",
        f"See also: {HELP_URL}",
    ]
    return _offending(headline, large)


def reject_binary_files(push: Push) -> list[str]:
    """Binary files over 1 MB must go through LFS too."""
    binary = [
        blob
        for blob in push.new_blobs
        if BINARY_FILE_LIMIT < blob.size <= LARGE_FILE_LIMIT and blob.is_binary
    ]
    headline = [
        "Your push was rejected because it contains binary files.",
        "Please use https://huggingface.co/docs/hub/xet to store binary files.",
        f"See also: {HELP_URL}",
    ]
    return _offending(headline, binary)


EMPTY_OBJECT_OID = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def reject_pointers_to_missing_objects(push: Push) -> list[str]:
    """Every LFS pointer pushed must name an object stored for this repo."""
    objects, index = push.environ.get("HFHUB_LFS_OBJECTS"), push.environ.get("HFHUB_LFS_INDEX")
    if not objects or not index:
        return []

    def stored(oid: str) -> bool:
        # The empty object needs no upload: its content is known, and S3 refuses an empty PUT
        # (hub-protocol.md section 4). That the Hub accepts such a pointer without one is
        # inferred from repositories that hold them, not confirmed.
        if oid == EMPTY_OBJECT_OID:
            return True
        return (Path(index) / oid).is_file() and (
            Path(objects) / oid[0:2] / oid[2:4] / oid
        ).is_file()

    missing = [
        blob
        for blob in push.new_blobs
        if (oid := blob.lfs_pointer_oid) is not None and not stored(oid)
    ]
    headline = [
        "Your push was rejected because an LFS pointer pointed to a file that does not exist.",
        "The LFS objects must be uploaded before the commits that point to them; this happens",
        "when a push skips the git-lfs pre-push hook, for example with `git push --no-verify`.",
    ]
    return _offending(headline, missing)


Rule = Callable[[Push], Sequence[str]]

RULES: list[Rule] = [
    deny_without_write_scope,
    deny_unknown_pull_requests,
    reject_large_files,
    reject_binary_files,
    reject_pointers_to_missing_objects,
]


def format_rejection(message: str) -> str:
    """Frame one message the way the Hub does: between dashed rules."""
    rule = "-" * RULE_WIDTH
    return "\n".join([rule, message, rule]) + "\n"


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
    messages: list[str] = []
    for rule in RULES:
        messages.extend(rule(push))
    if not messages:
        return 0
    stderr.write("".join(format_rejection(message) for message in messages))
    stderr.flush()
    return 1


if __name__ == "__main__":
    sys.exit(main())
