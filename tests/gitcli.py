"""Driving the real git CLI from tests, as the other side of every interop check."""

from __future__ import annotations

import base64
import os
import subprocess
from pathlib import Path


def git(*args: str, cwd: Path | None = None, token: str | None = None) -> str:
    """Run the real git CLI; a token travels in a header on the command line, never on disk."""
    command = ["git"]
    if token is not None:
        basic = base64.b64encode(f"hf_user:{token}".encode()).decode()
        command += ["-c", f"http.extraHeader=Authorization: Basic {basic}"]
    command += list(args)
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def isolated_git_env(home: Path) -> dict[str, str]:
    """The environment for a git CLI that sees only a fresh, empty HOME: no user or system
    config, no prompts, no proxies, no tokens from the machine running the tests."""
    home.mkdir(parents=True, exist_ok=True)
    (home / ".gitconfig").write_text("", encoding="utf-8")
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("GIT_", "SSH_ASKPASS", "HF_"))
        and name.lower() not in ("http_proxy", "https_proxy", "all_proxy", "no_proxy")
    }
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        GIT_CONFIG_GLOBAL=str(home / ".gitconfig"),
        GIT_CONFIG_NOSYSTEM="1",
        GIT_TERMINAL_PROMPT="0",
        GIT_AUTHOR_NAME="Test Author",
        GIT_AUTHOR_EMAIL="author@example.invalid",
        GIT_COMMITTER_NAME="Test Author",
        GIT_COMMITTER_EMAIL="author@example.invalid",
        NO_PROXY="127.0.0.1,localhost",
    )
    return env


def commit_blob_with_git(work_dir: Path, path: str, content: bytes, message: str) -> None:
    """Commit exact blob bytes with git plumbing, bypassing any clean filter."""
    blob = (
        subprocess.run(
            ["git", "hash-object", "-w", "--stdin"],
            cwd=work_dir,
            input=content,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .strip()
    )
    git("update-index", "--add", "--cacheinfo", f"100644,{blob},{path}", cwd=work_dir)
    git("commit", "-qm", message, cwd=work_dir)


def git_lfs_env(token: str) -> dict[str, str]:
    """git + git-lfs with the token handed over by a credential helper reading the environment."""
    env = dict(os.environ)
    env["HF_TEST_TOKEN"] = token
    return env


def git_with_lfs(*args: str, cwd: Path | None = None, token: str) -> str:
    helper = "!f() { echo username=hf_user; echo password=$HF_TEST_TOKEN; }; f"
    result = subprocess.run(
        ["git", "-c", "credential.helper=", "-c", f"credential.helper={helper}", *args],
        cwd=cwd,
        env=git_lfs_env(token),
        capture_output=True,
        text=True,
        timeout=300,
    )
    if result.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def git_blob(spec: str, cwd: Path) -> bytes:
    """The exact bytes of a blob (``HEAD:path``, ``:path``), line ends untouched."""
    result = subprocess.run(
        ["git", "cat-file", "blob", spec], cwd=cwd, capture_output=True, check=True, timeout=60
    )
    return result.stdout
