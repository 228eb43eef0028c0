"""Making the two sides comparable: status entries, trees, and checked-out files.

Status mapping. Both tools are reduced to a set of `(path, letter, staged)`:

- hfgit `StatusEntry.kind` → letter: added A, modified M, deleted D, renamed R, typechange T,
  untracked ?, conflicted U; `staged` is the entry's own flag.
- `git status --porcelain=v1 -z -uall` line `XY path`: `??` → (path, ?, False); otherwise the
  index column X if it is set (`staged` True), else the work-tree column Y (`staged` False).
  hfgit gives one entry per path, so a path changed in both columns keeps the staged one.
  git reports renames only between HEAD and the index (`R  new<NUL>old`), as hfgit does
  (`renames_head_to_index`); both are keyed by the new path. Work-tree renames are a
  deletion plus an untracked file on both sides.

Each difference is described without its path ("M*/M": hfgit says modified and staged where
git says modified, not staged; "-/?": only git lists it, as untracked), and the sorted set of
those descriptions is the failure's signature: the same bug in two seeds gives the same
signature, whatever the file names.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

StatusKey = tuple[str, str, bool]

HFGIT_LETTERS = {
    "added": "A",
    "modified": "M",
    "deleted": "D",
    "renamed": "R",
    "typechange": "T",
    "untracked": "?",
    "conflicted": "U",
}
POINTER_SIZE_LIMIT = 1024
_VERSIONS = (
    "https://git-lfs.github.com/spec/v1",
    "https://hawser.github.com/spec/v1",
    "http://git-media.io/v/2",
)
_HEX64 = re.compile(r"[0-9a-f]{64}")


# ---------------------------------------------------------------------- pointers


@dataclass(frozen=True)
class ParsedPointer:
    oid: str
    size: int
    canonical: bool
    extensions: int


def parse_pointer(data: bytes) -> ParsedPointer | None:
    """Read `data` the way git-lfs reads a blob: None when it is not a pointer.

    Mirrors git-lfs's `DecodePointer` (and hfgit's `Pointer::parse`): under 1024 bytes, UTF-8,
    trimmed, lines `version`, any `ext-N-name sha256:<hex>`, `oid sha256:<hex>`, `size N`, in
    that order; blank lines and CR before LF are allowed. The empty blob is the empty file.
    """
    if not data:
        return ParsedPointer(hashlib.sha256(b"").hexdigest(), 0, True, 0)
    if len(data) >= POINTER_SIZE_LIMIT:
        return None
    try:
        text = data.decode("utf-8").strip()
    except UnicodeDecodeError:
        return None
    expect = "version"
    oid: str | None = None
    size: int | None = None
    extensions = 0
    for raw in text.split("\n"):
        line = raw[:-1] if raw.endswith("\r") else raw
        if not line:
            continue
        key, sep, value = line.partition(" ")
        if not sep:
            return None
        if expect == "version" and key == "version" and value in _VERSIONS:
            expect = "oid"
        elif expect == "oid" and key == "oid":
            if not value.startswith("sha256:") or not _HEX64.fullmatch(value[7:]):
                return None
            oid, expect = value[7:], "size"
        elif expect == "size" and key == "size":
            try:
                size = int(value)
            except ValueError:
                return None
            if size < 0:
                return None
            expect = "done"
        elif expect != "done" and re.fullmatch(r"ext-[0-9]-\w+", key):
            if not value.startswith("sha256:") or not _HEX64.fullmatch(value[7:]):
                return None
            extensions += 1
        else:
            return None
    if oid is None or size is None:
        return None
    canonical = data == f"version {_VERSIONS[0]}\noid sha256:{oid}\nsize {size}\n".encode()
    return ParsedPointer(oid, size, canonical and extensions == 0, extensions)


def is_pointer_to(text: bytes, data: bytes) -> bool:
    """Whether `text` is an LFS pointer (in any encoding) to exactly `data`."""
    pointer = parse_pointer(text) if text else None
    return (
        pointer is not None
        and pointer.size == len(data)
        and pointer.oid == hashlib.sha256(data).hexdigest()
    )


# ---------------------------------------------------------------------- status


def git_status_keys(porcelain_z: bytes) -> set[StatusKey]:
    """`git status --porcelain=v1 -z -uall` output as status keys."""
    keys: set[StatusKey] = set()
    fields = porcelain_z.split(b"\0")
    i = 0
    while i < len(fields):
        entry = fields[i]
        i += 1
        if len(entry) < 4:
            continue
        x, y, path = chr(entry[0]), chr(entry[1]), entry[3:].decode("utf-8", "surrogateescape")
        if x in "RC":
            i += 1  # the original path follows
        if x == "?" and y == "?":
            keys.add((path, "?", False))
        elif x not in " !":
            keys.add((path, x, True))
        else:
            keys.add((path, y, False))
    return keys


def hfgit_status_keys(entries: Iterable[tuple[str, str, bool]]) -> set[StatusKey]:
    """`(path, kind, staged)` triples from `Repository.status()` as status keys."""
    return {(path, HFGIT_LETTERS.get(kind, kind), staged) for path, kind, staged in entries}


def _code(key: StatusKey | None) -> str:
    if key is None:
        return "-"
    return key[1] + ("*" if key[2] else "")


def status_differences(hfgit: set[StatusKey], git: set[StatusKey]) -> list[tuple[str, str]]:
    """`(path, "hfgit-code/git-code")` for every path the two sets disagree on."""
    by_path_h = {key[0]: key for key in hfgit}
    by_path_g = {key[0]: key for key in git}
    out = []
    for path in sorted(set(by_path_h) | set(by_path_g)):
        h, g = by_path_h.get(path), by_path_g.get(path)
        if h != g:
            out.append((path, f"{_code(h)}/{_code(g)}"))
    return out


# ---------------------------------------------------------------------- trees

TreeEntry = tuple[str, str]  # (mode, blob id)


def parse_ls_tree(output: bytes) -> dict[str, TreeEntry]:
    """`git ls-tree -r -z --full-tree HEAD` as path -> (mode, id)."""
    tree: dict[str, TreeEntry] = {}
    for record in output.split(b"\0"):
        if not record:
            continue
        meta, _, path = record.partition(b"\t")
        mode, _kind, oid = meta.decode().split(" ")
        tree[path.decode("utf-8", "surrogateescape")] = (mode, oid)
    return tree


def classify_blob_difference(hfgit_blob: bytes | None, git_blob: bytes | None) -> str:
    """Why two blobs at one path differ, in words that do not depend on the path or bytes."""
    if hfgit_blob is None or git_blob is None:
        return "blob-differs"
    hp, gp = parse_pointer(hfgit_blob), parse_pointer(git_blob)
    if hp is not None and hfgit_blob and gp is not None and git_blob:
        if hp.oid == hashlib.sha256(git_blob).hexdigest():
            return "hfgit-wrapped-a-pointer-in-a-pointer"
        if gp.oid == hashlib.sha256(hfgit_blob).hexdigest():
            return "git-wrapped-a-pointer-in-a-pointer"
        if not gp.canonical or not hp.canonical:
            return "pointer-encoding-differs"
        return "pointers-differ"
    if hp is not None and hfgit_blob and gp is None:
        if hp.oid == hashlib.sha256(git_blob).hexdigest():
            return "hfgit-lfs/git-plain"
        return "hfgit-pointer/git-other-blob"
    if gp is not None and git_blob and hp is None:
        if gp.oid == hashlib.sha256(hfgit_blob).hexdigest():
            return "hfgit-plain/git-lfs"
        return "hfgit-other-blob/git-pointer"
    return "blob-differs"


# ---------------------------------------------------------------------- checked-out files

FileState = tuple[str, ...]


def snapshot(root: Path, only: Iterable[str] | None = None) -> dict[str, FileState]:
    """Every file and symlink under `root` (outside `.git`), or only the paths in `only`:
    `("link", target)`, `("file", "x" or "-", sha256, size)`, or `("dir",)` / `("missing",)`
    for a listed path that is not a file."""
    if only is None:
        paths: list[str] = []
        for dirpath, dirnames, filenames in os.walk(root):
            rel_dir = os.path.relpath(dirpath, root)
            if rel_dir == ".":
                dirnames[:] = [d for d in dirnames if d != ".git"]
            links = [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]
            for name in filenames + links:
                paths.append(name if rel_dir == "." else f"{rel_dir}/{name}")
    else:
        paths = list(only)
    return {path: file_state(root / path) for path in paths}


def file_state(path: Path) -> FileState:
    try:
        info = path.lstat()
    except FileNotFoundError:
        return ("missing",)
    if stat.S_ISLNK(info.st_mode):
        return ("link", os.readlink(path))
    if stat.S_ISDIR(info.st_mode):
        return ("dir",)
    data = path.read_bytes()
    executable = "x" if info.st_mode & 0o100 else "-"
    return ("file", executable, hashlib.sha256(data).hexdigest(), str(len(data)))


def describe_file_difference(
    expected: FileState, actual: FileState, expected_bytes: bytes | None, actual_bytes: bytes | None
) -> str:
    """Why a checked-out file differs from what was expected, without its path."""
    if expected[0] != actual[0]:
        return f"{expected[0]}-became-{actual[0]}"
    if expected[0] == "link":
        return "link-target-differs"
    if expected[0] == "file" and expected[2:] == actual[2:]:
        return "exec-bit-differs"
    if expected_bytes is not None and actual_bytes is not None:
        actual_pointer = parse_pointer(actual_bytes) if actual_bytes else None
        expected_pointer = parse_pointer(expected_bytes) if expected_bytes else None
        if actual_pointer and actual_pointer.oid == hashlib.sha256(expected_bytes).hexdigest():
            if actual_pointer.size == 0:
                return "left-the-empty-pointer-text"
            return "left-the-pointer-text"
        if actual_pointer and actual_pointer.size == 0:
            return "left-the-empty-pointer-text"
        if expected_pointer and expected_pointer.oid == hashlib.sha256(actual_bytes).hexdigest():
            return "smudged-a-pointer-the-other-kept"
        if actual_bytes.replace(b"\r\n", b"\n") == expected_bytes.replace(b"\r\n", b"\n"):
            return "line-endings-differ"
    return "content-differs"
