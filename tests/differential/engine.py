"""Running one case: the same actions on an hfgit clone and on a git + git-lfs clone.

Each side gets its own fresh LocalHub repo (both seeded with the Hub's `.gitattributes`).
After every commit the two HEAD trees must be equal (`git ls-tree -r HEAD`, LFS pointers
included), and `Repository.status()` must equal `git status` before and after it. git runs
with `--literal-pathspecs`, because hfgit's `paths=` are paths, not patterns. Auto-tracking:
hfgit appends track lines for files the Hub would refuse as plain blobs (10 MiB+, binary over
1 MB) to `.gitattributes` (a deeper one where that one would override the top) during its
commit; the git side then gets a copy of each changed file before `git add`, as a user running
`git lfs track` would, and they join its `paths`.

When `git add` itself fails (a path in `paths=` is ignored), hfgit may either raise an
`HfGitError` (the git side's partial staging is then undone) or commit what git commits.

At the end (after a last commit of everything) each side pushes to its own repo, and each
repo is cloned by both tools: the two clones must hold the same bytes, links and exec bits,
match the pushing work tree (a work-tree file holding pointer text may come back smudged),
and look the same to `git status` and to `Repository.status()`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import traceback
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import compare
from .ops import CLOCK_START, Op, apply, blocked, mtime_for

if TYPE_CHECKING:
    from hfgit.testing import LocalHub

GIT_TIMEOUT = 120
CREDENTIAL_HELPER = (
    '!f() { test "$1" = get && echo username=hf_user && echo "password=$HF_TEST_TOKEN"; }; f'
)


class HarnessError(Exception):
    """The harness itself could not go on (a git command that must work failed)."""


# ---------------------------------------------------------------------- results


@dataclass
class Failure:
    kind: str
    """tree, status, status-lfs-flag, commit-outcome, hfgit-error, push, clone, clone-status,
    git-status-of-hfgit-tree, apply, harness."""
    signature: str
    """kind plus what differed, without paths: equal signatures are taken to be one bug."""
    action: int
    """Index of the action at which it showed (len(actions) for the final phase)."""
    detail: str

    def __str__(self) -> str:
        return f"[{self.signature}] at action {self.action}:\n{self.detail}"


@dataclass
class CaseResult:
    actions: list[Op]
    failure: Failure | None = None
    commits_compared: int = 0
    status_compared: int = 0
    applied: Counter[str] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


# ---------------------------------------------------------------------- git CLI


class GitCli:
    """git + git-lfs with a throwaway HOME: no user config, no prompts, no proxies."""

    def __init__(self, home: Path) -> None:
        home.mkdir(parents=True, exist_ok=True)
        (home / ".gitconfig").write_text(
            "[user]\n\tname = Git Side\n\temail = git@example.invalid\n"
            "[init]\n\tdefaultBranch = main\n[advice]\n\taddIgnoredFile = false\n",
            encoding="utf-8",
        )
        self.env = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith(("GIT_", "SSH_ASKPASS", "HF_"))
            and name.lower() not in ("http_proxy", "https_proxy", "all_proxy", "no_proxy")
        }
        self.env.update(
            HOME=str(home),
            XDG_CONFIG_HOME=str(home / ".config"),
            GIT_CONFIG_GLOBAL=str(home / ".gitconfig"),
            GIT_CONFIG_NOSYSTEM="1",
            GIT_TERMINAL_PROMPT="0",
            NO_PROXY="127.0.0.1,localhost",
        )
        self.run("lfs", "install", "--skip-repo")

    def run(
        self,
        *args: str,
        cwd: Path | None = None,
        token: str | None = None,
        check: bool = True,
    ) -> subprocess.CompletedProcess[bytes]:
        command = ["git"]
        env = self.env
        if token is not None:
            command += ["-c", "credential.helper=", "-c", f"credential.helper={CREDENTIAL_HELPER}"]
            env = {**env, "HF_TEST_TOKEN": token}
        try:
            done = subprocess.run(
                [*command, *args], cwd=cwd, env=env, capture_output=True, timeout=GIT_TIMEOUT
            )
        except subprocess.TimeoutExpired as error:
            raise HarnessError(f"git {' '.join(args)} timed out in {cwd}") from error
        if check and done.returncode != 0:
            raise HarnessError(
                f"git {' '.join(args)} failed ({done.returncode}) in {cwd}:\n"
                f"{done.stdout.decode(errors='replace')}{done.stderr.decode(errors='replace')}"
            )
        return done

    def out(self, *args: str, cwd: Path) -> bytes:
        return self.run(*args, cwd=cwd).stdout

    def status(self, cwd: Path, *, write_index: bool = True) -> set[compare.StatusKey]:
        prefix = () if write_index else ("--no-optional-locks",)
        porcelain = self.out(*prefix, "status", "--porcelain=v1", "-z", "-uall", cwd=cwd)
        return compare.git_status_keys(porcelain)

    def tree(self, cwd: Path) -> dict[str, compare.TreeEntry]:
        listing = self.out("ls-tree", "-r", "-z", "--full-tree", "HEAD", cwd=cwd)
        return compare.parse_ls_tree(listing)

    def blob(self, cwd: Path, oid: str) -> bytes:
        return self.out("cat-file", "blob", oid, cwd=cwd)

    def tracked_paths(self, cwd: Path) -> list[str]:
        listing = self.out("ls-files", "-z", cwd=cwd)
        return [p.decode("utf-8", "surrogateescape") for p in listing.split(b"\0") if p]

    def lfs_filtered(self, cwd: Path, paths: Sequence[str]) -> dict[str, bool]:
        """Whether git's attributes give each path `filter=lfs`."""
        if not paths:
            return {}
        stdin = b"".join(p.encode("utf-8", "surrogateescape") + b"\0" for p in paths)
        done = subprocess.run(
            ["git", "check-attr", "-z", "--stdin", "filter"],
            cwd=cwd, env=self.env, input=stdin, capture_output=True, timeout=GIT_TIMEOUT,
        )  # fmt: skip
        if done.returncode != 0:
            raise HarnessError(f"git check-attr failed: {done.stderr.decode(errors='replace')}")
        fields = done.stdout.split(b"\0")
        result = {}
        for i in range(0, len(fields) - 2, 3):
            path = fields[i].decode("utf-8", "surrogateescape")
            result[path] = fields[i + 2] == b"lfs"
        return result


# ---------------------------------------------------------------------- hfgit side


def _hfgit() -> Any:
    import hfgit

    return hfgit


def hfgit_status(root: Path) -> tuple[set[compare.StatusKey], dict[str, bool]]:
    entries = _hfgit().Repository(root).status().entries
    keys = compare.hfgit_status_keys((e.path, e.kind, e.staged) for e in entries)
    return keys, {e.path: e.lfs for e in entries}


# ---------------------------------------------------------------------- the case


class Case:
    """The two clones of one case and the checks between them."""

    def __init__(self, hub: LocalHub, git: GitCli, workdir: Path, *, cross_check: bool) -> None:
        self.hub, self.git, self.workdir = hub, git, workdir
        self.token = hub.write_token
        self.cross_check = cross_check
        name = uuid.uuid4().hex[:10]
        self.repo_h, self.repo_g = f"diff/h-{name}", f"diff/g-{name}"
        self.hdir, self.gdir = workdir / "hfgit", workdir / "git"
        self.commits_compared = 0
        self.notes: list[str] = []

    # -- set-up --------------------------------------------------------------------------

    def start(self) -> None:
        hfgit = _hfgit()
        self.hub.create_repo(self.repo_h)
        self.hub.create_repo(self.repo_g)
        hfgit.clone(
            self.repo_h, self.hdir, token=self.token, endpoint=self.hub.endpoint, progress=False
        )
        self.git_clone(self.repo_g, self.gdir, will_push=True)

    def git_clone(self, repo_id: str, target: Path, *, will_push: bool = False) -> None:
        url = self.hub.repo_url(repo_id)
        self.git.run("clone", "-q", url, str(target), token=self.token)
        if will_push:
            self.git.run("lfs", "install", "--local", cwd=target)  # the pre-push hook

    # -- checks --------------------------------------------------------------------------

    def status_failure(
        self,
        kind: str,
        what: str,
        action: int,
        left: set[compare.StatusKey],
        right: set[compare.StatusKey],
        root: Path,
        legend: str,
    ) -> Failure | None:
        """A failure naming each difference between two status sets (None if they agree).

        A path whose HEAD blob is a non-canonical LFS pointer is marked as such in the
        signature: for those, git's clean filter never gives back the blob, so git's answer
        depends on whether it looks at the content."""
        differences = compare.status_differences(left, right)
        if not differences:
            return None
        items, lines = set(), []
        for path, code in differences:
            note = self._blob_note(root, path)
            items.add(code + (f" {note}" if note else ""))
            lines.append(f"  {path!r}: {code}" + (f" ({note})" if note else ""))
        return Failure(
            kind, f"{what}: " + ", ".join(sorted(items)), action, legend + "\n" + "\n".join(lines)
        )

    def _blob_note(self, root: Path, path: str) -> str:
        """What is special about `path`: its HEAD blob is an LFS pointer (canonical or not) or a
        plain blob at a path `.gitattributes` now sends to LFS; the file holds the blob's bytes."""
        done = self.git.run("cat-file", "blob", f"HEAD:{path}", cwd=root, check=False)
        if done.returncode != 0:
            return ""
        blob, notes = done.stdout, []
        pointer = compare.parse_pointer(blob) if blob else None
        if pointer is not None:
            notes.append("pointer" if pointer.canonical else "non-canonical-pointer")
        elif self.git.lfs_filtered(root, [path]).get(path):
            notes.append("plain-blob-at-lfs-path")
        if _read(root / path) == blob and not (root / path).is_symlink():
            notes.append("file-holds-the-blob")
        return " ".join(notes)

    def compare_status(self, action: int, phase: str) -> Failure | None:
        hf_keys, hf_lfs = hfgit_status(self.hdir)
        git_keys = self.git.status(self.gdir)
        failure = self.status_failure(
            "status", f"status {phase}", action, hf_keys, git_keys, self.gdir,
            "hfgit-code/git-code per path (* = staged, - = not listed):",
        )  # fmt: skip
        if failure:
            return failure
        filtered = self.git.lfs_filtered(self.gdir, sorted(hf_lfs))
        wrong = {p: v for p, v in hf_lfs.items() if p in filtered and filtered[p] != v}
        if wrong:
            flags = sorted({f"hfgit-lfs={v}" for v in wrong.values()})
            return Failure(
                "status-lfs-flag",
                f"status lfs flag {phase}: " + ", ".join(flags),
                action,
                "StatusEntry.lfs disagrees with `git check-attr filter`:\n"
                + "\n".join(f"  {p!r}: hfgit lfs={v}" for p, v in sorted(wrong.items())),
            )
        return None

    def compare_trees(self, action: int) -> Failure | None:
        tree_h, tree_g = self.git.tree(self.hdir), self.git.tree(self.gdir)
        if tree_h == tree_g:
            return None
        lines, kinds = [], set()
        for path in sorted(set(tree_h) | set(tree_g)):
            h, g = tree_h.get(path), tree_g.get(path)
            if h == g:
                continue
            extra = ""
            if h is None or g is None:
                kind = "only-in-git" if h is None else "only-in-hfgit"
            elif h[1] == g[1]:
                kind = f"mode-{h[0]}/{g[0]}"
            else:
                blob_h = self.git.blob(self.hdir, h[1]) if h[0] != "160000" else None
                blob_g = self.git.blob(self.gdir, g[1]) if g[0] != "160000" else None
                kind = compare.classify_blob_difference(blob_h, blob_g)
                if h[0] != g[0]:
                    kind += f"+mode-{h[0]}/{g[0]}"
                extra = f"\n    hfgit blob: {_show(blob_h)}\n    git blob:   {_show(blob_g)}"
            kinds.add(kind)
            lines.append(f"  {path!r}: {kind}: hfgit {h} git {g}{extra}")
        return Failure("tree", "tree: " + ", ".join(sorted(kinds)), action, "\n".join(lines))

    # -- commits -------------------------------------------------------------------------

    def _attribute_files(self) -> dict[str, bytes]:
        """Every .gitattributes of the hfgit work tree, by path relative to it."""
        return {
            path.relative_to(self.hdir).as_posix(): path.read_bytes()
            for path in self.hdir.rglob(".gitattributes")
            if ".git" not in path.relative_to(self.hdir).parts[:-1] and path.is_file()
        }

    def commit(self, action: int, op: Op) -> Failure | None:
        hfgit = _hfgit()
        paths = None if op.paths is None else self._usable_paths(op.paths)
        if paths is not None and not paths:
            return None
        message = f"action {action}"
        before = self._attribute_files()
        hf_outcome, hf_error = "committed", ""
        try:
            hfgit.commit(self.hdir, message, paths=paths, progress=False)
        except hfgit.NothingToCommitError:
            hf_outcome = "nothing"
        except hfgit.HfGitError as error:
            hf_outcome, hf_error = f"error:{type(error).__name__}", str(error)
        except Exception as error:  # a bare exception from hfgit is a bug of its own
            return Failure(
                "hfgit-error",
                f"hfgit-error: commit raised {type(error).__name__}",
                action,
                f"{type(error).__name__}: {error}",
            )
        # Auto-tracking appends to the top .gitattributes, or to a deeper one that would otherwise
        # override the new line: every file it changed is copied, as `git lfs track` edits.
        after = self._attribute_files()
        tracked_in = sorted(name for name, text in after.items() if before.get(name) != text)
        for name in tracked_in:
            (self.gdir / name).write_bytes(after[name])

        add = ["--literal-pathspecs", "add", "-A"]
        if paths is not None:
            add += ["--", *paths]
            add += [name for name in tracked_in if name not in paths]
        added = self.git.run(*add, cwd=self.gdir, check=False)
        add_failed = added.returncode != 0
        if hf_outcome.startswith("error:"):
            if not add_failed:
                return Failure(
                    "hfgit-error",
                    f"hfgit-error: commit raised {hf_outcome[6:]} where git add succeeded",
                    action,
                    f"paths={paths!r}\n{hf_error}",
                )
            self.git.run("reset", "-q", cwd=self.gdir)  # undo git's partial staging
            git_outcome = "nothing"
        else:
            staged = self.git.run("diff", "--cached", "--quiet", cwd=self.gdir, check=False)
            if staged.returncode == 0:
                git_outcome = "nothing"
            else:
                self.git.run("commit", "-q", "--no-verify", "-m", message, cwd=self.gdir)
                git_outcome = "committed"
        if hf_outcome != git_outcome and not (hf_outcome.startswith("error:") and add_failed):
            return Failure(
                "commit-outcome",
                f"commit-outcome: hfgit {hf_outcome}, git {git_outcome}",
                action,
                f"paths={paths!r}; git add: {added.stderr.decode(errors='replace').strip()}\n"
                f"{hf_error}",
            )
        self.commits_compared += 1
        return self.compare_trees(action) or self.compare_status(action, "after commit")

    def _usable_paths(self, paths: Iterable[str]) -> list[str]:
        """The paths that name something in the work tree or in HEAD, and do not go through a
        symlinked directory (git refuses those; hfgit raises InvalidArgumentError)."""
        tracked = self.git.tracked_paths(self.gdir)
        usable = []
        for path in paths:
            if blocked(self.gdir, path):
                continue
            exists = os.path.lexists(self.gdir / path) or os.path.lexists(self.hdir / path)
            in_head = any(t == path or t.startswith(path + "/") for t in tracked)
            if exists or in_head:
                usable.append(path)
        return usable

    # -- the end: push and clone -------------------------------------------------------------

    def cross_clone(self, action: int) -> Failure | None:
        hfgit = _hfgit()
        error_h = error_g = ""
        try:
            hfgit.push(self.hdir, token=self.token, progress=False)
        except hfgit.HfGitError as error:
            error_h = f"{type(error).__name__}: {error}"
        done = self.git.run("push", "-q", "origin", "main", cwd=self.gdir, token=self.token,
                            check=False)  # fmt: skip
        if done.returncode != 0:
            error_g = done.stderr.decode(errors="replace") or f"exit {done.returncode}"
        pushed_h, pushed_g = not error_h, not error_g
        if pushed_h != pushed_g:
            side = "hfgit" if not pushed_h else "git"
            return Failure("push", f"push: only {side}'s push failed", action, error_h or error_g)
        if not pushed_h:
            self.notes.append("both pushes refused")
            return None
        for repo_id, pusher, work in ((self.repo_h, "hfgit", self.hdir),
                                      (self.repo_g, "git", self.gdir)):  # fmt: skip
            failure = self._compare_clones(action, repo_id, pusher, work)
            if failure is not None:
                return failure
        return None

    def _compare_clones(self, action: int, repo_id: str, pusher: str, work: Path) -> Failure | None:
        hfgit = _hfgit()
        by_git = self.workdir / f"{pusher}-pushed-git-clone"
        by_hfgit = self.workdir / f"{pusher}-pushed-hfgit-clone"
        git_error = hf_error = ""
        try:
            self.git_clone(repo_id, by_git)
        except HarnessError as error:
            git_error = str(error)
        try:
            hfgit.clone(repo_id, by_hfgit, token=self.token, endpoint=self.hub.endpoint,
                        progress=False)  # fmt: skip
        except hfgit.HfGitError as error:
            hf_error = f"{type(error).__name__}: {error}"
        if git_error or hf_error:
            if git_error and hf_error:
                self.notes.append(f"neither tool could clone what {pusher} pushed")
                return None
            who = "git" if git_error else "hfgit"
            return Failure("clone", f"clone: only {who} failed to clone what {pusher} pushed",
                           action, git_error or hf_error)  # fmt: skip
        other = by_hfgit if pusher == "git" else by_git
        # 1. The two fresh clones of one commit are identical.
        failure = self._compare_snapshots(
            action, f"clones of what {pusher} pushed (hfgit clone vs git clone)",
            expected_root=by_git, actual_root=by_hfgit, only=None,
        )  # fmt: skip
        if failure:
            return failure
        # 2. The other tool's clone holds what the pushing work tree holds (up to line ends).
        failure = self._compare_snapshots(
            action, f"{pusher}'s work tree vs the other tool's clone",
            expected_root=work, actual_root=other, only=self.git.tracked_paths(work),
            pointer_text_may_smudge=True,
        )  # fmt: skip
        if failure:
            return failure
        # 3. Both tools see both clones the same way. Every file is touched first, so both
        #    look at every file's content instead of trusting (racy) stat data.
        for root in (by_git, by_hfgit):
            for path in self.git.tracked_paths(root):
                if os.path.lexists(root / path):
                    os.utime(root / path, (CLOCK_START - 99, CLOCK_START - 99),
                             follow_symlinks=False)  # fmt: skip
        views = {}
        for maker, root in (("git", by_git), ("hfgit", by_hfgit)):
            git_view = self.git.status(root, write_index=False)
            views[maker] = git_view
            failure = self.status_failure(
                "clone-status",
                f"clone-status: hfgit vs git status of {maker}'s clone of what {pusher} pushed",
                action, hfgit_status(root)[0], git_view, root,
                "hfgit-code/git-code per path (* = staged, - = not listed):",
            )  # fmt: skip
            if failure:
                return failure
        return self.status_failure(
            "clone-status",
            f"clone-status: git status of hfgit's vs git's clone of what {pusher} pushed",
            action, views["hfgit"], views["git"], by_git,
            "in-hfgit's-clone/in-git's-clone per path:",
        )  # fmt: skip

    def _compare_snapshots(
        self,
        action: int,
        what: str,
        *,
        expected_root: Path,
        actual_root: Path,
        only: list[str] | None,
        pointer_text_may_smudge: bool = False,
    ) -> Failure | None:
        expected = compare.snapshot(expected_root, only)
        actual = compare.snapshot(actual_root, only)
        keys = sorted(set(expected) | set(actual)) if only is None else sorted(only)
        lines, kinds = [], set()
        for path in keys:
            e, a = expected.get(path, ("missing",)), actual.get(path, ("missing",))
            if e == a:
                continue
            e_bytes = _read(expected_root / path) if e[0] == "file" else None
            a_bytes = _read(actual_root / path) if a[0] == "file" else None
            if (
                pointer_text_may_smudge
                and e_bytes is not None
                and a_bytes is not None
                and e[1] == a[1]
                and (
                    compare.is_pointer_to(e_bytes, a_bytes)
                    or compare.is_pointer_to(a_bytes, e_bytes)
                )
            ):
                # Pointer text in the work tree and its object in the clone, or the reverse: a
                # pointer blob committed at a path .gitattributes no longer sends to LFS is
                # checked out as text. Whether the tools agree on that is check 1's business.
                continue
            kind = compare.describe_file_difference(e, a, e_bytes, a_bytes)
            if pointer_text_may_smudge and kind == "line-endings-differ":
                # `text`/`eol`/`text=auto` normalise line ends in the commit, so a fresh checkout
                # differs from the work tree that was committed, for git as for hfgit. The two
                # clones of one commit must still agree (check 1).
                continue
            kinds.add(kind)
            lines.append(
                f"  {path!r}: {kind}\n    expected {e}: {_show(e_bytes)}\n"
                f"    actual   {a}: {_show(a_bytes)}"
            )
        if not kinds:
            return None
        return Failure("clone", f"clone: {what}: " + ", ".join(sorted(kinds)), action,
                       "\n".join(lines))  # fmt: skip

    def compare_git_views_of_work_trees(self, action: int) -> Failure | None:
        """git (without writing the index) must find hfgit's work tree as clean as its own."""
        return self.status_failure(
            "git-status-of-hfgit-tree",
            "git-status-of-hfgit-tree",
            action,
            self.git.status(self.hdir, write_index=False),
            self.git.status(self.gdir, write_index=False),
            self.gdir,
            "git status in the hfgit clone / in the git clone:",
        )


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def _show(data: bytes | None, limit: int = 200) -> str:
    if data is None:
        return "-"
    if len(data) > limit:
        return f"{data[:limit]!r}... ({len(data)} bytes)"
    return repr(data)


# ---------------------------------------------------------------------- running


def run_case(
    hub: LocalHub,
    git: GitCli,
    actions: Sequence[Op],
    workdir: Path,
    *,
    cross_check: bool = True,
    keep: bool = False,
) -> CaseResult:
    """Apply `actions` to both sides and compare; stops at the first failure."""
    started = time.monotonic()
    result = CaseResult(list(actions))
    workdir.mkdir(parents=True, exist_ok=True)
    case = Case(hub, git, workdir, cross_check=cross_check)
    try:
        result.failure = _run(case, actions, result)
    except HarnessError as error:
        result.failure = Failure("harness", "harness: " + str(error).split("\n", 1)[0], -1,
                                 str(error))  # fmt: skip
    except Exception as error:  # anything else hfgit or the harness raised: report, go on
        result.failure = Failure(
            "crash", f"crash: {type(error).__name__}", -1, traceback.format_exc()
        )
    finally:
        result.commits_compared = case.commits_compared
        result.notes = case.notes
        result.seconds = time.monotonic() - started
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)
    return result


def _run(case: Case, actions: Sequence[Op], result: CaseResult) -> Failure | None:
    case.start()
    failure = case.compare_trees(-1) or case.compare_status(-1, "after clone")
    if failure:
        return failure
    dirty = False
    for i, op in enumerate(actions):
        if op.kind == "commit":
            result.applied[op.label] += 1
            result.status_compared += 1
            failure = case.compare_status(i, "before commit") or case.commit(i, op)
            result.status_compared += 1
            if failure:
                return failure
            dirty = False
            continue
        done_h = apply(op, case.hdir, mtime_for(i))
        done_g = apply(op, case.gdir, mtime_for(i))
        if done_h != done_g:
            return Failure("apply", "apply: the op did something on one side only", i,
                           f"{op!r}: hfgit side {done_h}, git side {done_g}")  # fmt: skip
        if done_h:
            result.applied[op.label] += 1
            dirty = True
    end = len(actions)
    if dirty:
        result.status_compared += 1
        failure = case.compare_status(end, "with uncommitted changes")
        if failure:
            return failure
    failure = case.commit(end, Op("commit"))
    if failure or not case.cross_check:
        return failure
    return case.cross_clone(end) or case.compare_git_views_of_work_trees(end)
