#!/usr/bin/env python3
"""Replay the `gitattributes` fuzz corpus against real `git check-attr` (and libgit2).

The fuzz target, run with HFGIT_FUZZ_DUMP=1 on a list of inputs, prints for every input and
every path it asks about what hfgit's AttributeRules answers and what libgit2 answers (see the
`dump` module in fuzz_targets/gitattributes.rs). This script lays the same `.gitattributes`
files out in a throwaway repository, asks `git check-attr` about the same paths, and reports
every disagreement:

- hfgit `is_lfs(path)`            vs  git's `filter` == `lfs`
- hfgit `leaves_unset(path, n)`   vs  git's `n` is `unspecified` or `unset`
  for n in filter, text, eol, crlf, ident, diff
- libgit2's state of each n        vs  git's (libgit2 is what hfgit falls back to)
- `track_line(path)` appended to the top-level file  vs  git's `filter` == `lfs` for the path

Differences with a known cause are counted separately rather than mixed in with the rest: a NUL
byte inside a line (git's C string ends there), a line of 2048 bytes or more (git ignores it
since 2.39.1; this includes a `track_line` for a long path), and values spelled `set`, `unset`
or `unspecified` (which `git check-attr` prints like the states of those names), and git's
builtin `binary` macro for `text`/`diff` (hfgit then says "set" where git says "unset", the safe
side for `stores_bytes_unchanged`). These are real differences from git, just not new ones.

Usage (after `cargo fuzz run gitattributes` has built the target and filled the corpus):

    python3 fuzz/replay_against_git.py [--bin PATH] [--show N] [CORPUS_DIR_OR_FILE ...]

Defaults: the release build of the target under fuzz/target/, and fuzz/corpus/gitattributes
plus fuzz/seeds/gitattributes. Exit status 1 when an unexplained hfgit-vs-git mismatch was found.
"""

from __future__ import annotations

import argparse
import collections
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
NAMES = ["filter", "text", "eol", "crlf", "ident", "diff"]
DIRS = ["", "sub", "sub/deeper"]
GIT_LINE_LIMIT = 2048  # ATTR_MAX_LINE_LENGTH in git's attr.c
BATCH = 400


def unhex(field: str) -> str | None:
    if field == "-":
        return None
    if field == "=":
        return ""
    return bytes.fromhex(field).decode("utf-8")


def default_bin() -> Path:
    for triple in ("x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu"):
        candidate = HERE / "target" / triple / "release" / "gitattributes"
        if candidate.exists():
            return candidate
    sys.exit("no fuzz build found; run `RUSTC_BOOTSTRAP=1 cargo fuzz build gitattributes` first")


def isolated_env(home: Path) -> dict[str, str]:
    """No user, system or XDG git configuration or attributes files, for git and libgit2."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    (home / "xdg").mkdir(exist_ok=True)
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / "xdg"),
        GIT_CONFIG_NOSYSTEM="1",
        GIT_ATTR_NOSYSTEM="1",
        TMPDIR=str(home),
        LC_ALL="C",
    )
    return env


def dump(binary: Path, inputs: list[Path], env: dict[str, str]) -> list[list[str]]:
    """Run the target over the inputs in dump mode and collect the HFGIT-DUMP records."""
    records = []
    env = dict(env, HFGIT_FUZZ_DUMP="1")
    for start in range(0, len(inputs), BATCH):
        batch = [str(p) for p in inputs[start : start + BATCH]]
        proc = subprocess.run(
            [str(binary), "-runs=1", *batch],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            check=False,
        )
        if proc.returncode != 0:
            sys.stderr.write(proc.stderr.decode(errors="replace")[-4000:])
            sys.exit(f"the fuzz target failed (exit {proc.returncode}) on a corpus input")
        for line in proc.stdout.decode().splitlines():
            if line.startswith("HFGIT-DUMP "):
                records.append(line.split(" ")[1:])
    return records


def git_states(repo: Path, files: list[tuple[str, str]], paths: list[str], env) -> dict:
    """`git check-attr` for `paths`, with exactly `files` as the work tree's .gitattributes."""
    if not (repo / ".git").exists():
        repo.mkdir(parents=True, exist_ok=True)
        subprocess.run(["git", "init", "-q", str(repo)], env=env, check=True)
    present = dict(files)
    for directory in DIRS:
        attributes = repo / directory / ".gitattributes"
        if directory in present:
            attributes.parent.mkdir(parents=True, exist_ok=True)
            attributes.write_bytes(present[directory].encode("utf-8"))
        elif attributes.exists():
            attributes.unlink()
    proc = subprocess.run(
        ["git", "check-attr", "--stdin", "-z", *NAMES],
        cwd=repo,
        env=env,
        input=b"".join(p.encode("utf-8") + b"\0" for p in paths),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        check=True,
    )
    fields = proc.stdout.split(b"\0")
    states: dict[str, dict[str, str]] = collections.defaultdict(dict)
    for i in range(0, len(fields) - 2, 3):
        path, name, value = (f.decode("utf-8", "replace") for f in fields[i : i + 3])
        states[path][name] = value
    return states


def git_path_ok(path: str) -> bool:
    """A path git check-attr takes as is (the fuzz target asks about any string)."""
    parts = path.split("/")
    return (
        path != ""
        and "\0" not in path
        and all(p not in ("", ".", "..") and p.lower() != ".git" for p in parts)
    )


def libgit2_to_git(state: str) -> str:
    return {"u": "unspecified", "t": "set", "f": "unset"}.get(state) or unhex(state[1:]) or ""


def explain(
    files: list[tuple[str, str]], git: dict[str, str], track: str | None = None, kind: str = ""
) -> str | None:
    """The known git behaviour hfgit does not model that explains a mismatch, or None."""
    kind_is_conversion = kind in ("leaves_unset(text)", "leaves_unset(diff)")
    if track is not None and len(track.encode()) >= GIT_LINE_LIMIT:
        return f"the track line itself is {GIT_LINE_LIMIT}+ bytes (git ignores it)"
    for _, body in files:
        if "\0" in body:
            return "NUL inside a line (git's line ends there)"
        if any(len(line.encode()) >= GIT_LINE_LIMIT for line in body.split("\n")):
            return f"line of {GIT_LINE_LIMIT}+ bytes (git ignores it)"
    if kind_is_conversion and any("binary" in body for _, body in files):
        return "git's builtin `binary` macro (-diff -merge -text) is not modelled (hfgit errs to 'set')"
    if any(v in ("set", "unset", "unspecified") for v in git.values()):
        for _, body in files:
            if any(f"={v}" in body for v in ("set", "unset", "unspecified")):
                return "value spelled like a state"
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("inputs", nargs="*", type=Path)
    parser.add_argument("--bin", type=Path, default=None)
    parser.add_argument("--show", type=int, default=10, help="mismatches to print per kind")
    args = parser.parse_args()
    binary = args.bin or default_bin()
    sources = args.inputs or [HERE / "corpus" / "gitattributes", HERE / "seeds" / "gitattributes"]
    inputs = sorted(
        {p for s in sources for p in ([s] if s.is_file() else s.iterdir() if s.is_dir() else [])}
    )
    print(f"git: {subprocess.run(['git', '--version'], capture_output=True, text=True).stdout.strip()}")
    print(f"inputs: {len(inputs)} from {', '.join(str(s) for s in sources)}")

    with tempfile.TemporaryDirectory(prefix="hfgit-replay-") as tmp:
        tmp = Path(tmp)
        env = isolated_env(tmp)
        records = dump(binary, inputs, env)
        print(f"dump records (input x asked path): {len(records)}")

        groups: dict[tuple, list[tuple[str, str, str, str]]] = collections.defaultdict(list)
        for root, sub, deeper, path, track, rust, libgit2 in records:
            groups[(root, sub, deeper)].append((unhex(path), track, rust, libgit2))

        counts = collections.Counter()
        examples: dict[str, list[str]] = collections.defaultdict(list)
        explained = collections.Counter()

        def report(kind: str, files, path: str, detail: str, git_row: dict, track=None):
            reason = explain(files, git_row, track, kind)
            if reason:
                explained[f"{kind}: {reason}"] += 1
                return
            counts[kind] += 1
            if len(examples[kind]) < args.show:
                shown = "; ".join(f"{d or '.'}/.gitattributes={b!r}" for d, b in files)
                examples[kind].append(f"path={path!r} {detail}\n      files: {shown}")

        repo = tmp / "repo"
        for key, rows in groups.items():
            files = [(d, unhex(b)) for d, b in zip(DIRS, key) if unhex(b) is not None]
            rows = [r for r in rows if git_path_ok(r[0])]
            if not rows:
                continue
            git = git_states(repo, files, sorted({r[0] for r in rows}), env)
            for path, track, rust, libgit2 in rows:
                counts["compared"] += 1
                g = git[path]
                git_lfs = g.get("filter") == "lfs"
                if (rust[0] == "1") != git_lfs:
                    report("is_lfs", files, path, f"hfgit={rust[0] == '1'} git filter={g.get('filter')}", g)
                for i, name in enumerate(NAMES):
                    git_unset = g.get(name) in ("unspecified", "unset")
                    if (rust[1 + i] == "1") != git_unset:
                        report(f"leaves_unset({name})", files, path,
                               f"hfgit={rust[1 + i] == '1'} git {name}={g.get(name)}", g)
                if libgit2 != "E":
                    for name, state in zip(NAMES, libgit2.split(",")):
                        if libgit2_to_git(state) != g.get(name):
                            report(f"libgit2 {name}", files, path,
                                   f"libgit2={libgit2_to_git(state)} git={g.get(name)}", g)
            # track_line(path) appended to the top-level file must make git see filter=lfs.
            root = next((b for d, b in files if d == ""), "")
            if root and not root.endswith("\n"):
                root += "\n"
            tracked = [(p, unhex(t)) for p, t, _, _ in rows if t != "-"]
            for path, line in tracked:
                counts["track_line compared"] += 1
                tg = git_states(repo, [("", root + line + "\n")], [path], env)[path]
                if tg.get("filter") != "lfs":
                    report("track_line", [("", root + line + "\n")], path,
                           f"line={line!r} git filter={tg.get('filter')}", tg, line)

    print(f"paths compared: {counts.pop('compared', 0)}, "
          f"track_line cases: {counts.pop('track_line compared', 0)}")
    for kind, n in sorted(explained.items()):
        print(f"known divergence (not failing)  {kind}: {n}")
    failed = False
    for kind, n in sorted(counts.items()):
        print(f"MISMATCH {kind}: {n}")
        for example in examples[kind]:
            print(f"    {example}")
        failed |= not kind.startswith("libgit2")
    if not counts:
        print("no unexplained mismatches")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
