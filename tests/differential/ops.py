"""Work-tree operations: what they are, how a seed generates them, how they are applied.

An action is an `Op`: a work-tree operation (write, append, truncate, delete, rename, chmod,
symlink, pointer, attributes, ignore) or a `commit`. Ops are plain data, printed as the Python
that rebuilds them, so a shrunk failure can be pasted into a test. Applying an op is total: an
op whose target is missing or blocked (a parent is a file or a symlink) does nothing, on both
sides alike, which is what lets the shrinker drop any op without breaking the ones after it.

Every file an op writes gets the same whole-second mtime on both sides, from a clock that
starts in 2020 and moves one second per op. Nothing the ops write is then "racily clean" for
git or libgit2 (which would make either re-read files depending on when its index was written),
and every rewrite changes the mtime, so neither side depends on nanosecond timestamps.
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
from dataclasses import dataclass, field
from pathlib import Path

GENERATOR_VERSION = 1
"""Bump when a seed stops generating the same actions (the known-seed list then needs a look)."""

MiB = 1024 * 1024
HUB_TEXT_LIMIT = 10 * MiB
HUB_BINARY_LIMIT = 1_000_000
SPEC_URL = "https://git-lfs.github.com/spec/v1"
EMPTY_OID = hashlib.sha256(b"").hexdigest()
CLOCK_START = 1_600_000_000
"""The fake clock's first second (2020-09-13): far from any index write during a run."""

WORDS = [
    "the", "model", "weights", "layer", "token", "batch", "loss", "step", "epoch", "config",
    "value", "naïve", "données", "模型", "ü", "ß",
]  # fmt: skip


# ---------------------------------------------------------------------- contents


@dataclass(frozen=True)
class Content:
    """A recipe for file content, deterministic from (kind, size, seed, nul_at).

    kinds: text, crlf (text with CRLF line ends), binary (random, a NUL at `nul_at`), empty,
    pointerish (starts like an LFS pointer but is not one), big_text (no NUL), big_binary
    (no NUL except at `nul_at`, if it is inside the file).
    """

    kind: str
    size: int
    seed: int
    nul_at: int = 0

    def data(self) -> bytes:
        rng = random.Random(self.seed)
        if self.kind == "empty" or (self.size == 0 and self.kind != "pointerish"):
            return b""
        if self.kind in ("text", "crlf"):
            newline = "\r\n" if self.kind == "crlf" else "\n"
            parts: list[str] = []
            length = 0
            while length < self.size:
                line = " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 9))) + newline
                parts.append(line)
                length += len(line.encode())
            return "".join(parts).encode()[: self.size]
        if self.kind == "binary":
            data = bytearray(rng.randbytes(self.size))
            data[min(self.nul_at, self.size - 1)] = 0
            return bytes(data)
        if self.kind == "pointerish":
            broken = rng.choice(
                [
                    f"oid sha256:{rng.randbytes(32).hex()}\n",  # no size line
                    f"oid sha256:{rng.randbytes(32).hex().upper()}\nsize 12\n",  # uppercase
                    f"oid md5:{rng.randbytes(16).hex()}\nsize 12\n",  # wrong hash
                    f"size 12\noid sha256:{rng.randbytes(32).hex()}\n",  # wrong order
                    f"oid sha256:{rng.randbytes(32).hex()}\nsize 12\nextra line\n",
                ]
            )
            return f"version {SPEC_URL}\n{broken}".encode()
        if self.kind == "big_text":
            row = f"{self.seed:08d} the quick brown fox jumps over the lazy dog\n".encode()
            return (row * (self.size // len(row) + 1))[: self.size]
        if self.kind == "big_binary":
            block = bytes(range(1, 256)) + self.seed.to_bytes(8, "little").replace(b"\0", b"\1")
            data = bytearray((block * (self.size // len(block) + 1))[: self.size])
            if self.nul_at < self.size:
                data[self.nul_at] = 0
            return bytes(data)
        raise ValueError(f"unknown content kind {self.kind!r}")

    def __repr__(self) -> str:
        nul = f", nul_at={self.nul_at}" if self.nul_at else ""
        return f"Content({self.kind!r}, {self.size}, {self.seed}{nul})"


def pointer_text(data: bytes, variant: str) -> bytes:
    """The text of an LFS pointer to `data`, in one of the encodings git-lfs accepts.

    canonical: what `git lfs clean` writes; crlf: the same with CRLF line ends; no_newline:
    without the last LF; ext: with an `ext-0-gzip` line before `oid`; empty: the canonical text
    of the empty file's pointer (size 0), which git-lfs itself never writes (it writes nothing).
    """
    oid, size = hashlib.sha256(data).hexdigest(), len(data)
    if variant == "empty":
        oid, size = EMPTY_OID, 0
    text = f"version {SPEC_URL}\noid sha256:{oid}\nsize {size}\n"
    if variant == "crlf":
        text = text.replace("\n", "\r\n")
    elif variant == "no_newline":
        text = text[:-1]
    elif variant == "ext":
        text = text.replace("\noid ", f"\next-0-gzip sha256:{oid}\noid ", 1)
    elif variant not in ("canonical", "empty"):
        raise ValueError(f"unknown pointer variant {variant!r}")
    return text.encode()


# ---------------------------------------------------------------------- operations


@dataclass(frozen=True)
class Op:
    """One action. `path` is relative to the work tree, `/`-separated.

    write(path, content) · append(path, content) · truncate(path) · touch(path) (new mtime,
    same bytes) · delete(path) (a file, link
    or whole directory) · rename(path -> arg) · chmod(path, executable) · symlink(path -> arg) ·
    pointer(path, content, arg=variant): write an LFS pointer to `content` and put the object
    in the local LFS store, as a user copying a pointer from another clone would have it ·
    attributes(path, arg): append lines to a `.gitattributes` · ignore(path, arg): append lines
    to a `.gitignore` · commit(paths): `git add -A [-- paths] && git commit`.
    """

    kind: str
    path: str = ""
    arg: str = ""
    content: Content | None = None
    paths: tuple[str, ...] | None = None
    executable: bool = False

    def __repr__(self) -> str:
        parts = [repr(self.kind)]
        if self.path:
            parts.append(repr(self.path))
        if self.arg:
            parts.append(f"arg={self.arg!r}")
        if self.content is not None:
            parts.append(f"content={self.content!r}")
        if self.paths is not None:
            parts.append(f"paths={self.paths!r}")
        if self.executable:
            parts.append("executable=True")
        return f"Op({', '.join(parts)})"

    @property
    def label(self) -> str:
        """The kind of operation, finer than `kind`, for the run's statistics."""
        if self.kind == "write" and self.content is not None:
            return f"write:{self.content.kind}"
        if self.kind == "pointer":
            return f"pointer:{self.arg}"
        if self.kind == "rename" and self.path.lower() == self.arg.lower():
            return "rename:case-only"
        if self.kind == "chmod":
            return "chmod:+x" if self.executable else "chmod:-x"
        if self.kind == "commit":
            return "commit:paths" if self.paths is not None else "commit:all"
        return self.kind


# ---------------------------------------------------------------------- applying


def mtime_for(index: int) -> int:
    """The fake clock's reading for the action at `index`."""
    return CLOCK_START + 2 * index


def blocked(root: Path, rel: str) -> bool:
    """Whether `rel` cannot be written: inside `.git`, or a parent is a file or a symlink."""
    parts = rel.split("/")
    if not rel or ".git" in parts or any(part in ("", ".", "..") for part in parts):
        return True
    current = root
    for part in parts[:-1]:
        current = current / part
        if current.is_symlink() or (current.exists() and not current.is_dir()):
            return True
    return False


def _settle(path: Path, mtime: int) -> None:
    os.utime(path, (mtime, mtime), follow_symlinks=False)


def _is_regular(path: Path) -> bool:
    return path.is_file() and not path.is_symlink()


def _write(root: Path, rel: str, data: bytes, mtime: int) -> bool:
    target = root / rel
    if blocked(root, rel) or (target.is_dir() and not target.is_symlink()):
        return False
    if target.is_symlink():
        target.unlink()
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "wb") as f:
        f.write(data)
    _settle(target, mtime)
    return True


def _append_lines(root: Path, rel: str, lines: str, mtime: int) -> bool:
    target = root / rel
    if blocked(root, rel) or (target.exists() and not _is_regular(target)):
        return False
    old = target.read_bytes() if target.exists() else b""
    glue = b"\n" if old and not old.endswith(b"\n") else b""
    return _write(root, rel, old + glue + lines.encode(), mtime)


def store_lfs_object(root: Path, data: bytes) -> None:
    """Put `data` into the clone's `.git/lfs/objects`, where git-lfs and hfgit both keep it."""
    oid = hashlib.sha256(data).hexdigest()
    target = root / ".git" / "lfs" / "objects" / oid[:2] / oid[2:4] / oid
    if data and not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(oid + ".tmp")
        tmp.write_bytes(data)
        tmp.replace(target)


def apply(op: Op, root: Path, mtime: int) -> bool:
    """Apply a work-tree op to the clone at `root`; False when it did nothing."""
    target = root / op.path
    kind = op.kind
    if kind == "write":
        assert op.content is not None
        return _write(root, op.path, op.content.data(), mtime)
    if kind == "append":
        assert op.content is not None
        if target.is_symlink() or (target.exists() and not target.is_file()):
            return False
        old = target.read_bytes() if target.exists() else b""
        return _write(root, op.path, old + op.content.data(), mtime)
    if kind == "truncate":
        return _is_regular(target) and _write(root, op.path, b"", mtime)
    if kind == "touch":
        if blocked(root, op.path) or not (target.is_symlink() or target.is_file()):
            return False
        _settle(target, mtime)
        return True
    if kind == "delete":
        if blocked(root, op.path):
            return False
        if target.is_symlink() or target.is_file():
            target.unlink()
            return True
        if target.is_dir():
            shutil.rmtree(target)
            return True
        return False
    if kind == "rename":
        destination = root / op.arg
        if blocked(root, op.path) or blocked(root, op.arg) or op.path == op.arg:
            return False
        if not (target.is_symlink() or target.is_file()):
            return False
        if destination.is_dir() and not destination.is_symlink():
            return False
        destination.parent.mkdir(parents=True, exist_ok=True)
        os.replace(target, destination)
        return True
    if kind == "chmod":
        if blocked(root, op.path) or not _is_regular(target):
            return False
        target.chmod(0o755 if op.executable else 0o644)
        return True
    if kind == "symlink":
        if blocked(root, op.path) or (target.is_dir() and not target.is_symlink()):
            return False
        if target.is_symlink() or target.exists():
            target.unlink()
        target.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(op.arg, target)
        _settle(target, mtime)
        return True
    if kind == "pointer":
        assert op.content is not None
        data = op.content.data()
        if not _write(root, op.path, pointer_text(data, op.arg), mtime):
            return False
        if op.arg != "empty":
            store_lfs_object(root, data)
        return True
    if kind in ("attributes", "ignore"):
        return _append_lines(root, op.path, op.arg, mtime)
    raise ValueError(f"not a work-tree op: {op!r}")


# ---------------------------------------------------------------------- generating

DIRS = ["", "", "", "sub", "sub/deep", "data", "données", "模型/权重", "[x]", "sp ace",
        "saved_model/v1", "Sub", "ignored"]  # fmt: skip
NAMES = [
    "a.txt", "b.txt", "model.bin", "weights.safetensors", "config.json", "README.md",
    "file[1].txt", "file1.txt", "file[1].bin", "file1.bin", "w*.bin", "wx.bin", "q?.dat",
    "qq.dat", "#hash.bin", "!bang.bin", "naïve.bin", "日本語.txt", "space name.bin",
    "UPPER.BIN", "upper.bin", "events.out.tfevents.1", "x.dat", "y.dat", "noext", ".hidden",
    "run.sh", "train.log", "keep.log", "top.tmp", "a.pt", "archive.tar.gz", "-dash.bin",
    "back\\slash.bin", "tab\there.bin", "Model.bin", "x.BIN",
]  # fmt: skip
LFS = "filter=lfs diff=lfs merge=lfs -text"
ATTRIBUTE_LINES = [
    f"*.txt {LFS}", "*.bin -filter", "*.bin !filter", "*.bin -filter -diff -merge text",
    "* -filter", "* !filter !diff !merge", f"*.dat {LFS}", f"deep/** {LFS}", "x.dat -filter",
    f"[ab].txt {LFS}", "*.json filter=lfs -text", f"/a.txt {LFS}", f"**/*.md {LFS}",
    f"file\\[1\\].txt {LFS}", f"file[1].txt {LFS}", f"*.BIN {LFS}",
    "space[[:space:]]name.bin -filter", f'"space name.bin" {LFS}', "*.safetensors -filter",
    f"noext {LFS}", "# a comment",
    "*.txt filter=lfs", "*.dat filter=other", f"*.log {LFS}", f"!bang.bin {LFS}",
    f"\\#hash.bin {LFS}", f"*.tfevents.* {LFS}", f"sub/*.txt {LFS}", "*.pt -filter",
]  # fmt: skip
ROOT_ONLY_LINES = ["[attr]big filter=lfs diff=lfs merge=lfs -text", "*.dat big", "*.txt big"]
EOL_LINES = ["*.txt text eol=crlf", "*.txt text eol=lf", "*.md text", "*.txt -text", "* text=auto"]
IGNORE_LINES = ["*.log", "ignored/", "!keep.log", "/top.tmp", "*.tmp", "sub/*.dat", "**/deep"]
POINTER_VARIANTS = ["canonical"] * 5 + ["crlf"] * 2 + ["empty"] * 2 + ["no_newline", "ext"]


@dataclass
class _Entry:
    link: bool
    content: Content | None


@dataclass
class _Model:
    """What the generator believes the work tree holds (apply() has the last word)."""

    entries: dict[str, _Entry] = field(default_factory=dict)
    touched: set[str] = field(default_factory=set)
    big_done: bool = False

    def files(self) -> list[str]:
        return sorted(p for p, e in self.entries.items() if not e.link)

    def paths(self) -> list[str]:
        return sorted(self.entries)

    def update(self, op: Op) -> None:
        self.touched.add(op.path)
        if op.kind in ("write", "pointer"):
            content = op.content if op.kind == "write" else None
            self.entries[op.path] = _Entry(False, content)
        elif op.kind == "append":
            self.entries[op.path] = _Entry(False, None)
        elif op.kind == "truncate" and op.path in self.entries:
            self.entries[op.path] = _Entry(False, Content("empty", 0, 0))
        elif op.kind == "delete":
            for path in [p for p in self.entries if p == op.path or p.startswith(op.path + "/")]:
                del self.entries[path]
                self.touched.add(path)
        elif op.kind == "rename" and op.path in self.entries:
            self.entries[op.arg] = self.entries.pop(op.path)
            self.touched.add(op.arg)
        elif op.kind == "symlink":
            self.entries[op.path] = _Entry(True, None)


def _new_path(rng: random.Random, names: list[str]) -> str:
    directory = rng.choice(DIRS)
    name = rng.choice(names)
    return f"{directory}/{name}" if directory else name


def _content(rng: random.Random, model: _Model) -> Content:
    roll = rng.random()
    known = [e.content for e in model.entries.values() if e.content is not None]
    if roll < 0.12 and known:
        return rng.choice(known)  # the same bytes under another name
    seed = rng.randrange(1 << 30)
    if roll < 0.50:
        return Content("text", rng.choice([1, 7, 60, 500, 3000]), seed)
    if roll < 0.68:
        return Content("binary", rng.choice([1, 40, 900, 5000]), seed, rng.choice([0, 3, 30]))
    if roll < 0.78:
        return Content("crlf", rng.choice([10, 300]), seed)
    if roll < 0.92:
        return Content("empty", 0, 0)
    return Content("pointerish", 0, seed)


def _big_content(rng: random.Random) -> Content:
    seed = rng.randrange(1 << 30)
    return rng.choice(
        [
            Content("big_text", HUB_TEXT_LIMIT - 1, seed),
            Content("big_text", HUB_TEXT_LIMIT, seed),
            Content("big_binary", HUB_BINARY_LIMIT, seed),
            Content("big_binary", HUB_BINARY_LIMIT + 1, seed),
            Content("big_binary", HUB_BINARY_LIMIT + 1, seed, nul_at=9000),  # NUL past the sniff
        ]
    )


def _case_swapped(rng: random.Random, path: str) -> str:
    head, _, name = path.rpartition("/")
    letters = [i for i, c in enumerate(name) if c.isalpha() and c.swapcase() != c]
    if not letters:
        return path
    i = rng.choice(letters)
    name = name[:i] + name[i].swapcase() + name[i + 1 :]
    return f"{head}/{name}" if head else name


def _existing(rng: random.Random, candidates: list[str]) -> str | None:
    return rng.choice(candidates) if candidates else None


def _random_op(rng: random.Random, model: _Model, allow_big: bool, names: list[str]) -> Op:
    kinds = {
        "write_new": 18, "overwrite": 12, "append": 7, "truncate": 4, "touch": 4, "delete": 7,
        "delete_dir": 1, "rename": 7, "rename_case": 3, "chmod": 6, "symlink": 5,
        "pointer": 9, "attributes": 6, "eol": 1, "ignore": 2, "big": 3 if allow_big else 0,
    }  # fmt: skip
    choice = rng.choices(list(kinds), weights=list(kinds.values()))[0]
    files, paths = model.files(), model.paths()
    if choice == "big" and not model.big_done:
        model.big_done = True
        return Op("write", _new_path(rng, names), content=_big_content(rng))
    if choice == "overwrite" and files:
        return Op("write", rng.choice(files), content=_content(rng, model))
    if choice == "append" and files:
        seed = rng.randrange(1 << 30)
        kind = rng.choice(["text", "text", "binary", "crlf"])
        content = Content(kind, rng.choice([1, 30, 400]), seed, 0)
        return Op("append", rng.choice(files), content=content)
    if choice == "truncate" and files:
        return Op("truncate", rng.choice(files))
    if choice == "touch" and paths:
        return Op("touch", rng.choice(paths))
    if choice == "delete" and paths:
        return Op("delete", rng.choice(paths))
    if choice == "delete_dir":
        dirs = sorted({p.rsplit("/", 1)[0] for p in paths if "/" in p})
        if dirs:
            return Op("delete", rng.choice(dirs))
    if choice == "rename" and paths:
        source = rng.choice(paths)
        target = _new_path(rng, names) if rng.random() < 0.7 else rng.choice(paths)
        return Op("rename", source, arg=target)
    if choice == "rename_case" and paths:
        source = rng.choice(paths)
        swapped = _case_swapped(rng, source)
        if swapped != source:
            return Op("rename", source, arg=swapped)
    if choice == "chmod" and files:
        return Op("chmod", rng.choice(files), executable=rng.random() < 0.7)
    if choice == "symlink":
        path = _new_path(rng, names) if rng.random() < 0.6 or not paths else rng.choice(paths)
        depth = path.count("/")
        up = "../" * depth
        targets = [up + p for p in paths] + [up + d for d in DIRS if d] + ["missing.bin", "/abs/x"]
        return Op("symlink", path, arg=rng.choice(targets))
    if choice == "pointer":
        known = [e.content for e in model.entries.values() if e.content is not None]
        if known and rng.random() < 0.6:
            content = rng.choice(known)
        else:
            kind = rng.choice(["text", "binary"])
            size, seed = rng.choice([5, 700, 4000]), rng.randrange(1 << 30)
            content = Content(kind, size, seed, 1 if kind == "binary" else 0)
        path = rng.choice(files) if files and rng.random() < 0.3 else _new_path(rng, names)
        return Op("pointer", path, arg=rng.choice(POINTER_VARIANTS), content=content)
    if choice in ("attributes", "eol"):
        directory = rng.choice(DIRS)
        pool = ATTRIBUTE_LINES if choice == "attributes" else EOL_LINES
        if not directory and choice == "attributes":
            pool = pool + ROOT_ONLY_LINES
        lines = "".join(line + "\n" for line in rng.sample(pool, rng.randint(1, 3)))
        path = f"{directory}/.gitattributes" if directory else ".gitattributes"
        return Op("attributes", path, arg=lines)
    if choice == "ignore":
        directory = rng.choice(["", "", "sub"])
        lines = "".join(line + "\n" for line in rng.sample(IGNORE_LINES, rng.randint(1, 2)))
        return Op("ignore", f"{directory}/.gitignore" if directory else ".gitignore", arg=lines)
    return Op("write", _new_path(rng, names), content=_content(rng, model))


def _random_commit(rng: random.Random, model: _Model) -> Op:
    touched = sorted(model.touched)
    model.touched = set()
    if not touched or rng.random() < 0.65:
        return Op("commit")
    chosen = set(rng.sample(touched, rng.randint(1, len(touched))))
    if rng.random() < 0.2:
        # A directory stands for everything under it.
        parents = sorted({p.rsplit("/", 1)[0] for p in touched if "/" in p})
        if parents:
            chosen.add(rng.choice(parents))
    unchosen = set(touched) - chosen
    model.touched = unchosen
    return Op("commit", paths=tuple(sorted(chosen)))


def generate_actions(
    seed: int, *, max_commits: int = 4, allow_big: bool = True, avoid: tuple[str, ...] = ()
) -> list[Op]:
    """The actions of case `seed`: a few steps of 1-7 ops, each step ending in a commit.

    `avoid`: leave out file names containing any of these strings (to hunt past a known bug;
    the same seed then generates other actions)."""
    rng = random.Random(f"hfgit-differential-{GENERATOR_VERSION}-{seed}")
    names = [name for name in NAMES if not any(part in name for part in avoid)]
    model = _Model()
    actions: list[Op] = []
    for _ in range(rng.randint(1, max_commits)):
        for _ in range(rng.randint(1, 7)):
            op = _random_op(rng, model, allow_big, names)
            model.update(op)
            actions.append(op)
        actions.append(_random_commit(rng, model))
    if rng.random() < 0.25:  # changes left uncommitted: only status sees them
        for _ in range(rng.randint(1, 3)):
            op = _random_op(rng, model, False, names)
            model.update(op)
            actions.append(op)
    return actions
