"""Long mode: run many seeded cases, shrink each new kind of failure, print a summary.

    python -m tests.differential.runner --cases 500 --seed 1000 [--minutes 10] [--keep]

Run from the repository root. Seeds `seed .. seed+cases-1` run in order (stopping early when
`--minutes` is up); a failing seed is printed and can go into KNOWN_SEEDS in
tests/test_lfs_differential.py. The first case of each new failure signature is shrunk
greedily (drop chunks, then single actions, while the same failure remains) and printed as the
list of `Op`s that reproduces it (`engine.run_case(hub, git, actions, dir)`). `--keep` leaves
the work trees of failing cases in the scratch directory for inspection.

HOME, git config and HF_* variables are replaced by throwaway ones before hfgit is imported, so
the run reads no configuration or token from the machine it runs on.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .engine import CaseResult, Failure, GitCli, run_case
from .ops import GENERATOR_VERSION, Op, generate_actions

if TYPE_CHECKING:
    from hfgit.testing import LocalHub

CROSS_CHECK_KINDS = ("push", "clone", "clone-status", "git-status-of-hfgit-tree")


def isolate_environment(scratch: Path) -> None:
    """What tests/conftest.py does for pytest: a throwaway HOME for hfgit's libgit2."""
    home = scratch / "hfgit-home"
    home.mkdir(parents=True, exist_ok=True)
    (home / ".gitconfig").write_text(
        "[user]\n\tname = Test User\n\temail = test@example.com\n[init]\n\tdefaultBranch = main\n",
        encoding="utf-8",
    )
    for name in list(os.environ):
        if name.startswith(("HF_", "GIT_")) or name in ("HUGGING_FACE_HUB_TOKEN",):
            del os.environ[name]
    os.environ.update(
        HOME=str(home),
        GIT_CONFIG_NOSYSTEM="1",
        GIT_TERMINAL_PROMPT="0",
        HF_HOME=str(scratch / "hf-home"),
        HF_HUB_DISABLE_PROGRESS_BARS="1",
    )


# ---------------------------------------------------------------------- shrinking


def _items(signature: str) -> tuple[str, set[str]]:
    head, _, tail = signature.rpartition(": ")
    return head, {item.strip() for item in tail.split(",")}


def same_failure(original: Failure, candidate: Failure | None) -> bool:
    """The candidate shows (part of) the original failure and nothing else."""
    if candidate is None or candidate.kind != original.kind:
        return False
    head, items = _items(original.signature)
    head_c, items_c = _items(candidate.signature)
    return head == head_c and bool(items_c) and items_c <= items


def shrink(
    run: Callable[[Sequence[Op]], CaseResult],
    actions: Sequence[Op],
    failure: Failure,
    budget_seconds: float,
) -> tuple[list[Op], Failure, int]:
    """Greedy delta debugging: drop chunks of actions, then single ones, while it still fails.
    Returns the smallest list found, its failure, and how many runs that took."""
    deadline = time.monotonic() + budget_seconds
    current, current_failure, runs = list(actions), failure, 0
    # Nothing after the failing action matters (the final phase counts as "after").
    if 0 <= failure.action < len(current) - 1:
        candidate = current[: failure.action + 1]
        result = run(candidate)
        runs += 1
        if same_failure(failure, result.failure):
            current, current_failure = candidate, result.failure or failure
    chunk = max(1, len(current) // 2)
    while chunk >= 1 and time.monotonic() < deadline:
        changed = False
        i = len(current) - chunk
        while i >= 0 and time.monotonic() < deadline:
            candidate = current[:i] + current[i + chunk :]
            if candidate:
                result = run(candidate)
                runs += 1
                if same_failure(failure, result.failure):
                    current, current_failure, changed = candidate, result.failure or failure, True
            i -= chunk
        if not changed:
            chunk //= 2
    return current, current_failure, runs


# ---------------------------------------------------------------------- the run


@dataclass
class Group:
    signature: str
    seeds: list[int] = field(default_factory=list)
    minimal: list[Op] | None = None
    minimal_failure: Failure | None = None
    first_failure: Failure | None = None
    shrink_runs: int = 0


@dataclass
class Summary:
    first_seed: int
    cases: int = 0
    seconds: float = 0.0
    applied: Counter[str] = field(default_factory=Counter)
    commits_compared: int = 0
    status_compared: int = 0
    cross_checked: int = 0
    notes: Counter[str] = field(default_factory=Counter)
    groups: dict[str, Group] = field(default_factory=dict)
    slowest: tuple[float, int] = (0.0, -1)

    def record(self, seed: int, result: CaseResult) -> Group | None:
        self.cases += 1
        self.applied.update(result.applied)
        self.commits_compared += result.commits_compared
        self.status_compared += result.status_compared
        self.notes.update(result.notes)
        self.slowest = max(self.slowest, (result.seconds, seed))
        if result.failure is None:
            self.cross_checked += 1
            return None
        signature = result.failure.signature
        group = self.groups.get(signature)
        new = group is None
        if group is None:
            group = self.groups[signature] = Group(signature, first_failure=result.failure)
        group.seeds.append(seed)
        return group if new else None

    def render(self) -> str:
        out = [
            f"hfgit differential run (generator v{GENERATOR_VERSION}): seeds "
            f"{self.first_seed}..{self.first_seed + self.cases - 1}, {self.cases} cases in "
            f"{self.seconds:.0f} s ({self.seconds / max(self.cases, 1):.2f} s/case; slowest "
            f"{self.slowest[0]:.1f} s, seed {self.slowest[1]})",
            f"operations applied ({sum(self.applied.values())}):",
        ]
        for label, count in sorted(self.applied.items(), key=lambda kv: (-kv[1], kv[0])):
            out.append(f"  {label:24} {count}")
        out.append(
            f"commits compared: {self.commits_compared}; status comparisons: "
            f"{self.status_compared}; cases that passed every check incl. push/clone: "
            f"{self.cross_checked}"
        )
        for note, count in sorted(self.notes.items()):
            out.append(f"note: {note}: {count} cases")
        failing = sum(len(g.seeds) for g in self.groups.values())
        out.append(f"failures: {failing} cases, {len(self.groups)} signatures")
        for group in sorted(self.groups.values(), key=lambda g: -len(g.seeds)):
            seeds = ", ".join(map(str, group.seeds[:12]))
            seeds += " ..." if len(group.seeds) > 12 else ""
            out.append(f"\n  [{group.signature}] {len(group.seeds)} cases; seeds {seeds}")
            if group.minimal is not None and group.minimal_failure is not None:
                out.append(
                    f"  minimal reproduction ({len(group.minimal)} actions, from seed "
                    f"{group.seeds[0]}, {group.shrink_runs} shrink runs): "
                    f"[{group.minimal_failure.signature}]"
                )
                out.extend(f"      {op!r}," for op in group.minimal)
                out.extend(_excerpt(group.minimal_failure))
            elif group.first_failure is not None:
                out.extend(_excerpt(group.first_failure))
        return "\n".join(out)


def _excerpt(failure: Failure, lines: int = 12) -> list[str]:
    return ["    | " + line for line in failure.detail.splitlines()[:lines]]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0, help="first seed")
    parser.add_argument("--minutes", type=float, default=None, help="stop starting cases after")
    parser.add_argument("--keep", action="store_true", help="keep failing cases' work trees")
    parser.add_argument("--no-shrink", action="store_true")
    parser.add_argument("--shrink-seconds", type=float, default=120.0)
    parser.add_argument("--no-big", action="store_true", help="no files at the size limits")
    parser.add_argument(
        "--avoid", action="append", default=[], help="leave out file names containing this"
    )
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    parser.add_argument("--quiet", action="store_true", help="no line per case")
    args = parser.parse_args(argv)

    scratch = Path(tempfile.mkdtemp(prefix="hfgit-differential-"))
    isolate_environment(scratch)
    from hfgit.testing import LocalHub

    git = GitCli(scratch / "git-home")
    summary = Summary(args.seed)
    started = time.monotonic()
    with LocalHub(scratch / "hub") as hub:
        for seed in range(args.seed, args.seed + args.cases):
            if args.minutes is not None and time.monotonic() - started > args.minutes * 60:
                break
            actions = generate_actions(seed, allow_big=not args.no_big, avoid=tuple(args.avoid))
            result = _run(hub, git, actions, scratch / f"case-{seed}", keep=args.keep)
            new_group = summary.record(seed, result)
            if not args.quiet:
                verdict = "ok" if result.failure is None else f"FAIL [{result.failure.signature}]"
                print(f"seed {seed}: {len(actions)} actions, {result.seconds:.1f} s: {verdict}",
                      flush=True)  # fmt: skip
            if new_group is not None and not args.no_shrink and result.failure is not None:
                cross = result.failure.kind in CROSS_CHECK_KINDS

                def rerun(candidate: Sequence[Op], cross: bool = cross) -> CaseResult:
                    return _run(hub, git, candidate, scratch / "shrink", cross_check=cross)

                minimal, failure, runs = shrink(rerun, actions, result.failure, args.shrink_seconds)
                new_group.minimal, new_group.minimal_failure = minimal, failure
                new_group.shrink_runs = runs
                if not args.quiet:
                    print(f"  shrunk to {len(minimal)} actions in {runs} runs: {minimal!r}",
                          flush=True)  # fmt: skip
    summary.seconds = time.monotonic() - started
    print()
    print(summary.render())
    if args.keep:
        print(f"\nwork trees of failing cases kept under {scratch}")
    else:
        shutil.rmtree(scratch, ignore_errors=True)
    if args.json is not None:
        args.json.write_text(json.dumps(_figures(summary), indent=2, ensure_ascii=False))
    return 1 if summary.groups else 0


def _run(
    hub: LocalHub,
    git: GitCli,
    actions: Sequence[Op],
    workdir: Path,
    *,
    keep: bool = False,
    cross_check: bool = True,
) -> CaseResult:
    shutil.rmtree(workdir, ignore_errors=True)
    result = run_case(hub, git, actions, workdir, cross_check=cross_check, keep=True)
    if not (keep and result.failure is not None):
        shutil.rmtree(workdir, ignore_errors=True)
    return result


def _figures(summary: Summary) -> dict[str, object]:
    return {
        "generator_version": GENERATOR_VERSION,
        "first_seed": summary.first_seed,
        "cases": summary.cases,
        "seconds": round(summary.seconds, 1),
        "applied": dict(summary.applied),
        "commits_compared": summary.commits_compared,
        "status_compared": summary.status_compared,
        "notes": dict(summary.notes),
        "failures": {
            g.signature: {
                "seeds": g.seeds,
                "minimal": [repr(op) for op in g.minimal or []],
                "minimal_signature": g.minimal_failure.signature if g.minimal_failure else None,
            }
            for g in summary.groups.values()
        },
    }


if __name__ == "__main__":
    sys.exit(main())
