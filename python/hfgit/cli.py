"""The ``hfgit`` command: clone, commit and push Hub repositories where there is Python but no git.

Each command calls the public API (:func:`hfgit.clone`, :class:`hfgit.Repository`, ...). Exit
codes follow git's habits: 0 when the command did what was asked, 1 when it failed (one line on
stderr naming the error's class, e.g. ``hfgit: error: NothingToCommitError: ...``), 2 for a
usage error, 130 after Ctrl-C. Results go to stdout; progress goes to stderr, and only when
stderr is a terminal. The token comes from ``HF_TOKEN`` or the file ``hf auth login`` writes, as
in the API; there is no option to put one on the command line, where other users could see it.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import logging
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Callable, NoReturn, TextIO

if TYPE_CHECKING:
    from .progress import Progress
    from .repository import Repository

_EPILOG = (
    "The token is read from HF_TOKEN, else from the file `hf auth login` writes;\n"
    "the endpoint from HF_ENDPOINT, else https://huggingface.co.\n"
    "Exit status: 0 ok, 1 failure, 2 usage error, 130 interrupted."
)


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Descriptions keep their line breaks; option lists wrap as usual."""


def _patterns(value: str) -> list[str]:
    """A git-lfs pattern list: comma-separated, as ``git lfs pull -I`` reads it."""
    return [item.strip() for item in value.split(",") if item.strip()]


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {number}")
    return number


def build_parser(prog: str = "hfgit") -> argparse.ArgumentParser:
    """The argument parser of every command (``hfgit --help``, ``hfgit COMMAND --help``)."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Clone, commit and push Hugging Face Hub repositories (Git LFS included) "
        "without the git CLI.",
        epilog=_EPILOG,
        formatter_class=_Formatter,
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    parser.add_argument(
        "-C",
        dest="directory",
        metavar="DIR",
        help="run as if started in DIR (like git -C)",
    )
    quiet = argparse.ArgumentParser(add_help=False)
    quiet.add_argument(
        "-q", "--quiet", action="store_true", help="print nothing but errors; no progress"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, summary: str, description: str) -> argparse.ArgumentParser:
        return commands.add_parser(
            name,
            help=summary,
            description=description,
            epilog=_EPILOG,
            parents=[quiet],
            formatter_class=_Formatter,
        )

    clone = command(
        "clone",
        "clone a Hub repository, downloading its LFS files",
        "Clone REPO into DIR (default: the repo's name in the current directory).\n\n"
        "REPO is user/name, datasets/user/name, spaces/user/name or a URL. LFS files are\n"
        "downloaded and verified; by default git-lfs's settings (GIT_LFS_SKIP_SMUDGE,\n"
        "lfs.fetchinclude / lfs.fetchexclude) choose which, as with `git clone`.",
    )
    clone.add_argument("repo", metavar="REPO", help="user/name, datasets/user/name, or a URL")
    clone.add_argument("local_dir", metavar="DIR", nargs="?", help="where to clone")
    clone.add_argument("-r", "--revision", metavar="REV", help="branch, tag or commit to check out")
    clone.add_argument("--depth", type=_positive, metavar="N", help="fetch only N commits")
    clone.add_argument(
        "--repo-type", choices=("model", "dataset", "space"), help="when REPO does not say"
    )
    clone.add_argument("--endpoint", metavar="URL", help="Hub URL (default: HF_ENDPOINT)")
    lfs = clone.add_mutually_exclusive_group()
    lfs.add_argument(
        "--lfs",
        metavar="PATTERN",
        dest="lfs",
        type=_patterns,
        action="append",
        help="download only the LFS files matching PATTERN (git-lfs --include syntax; "
        "repeat it or separate patterns with commas)",
    )
    lfs.add_argument(
        "--no-lfs",
        dest="lfs",
        action="store_const",
        const=False,
        help="download no LFS file; leave pointers (fetch them later with lfs-pull)",
    )

    command(
        "status",
        "show what changed in the work tree",
        "List changed paths as `git status --short` does (X: staged, Y: work tree),\n"
        "marking those stored with Git LFS. Nothing is staged.",
    ).add_argument("--porcelain", action="store_true", help="no branch line, no LFS marks")

    commit = command(
        "commit",
        "commit every change (or only PATHS)",
        "Stage every change in the work tree, or only PATHS (like `git commit -- PATHS`), and\n"
        "commit it. Files .gitattributes tracks with LFS become LFS pointers; files the Hub\n"
        "would refuse as plain git blobs are tracked with LFS by themselves.",
    )
    commit.add_argument("-m", "--message", required=True, metavar="MSG", help="commit message")
    commit.add_argument("paths", metavar="PATHS", nargs="*", help="commit only these paths")
    commit.add_argument("--author", metavar='"NAME <EMAIL>"', help="default: git config")
    commit.add_argument("--allow-empty", action="store_true", help="commit even if unchanged")
    commit.add_argument(
        "--no-lfs-auto-track",
        dest="lfs_auto_track",
        action="store_false",
        help="fail (LfsTrackingError) instead of tracking big files with LFS",
    )

    push = command(
        "push",
        "push the current branch, LFS objects first",
        "Upload the LFS objects of the new commits, then push the current branch to its\n"
        "upstream (or to --branch). Nothing on the server moves unless every object is there.",
    )
    push.add_argument("--remote", default="origin", help="default: origin")
    push.add_argument("--branch", help="remote branch (default: the upstream)")
    push.add_argument("-f", "--force", action="store_true", help="allow a non-fast-forward push")
    push.add_argument(
        "--rebase",
        action="store_true",
        help="if the Hub has new commits, replay yours on them and push again",
    )
    push.add_argument(
        "--create-pr",
        action="store_true",
        help="open a pull request with the commits instead of moving the branch",
    )
    push.add_argument("--pr-title", metavar="TITLE", help="title of the pull request opened")

    pull = command(
        "pull",
        "fetch and fast-forward the current branch",
        "Fetch and fast-forward; a diverged branch or uncommitted changes in the way fail\n"
        "(DivergedError, LocalChangesError). New LFS files are downloaded as git-lfs would.",
    )
    pull.add_argument("--remote", default="origin", help="default: origin")
    pull.add_argument(
        "--rebase",
        action="store_true",
        help="replay unpushed local commits on the Hub's new ones instead of failing",
    )

    log = command("log", "show the commit history", "Commits reachable from HEAD, newest first.")
    log.add_argument("-n", "--max-count", type=_positive, metavar="N", help="show N commits")
    log.add_argument("--oneline", action="store_true", help="one line per commit")

    lfs_pull = command(
        "lfs-pull",
        "download LFS files still checked out as pointers",
        "Download LFS files still checked out as pointers, like `git lfs pull`.",
    )
    for flag, dest, what in (("-I", "include", "only"), ("-X", "exclude", "not")):
        lfs_pull.add_argument(
            flag,
            f"--{dest}",
            dest=dest,
            metavar="PATTERN",
            type=_patterns,
            action="append",
            help=f"download {what} files matching PATTERN (repeatable, or comma-separated; "
            f"default: lfs.fetch{dest})",
        )
    lfs_pull.add_argument("--remote", default="origin", help="default: origin")

    commands.add_parser(
        "demo",
        help="round trip against a bundled local Hub (needs git; no internet)",
        description="Start a local Hub on 127.0.0.1, then clone, commit, push and clone again,\n"
        "and check that both clones agree and that the token reached no file on disk.",
        formatter_class=_Formatter,
    )
    return parser


def main(argv: Sequence[str] | None = None, *, prog: str = "hfgit") -> int:
    """Run one command and return its exit status (the ``hfgit`` console script)."""
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    if args.version:
        from . import _native

        print(f"hfgit {_native.__version__} (libgit2 {_native.LIBGIT2_VERSION})")
        return 0
    if args.command is None:
        parser.print_usage(sys.stderr)
        print(f"{prog}: error: a command is required (see {prog} --help)", file=sys.stderr)
        return 2
    from .exceptions import HfGitError

    try:
        if args.directory is not None:
            os.chdir(args.directory)
        _configure_logging(quiet=getattr(args, "quiet", False))
        return _COMMANDS[args.command](args)
    except (HfGitError, OSError) as error:
        _flush_progress()
        print(f"{prog}: error: {_one_line(error)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        _flush_progress()
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _configure_logging(*, quiet: bool) -> None:
    """The library's warnings (never a token) as ``hfgit: warning: ...`` lines on stderr."""
    logger = logging.getLogger("hfgit")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("hfgit: %(levelname)s: %(message)s"))
        logger.addHandler(handler)
        logger.propagate = False
    logger.setLevel(logging.ERROR if quiet else logging.WARNING)


# --- progress ------------------------------------------------------------------------------------

_open_progress: list[_TerminalProgress] = []


class _TerminalProgress:
    """git-style progress lines (``Receiving objects:  45% (90/200)``) redrawn in place."""

    def __init__(self, stream: TextIO) -> None:
        from .progress import _PHASES

        self._phases = _PHASES
        self._stream = stream
        self._phase: str | None = None
        self._width = 0

    def __call__(self, event: Progress) -> None:
        label, counts_bytes = self._phases.get(event.phase, ("", False))
        if not label:
            self.close()
            return
        if event.phase != self._phase:
            self.close()
            self._phase = event.phase
        if counts_bytes:
            text = f"{label}: {_size(event.bytes)}"
            if event.total:
                text += f", {event.done}/{event.total} files"
            if event.deduplicated:
                text += f", {_size(event.deduplicated)} already on the Hub"
        elif event.total:
            text = f"{label}: {100 * event.done // event.total:3d}% ({event.done}/{event.total})"
        else:
            text = f"{label}: {event.done}"
        self._stream.write("\r" + text.ljust(self._width))
        self._stream.flush()
        self._width = len(text)

    def close(self) -> None:
        if self._phase is not None:
            self._stream.write("\n")
            self._stream.flush()
        self._phase = None
        self._width = 0


def _flush_progress() -> None:
    while _open_progress:
        _open_progress.pop().close()


def _progress(args: argparse.Namespace) -> Callable[[Progress], None] | bool:
    """A progress line on stderr when it is a terminal; otherwise (or with --quiet) none."""
    from .progress import bars_disabled

    if args.quiet or bars_disabled() or not sys.stderr.isatty():
        return False
    reporter = _TerminalProgress(sys.stderr)
    _open_progress.append(reporter)
    return reporter


def _size(count: int) -> str:
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def _say(args: argparse.Namespace, text: str) -> None:
    if not args.quiet:
        print(text)


# --- commands ------------------------------------------------------------------------------------


def _open_repository() -> Repository:
    """The work tree holding the current directory, found upwards as git finds it."""
    from .exceptions import NotARepositoryError
    from .repository import Repository

    here = os.path.abspath(os.getcwd())
    top = here
    while not os.path.exists(os.path.join(top, ".git")):
        parent = os.path.dirname(top)
        if parent == top:
            raise NotARepositoryError(
                f"not a git repository (or any of the parent directories): {here}"
            )
        top = parent
    return Repository(top)


def _flatten(groups: list[list[str]] | None) -> list[str] | None:
    return None if groups is None else [pattern for group in groups for pattern in group]


def _clone(args: argparse.Namespace) -> int:
    from .api import clone

    lfs = args.lfs if args.lfs is False else _flatten(args.lfs)
    try:
        repo = clone(
            args.repo,
            args.local_dir,
            revision=args.revision,
            depth=args.depth,
            repo_type=args.repo_type,
            endpoint=args.endpoint,
            lfs=lfs,
            progress=_progress(args),
        )
    finally:
        _flush_progress()
    head = (repo.head or "")[:12] or "no commits yet"
    _say(args, f"Cloned {repo.remote_url} into {repo.path} ({repo.branch or 'detached'} {head})")
    return 0


_SHORT_CODES = {
    "added": "A",
    "modified": "M",
    "deleted": "D",
    "renamed": "R",
    "typechange": "T",
}


def _status(args: argparse.Namespace) -> int:
    repo = _open_repository()
    result = repo.status()
    if args.quiet:
        return 0
    if not args.porcelain:
        print(f"## {repo.branch or 'HEAD (no branch)'}")
    for entry in result.entries:
        if entry.kind == "untracked":
            code = "??"
        elif entry.kind == "conflicted":
            code = "UU"
        else:
            letter = _SHORT_CODES.get(entry.kind, "?")
            code = f"{letter} " if entry.staged else f" {letter}"
        mark = "  (LFS)" if entry.lfs and not args.porcelain else ""
        print(f"{code} {entry.path}{mark}")
    return 0


def _commit(args: argparse.Namespace) -> int:
    repo = _open_repository()
    paths: list[str] | None = None
    if args.paths:
        # Paths on the command line are relative to the current directory, as in git.
        here = os.getcwd()
        inside = os.path.relpath(here, repo.path)
        paths = (
            list(args.paths)
            if inside == os.curdir
            else [os.path.relpath(os.path.join(here, path), repo.path) for path in args.paths]
        )
    try:
        commit_id = repo.commit(
            args.message,
            paths=paths,
            author=args.author,
            allow_empty=args.allow_empty,
            lfs_auto_track=args.lfs_auto_track,
            progress=_progress(args),
        )
    finally:
        _flush_progress()
    summary = args.message.split("\n", 1)[0]
    _say(args, f"[{repo.branch or 'detached HEAD'} {commit_id[:12]}] {summary}")
    return 0


def _push(args: argparse.Namespace) -> int:
    repo = _open_repository()
    try:
        result = repo.push(
            remote=args.remote,
            branch=args.branch,
            force=args.force,
            rebase=args.rebase,
            create_pr=args.create_pr,
            pr_title=args.pr_title,
            progress=_progress(args),
        )
    finally:
        _flush_progress()
    if result.lfs_objects_uploaded:
        count = result.lfs_objects_uploaded
        _say(
            args,
            f"Uploaded {count} LFS object{'s' if count != 1 else ''} "
            f"({_size(result.lfs_bytes_uploaded)})",
        )
    if result.pr_url:
        _say(args, f"Pull request #{result.pr_num}: {result.pr_url}")
    if result.up_to_date:
        _say(args, "Everything up-to-date")
        return 0
    _say(args, f"To {result.remote_url}")
    for update in result.updates:
        if update.old is None:
            _say(args, f" * [new branch]      {update.ref}")
        elif update.changed:
            _say(args, f"   {update.old[:12]}..{update.new[:12]}  {update.ref}")
    return 0


def _pull(args: argparse.Namespace) -> int:
    repo = _open_repository()
    try:
        result = repo.pull(remote=args.remote, rebase=args.rebase, progress=_progress(args))
    finally:
        _flush_progress()
    if result.rebased:
        _say(
            args,
            f"Rebased {len(result.rebased)} local commit(s) onto {result.new_head[:12]}",
        )
    elif result.updated:
        _say(args, f"Updating {result.old_head[:12]}..{result.new_head[:12]}\nFast-forward")
    else:
        _say(args, "Already up to date.")
    return 0


def _log(args: argparse.Namespace) -> int:
    repo = _open_repository()
    commits = repo.log(args.max_count)
    if args.quiet:
        return 0
    for index, info in enumerate(commits):
        if args.oneline:
            print(f"{info.id[:12]} {info.summary}")
            continue
        if index:
            print()
        date = _dt.datetime.fromtimestamp(info.timestamp).astimezone()
        print(f"commit {info.id}")
        if len(info.parents) > 1:
            print("Merge: " + " ".join(parent[:12] for parent in info.parents))
        print(f"Author: {info.author_name} <{info.author_email}>")
        print(f"Date:   {date:%a %b %d %H:%M:%S %Y %z}")
        print()
        for line in info.message.rstrip("\n").split("\n"):
            print(f"    {line}" if line else "")
    return 0


def _lfs_pull(args: argparse.Namespace) -> int:
    repo = _open_repository()
    try:
        result = repo.lfs_pull(
            _flatten(args.include),
            _flatten(args.exclude),
            remote=args.remote,
            progress=_progress(args),
        )
    finally:
        _flush_progress()
    count = result.objects_downloaded
    _say(
        args,
        f"Downloaded {count} LFS object{'s' if count != 1 else ''} "
        f"({_size(result.bytes_downloaded)})",
    )
    return 0


def _demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo()


_COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "clone": _clone,
    "status": _status,
    "commit": _commit,
    "push": _push,
    "pull": _pull,
    "log": _log,
    "lfs-pull": _lfs_pull,
    "demo": _demo,
}


def run() -> NoReturn:
    """Entry point of the ``hfgit`` console script."""
    try:
        status = main()
        sys.stdout.flush()
    except BrokenPipeError:
        # `hfgit log | head`: the reader left; say nothing more, as git does.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        status = 141
    sys.exit(status)
