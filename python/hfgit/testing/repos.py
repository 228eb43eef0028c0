"""LocalHub's repos on disk: one bare git repo per Hub repo, laid out like the Hub's URLs.

`<root>/models/<repo_id>.git`, `<root>/datasets/<repo_id>.git`, `<root>/spaces/<repo_id>.git`;
`<root>` is what `git http-backend` gets as GIT_PROJECT_ROOT. A repo is built in a staging
directory and renamed into place, so a request never sees a half-made repo.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

from .errors import LocalHubError
from .git_cgi import GitTools
from .gitattributes import default_gitattributes

__all__ = [
    "REPO_TYPES",
    "URL_PREFIXES",
    "RepoStore",
    "validate_repo_id",
    "validate_repo_type",
]

REPO_TYPES: Mapping[str, str] = {"model": "models", "dataset": "datasets", "space": "spaces"}
"""Repo type -> directory under the store root."""

URL_PREFIXES: Mapping[str, str] = {"model": "", "dataset": "datasets/", "space": "spaces/"}
"""Repo type -> path prefix of its URL on the Hub."""

SEED_AUTHOR = "LocalHub <hub@localhost>"
SEED_MESSAGE = "initial commit"
PRIVATE_MARKER = "localhub-private"
HOOK_SCRIPT = "localhub_pre_receive.py"

_NAME = re.compile(r"[A-Za-z0-9_.-]{1,96}")

# Per-repo git config. gc is off because receive-pack's background `gc --auto` could outlive
# the request and race with stop() deleting the directory.
_REPO_CONFIG = (
    ("http.receivepack", "true"),
    ("receive.autogc", "false"),
    ("gc.auto", "0"),
)


def validate_repo_type(repo_type: str) -> None:
    if repo_type not in REPO_TYPES:
        raise ValueError(f"repo_type must be 'model', 'dataset' or 'space', not {repo_type!r}")


def validate_repo_id(repo_id: str) -> None:
    """Apply the Hub's repo_id rules: `name` or `namespace/name`, [A-Za-z0-9_.-], 1-96 chars,
    no leading/trailing `-` or `.`, no `--` or `..`, no `.git` suffix."""
    parts = repo_id.split("/")
    valid = 1 <= len(parts) <= 2 and all(
        _NAME.fullmatch(part)
        and part[0] not in "-."
        and part[-1] not in "-."
        and "--" not in part
        and ".." not in part
        for part in parts
    )
    if not valid or repo_id.endswith(".git"):
        raise ValueError(
            f"invalid repo_id {repo_id!r}: use 'name' or 'namespace/name' with letters, digits, "
            "'-', '_' and '.' (at most 96 each, no '--', '..', leading/trailing '-'/'.', or '.git')"
        )


def is_valid_repo_id(repo_id: str) -> bool:
    try:
        validate_repo_id(repo_id)
    except ValueError:
        return False
    return True


class RepoStore:
    """Creates, finds and deletes the bare repos behind a LocalHub."""

    def __init__(self, root: Path, git: GitTools, env: Mapping[str, str]) -> None:
        self.root = root
        self._git = git
        self._env = dict(env)
        self.root.mkdir(parents=True, exist_ok=True)

    def relative_path(self, repo_id: str, repo_type: str) -> str:
        """The repo's path below the root, with forward slashes (used as CGI PATH_INFO)."""
        validate_repo_type(repo_type)
        validate_repo_id(repo_id)
        return f"{REPO_TYPES[repo_type]}/{repo_id}.git"

    def path(self, repo_id: str, repo_type: str) -> Path:
        return self.root.joinpath(*self.relative_path(repo_id, repo_type).split("/"))

    def exists(self, repo_id: str, repo_type: str) -> bool:
        return (self.path(repo_id, repo_type) / "HEAD").is_file()

    def is_private(self, repo_id: str, repo_type: str) -> bool:
        return (self.path(repo_id, repo_type) / PRIVATE_MARKER).is_file()

    def create(self, repo_id: str, repo_type: str, *, private: bool) -> Path:
        target = self.path(repo_id, repo_type)
        if target.exists():
            raise LocalHubError(f"{repo_type} repo {repo_id!r} already exists on this LocalHub")
        staging = Path(tempfile.mkdtemp(prefix=".creating-", dir=self.root))
        try:
            self._initialise(staging, repo_type)
            if private:
                (staging / PRIVATE_MARKER).touch()
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.rename(staging, target)
            except OSError as exc:  # created concurrently by another thread
                raise LocalHubError(
                    f"{repo_type} repo {repo_id!r} already exists on this LocalHub"
                ) from exc
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return target

    def delete(self, repo_id: str, repo_type: str) -> None:
        target = self.path(repo_id, repo_type)
        if not target.exists():
            raise LocalHubError(f"{repo_type} repo {repo_id!r} does not exist on this LocalHub")
        # Rename first so the repo disappears atomically for concurrent requests.
        doomed = self.root / f".deleting-{os.getpid()}-{time.monotonic_ns()}"
        os.rename(target, doomed)
        shutil.rmtree(doomed, ignore_errors=True)

    def head(self, repo_id: str, repo_type: str) -> str | None:
        """The commit `main` points at, or None."""
        try:
            out = self._git.run(
                ["rev-parse", "--verify", "--quiet", "refs/heads/main"],
                self._env,
                cwd=self.path(repo_id, repo_type),
            )
        except LocalHubError:
            return None
        return out.decode("ascii").strip() or None

    def update_ref(self, repo_id: str, repo_type: str, ref: str, target: str) -> None:
        """Point `ref` at the commit `target` (a ref or commit id) names, as the server does."""
        self._git.run(
            ["update-ref", ref, f"{target}^{{commit}}"],
            self._env,
            cwd=self.path(repo_id, repo_type),
        )

    def _initialise(self, repo: Path, repo_type: str) -> None:
        run = self._git.run
        run(["init", "--bare", "--quiet", "--template=", str(repo)], self._env)
        run(["symbolic-ref", "HEAD", "refs/heads/main"], self._env, cwd=repo)
        for key, value in _REPO_CONFIG:
            run(["config", key, value], self._env, cwd=repo)
        self._install_hooks(repo)
        self._seed(repo, repo_type)

    def _install_hooks(self, repo: Path) -> None:
        """Install pre_receive.py plus a POSIX sh wrapper (shebang paths cannot be quoted)."""
        hooks = repo / "hooks"
        hooks.mkdir(exist_ok=True)
        shutil.copyfile(Path(__file__).with_name("pre_receive.py"), hooks / HOOK_SCRIPT)
        python = shlex.quote(sys.executable or "python3")
        wrapper = hooks / "pre-receive"
        wrapper.write_text(
            "#!/bin/sh\n"
            "# Installed by hfgit.testing.LocalHub: emulates the Hub's push checks.\n"
            f'exec {python} -I "${{0%/*}}/{HOOK_SCRIPT}" "$@"\n',
            encoding="utf-8",
        )
        wrapper.chmod(0o755)

    def _seed(self, repo: Path, repo_type: str) -> None:
        """Write the Hub's first commit (only `.gitattributes`) on main with git fast-import."""
        content = default_gitattributes(repo_type).encode("utf-8")
        message = SEED_MESSAGE.encode("utf-8") + b"\n"
        stamp = f"{SEED_AUTHOR} {int(time.time())} +0000".encode()
        stream = b"".join(
            [
                b"commit refs/heads/main\n",
                b"author " + stamp + b"\n",
                b"committer " + stamp + b"\n",
                b"data %d\n" % len(message),
                message,
                b"M 100644 inline .gitattributes\n",
                b"data %d\n" % len(content),
                content,
                b"\n",
            ]
        )
        self._git.run(
            ["fast-import", "--quiet", "--date-format=raw"], self._env, cwd=repo, input=stream
        )
