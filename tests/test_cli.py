"""The ``hfgit`` console script, run as installed (next to this interpreter), against a LocalHub."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import hfgit
import pytest
from gitcli import git
from hfgit.testing import LocalHub

COMMANDS = ("clone", "status", "commit", "push", "pull", "log", "lfs-pull", "demo")


def hfgit_script() -> str:
    """The console script pip installed with this interpreter (the wheel's, in CI)."""
    name = "hfgit.exe" if os.name == "nt" else "hfgit"
    beside = Path(sys.executable).parent / name
    if beside.is_file():
        return str(beside)
    found = shutil.which("hfgit")
    if found is None:
        pytest.fail("no hfgit console script: install the package (wheel or pip install -e .)")
    return found


def run_hfgit(
    *args: str,
    cwd: Path | None = None,
    hub: LocalHub | None = None,
    stderr: int | None = subprocess.PIPE,
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if hub is not None:
        env.update(HF_ENDPOINT=hub.endpoint, HF_TOKEN=hub.write_token)
    return subprocess.run(
        [hfgit_script(), *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        timeout=120,
    )


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def test_clone_commit_and_push_from_the_command_line_reach_the_hub_as_git_sees_them(
    hub: LocalHub, repo_id: str, tmp_path: Path
) -> None:
    work = tmp_path / "work"
    cloned = ok(run_hfgit("clone", repo_id, str(work), hub=hub, cwd=tmp_path))
    assert cloned.startswith(f"Cloned {hub.repo_url(repo_id)} into {work} (main ")
    (work / "config.json").write_text('{"hidden_size": 8}\n')

    assert ok(run_hfgit("status", cwd=work)) == "## main\n?? config.json\n"
    committed = ok(run_hfgit("commit", "-m", "Add config\n\nbody", cwd=work))
    head = git("rev-parse", "HEAD", cwd=work).strip()
    assert committed == f"[main {head[:12]}] Add config\n"
    pushed = run_hfgit("push", cwd=work, hub=hub)

    assert ok(pushed).startswith(f"To {hub.repo_url(repo_id)}\n")
    assert f"..{head[:12]}  refs/heads/main" in pushed.stdout
    assert pushed.stderr == ""  # no progress on a pipe
    by_git = tmp_path / "by-git"
    git("clone", "-q", hub.repo_url(repo_id), str(by_git), token=hub.write_token)
    assert git("log", "-1", "--format=%H %B", cwd=by_git).strip() == f"{head} Add config\n\nbody"
    assert (by_git / "config.json").read_text() == '{"hidden_size": 8}\n'
    assert ok(run_hfgit("push", cwd=work, hub=hub)) == "Everything up-to-date\n"
    assert ok(run_hfgit("status", "--porcelain", cwd=work)) == ""


def test_commands_find_the_work_tree_from_a_subdirectory_and_paths_are_relative_to_it(
    hub: LocalHub, repo_id: str, tmp_path: Path
) -> None:
    work = tmp_path / "work"
    ok(run_hfgit("clone", "-q", repo_id, str(work), hub=hub))
    (work / "sub").mkdir()
    (work / "sub" / "a.txt").write_text("a\n")
    (work / "sub" / "b.txt").write_text("b\n")
    (work / "top.txt").write_text("top\n")

    ok(run_hfgit("commit", "-q", "-m", "only a", "a.txt", cwd=work / "sub"))

    assert git("show", "--name-only", "--format=", "HEAD", cwd=work).split() == ["sub/a.txt"]
    assert ok(run_hfgit("status", "--porcelain", cwd=work / "sub")) == "?? sub/b.txt\n?? top.txt\n"
    assert ok(run_hfgit("-C", str(work), "log", "--oneline", "-n", "1")).endswith(" only a\n")


def test_status_marks_the_files_stored_with_lfs(
    hub: LocalHub, repo_id: str, tmp_path: Path
) -> None:
    work = tmp_path / "work"
    ok(run_hfgit("clone", "-q", repo_id, str(work), hub=hub))
    (work / "weights.bin").write_bytes(b"\0weights")
    (work / "notes.md").write_text("notes\n")

    assert ok(run_hfgit("status", cwd=work)) == "## main\n?? notes.md\n?? weights.bin  (LFS)\n"
    assert ok(run_hfgit("status", "--porcelain", cwd=work)) == "?? notes.md\n?? weights.bin\n"


def test_pull_fast_forwards_to_commits_git_pushed_and_log_lists_them_newest_first(
    hub: LocalHub, repo_id: str, tmp_path: Path
) -> None:
    work = tmp_path / "work"
    ok(run_hfgit("clone", "-q", repo_id, str(work), hub=hub))
    by_git = tmp_path / "by-git"
    git("clone", "-q", hub.repo_url(repo_id), str(by_git), token=hub.write_token)
    (by_git / "from-git.txt").write_text("hello\n")
    git("add", "-A", cwd=by_git)
    git("commit", "-qm", "From git", "-m", "second paragraph", cwd=by_git)
    git("push", "-q", "origin", "main", cwd=by_git, token=hub.write_token)
    old = git("rev-parse", "HEAD~1", cwd=by_git).strip()
    new = git("rev-parse", "HEAD", cwd=by_git).strip()

    pulled = ok(run_hfgit("pull", cwd=work, hub=hub))

    assert pulled == f"Updating {old[:12]}..{new[:12]}\nFast-forward\n"
    assert (work / "from-git.txt").read_text() == "hello\n"
    assert ok(run_hfgit("pull", cwd=work, hub=hub)) == "Already up to date.\n"
    log = ok(run_hfgit("log", cwd=work))
    assert log.startswith(f"commit {new}\nAuthor: Test User <test@example.com>\nDate:   ")
    assert "\n\n    From git\n\n    second paragraph\n\ncommit " + old in log
    oneline = ok(run_hfgit("log", "--oneline", cwd=work)).splitlines()
    assert oneline[0] == f"{new[:12]} From git"
    assert len(oneline) == len(hfgit.Repository(work).log())
    assert ok(run_hfgit("log", "-n", "1", "--oneline", cwd=work)) == oneline[0] + "\n"


def test_clone_with_lfs_patterns_downloads_only_those_and_lfs_pull_fetches_the_rest(
    hub: LocalHub, repo_id: str, tmp_path: Path
) -> None:
    source = hfgit.clone(repo_id, tmp_path / "src", token=hub.write_token, endpoint=hub.endpoint)
    for name in ("a.bin", "b.bin", "c.safetensors"):
        (tmp_path / "src" / name).write_bytes(name.encode() * 1000)
    source.commit("LFS files")
    source.push(token=hub.write_token)
    work = tmp_path / "work"

    ok(run_hfgit("clone", "-q", repo_id, str(work), "--lfs", "a.bin", hub=hub))

    assert (work / "a.bin").read_bytes() == b"a.bin" * 1000
    assert (work / "b.bin").read_bytes().startswith(b"version https://git-lfs.github.com/spec/v1")
    pulled = ok(run_hfgit("lfs-pull", "-I", "*.bin,*.json", cwd=work, hub=hub))
    assert pulled == "Downloaded 1 LFS object (4.9 KiB)\n"
    assert (work / "b.bin").read_bytes() == b"b.bin" * 1000
    assert (work / "c.safetensors").read_bytes().startswith(b"version ")
    assert ok(run_hfgit("lfs-pull", cwd=work, hub=hub)).startswith("Downloaded 1 LFS object")
    assert ok(run_hfgit("status", "--porcelain", cwd=work)) == ""

    pointers = tmp_path / "pointers"
    ok(run_hfgit("clone", "-q", "--no-lfs", repo_id, str(pointers), hub=hub))
    assert (pointers / "a.bin").read_bytes().startswith(b"version ")


def test_a_failure_is_one_line_naming_the_error_class_and_exits_1(
    hub: LocalHub, repo_id: str, tmp_path: Path
) -> None:
    work = tmp_path / "work"
    ok(run_hfgit("clone", "-q", repo_id, str(work), hub=hub))
    # Cloning again into a clone of the same remote reopens it; a folder of other files refuses.
    unrelated = tmp_path / "unrelated"
    unrelated.mkdir()
    (unrelated / "notes.txt").write_text("mine\n")

    cases = [
        (run_hfgit("commit", "-m", "nothing", cwd=work), "NothingToCommitError"),
        (run_hfgit("status", cwd=tmp_path), "NotARepositoryError"),
        (run_hfgit("clone", "alice/missing", str(tmp_path / "x"), hub=hub), "RepositoryNotFound"),
        (run_hfgit("clone", repo_id, str(unrelated), hub=hub), "DirectoryNotEmptyError"),
        (run_hfgit("commit", "-m", "m", "no-such-file", cwd=work), "PathspecError"),
        (run_hfgit("-C", str(tmp_path / "nowhere"), "status"), "FileNotFoundError"),
    ]

    for result, error in cases:
        assert result.returncode == 1, (error, result.stderr)
        assert result.stdout == ""
        assert result.stderr.startswith(f"hfgit: error: {error}"), result.stderr
        assert result.stderr.count("\n") == 1, result.stderr
        assert hub.write_token not in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["no-such-command"],
        ["commit"],
        ["clone"],
        ["log", "-n", "many"],
        ["clone", "a/b", "--lfs", "x", "--no-lfs"],
        ["status", "--bogus"],
    ],
    ids=lambda args: " ".join(args) or "nothing",
)
def test_usage_errors_exit_2_with_the_usage_on_stderr(args: list[str], tmp_path: Path) -> None:
    result = run_hfgit(*args, cwd=tmp_path)

    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    assert result.stderr.startswith("usage: hfgit")


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_explains_itself_with_help(command: str) -> None:
    result = run_hfgit(command, "--help")

    assert ok(result).startswith(f"usage: hfgit {command}")
    assert len(result.stdout.splitlines()) > 3
    assert result.stderr == ""


def test_top_level_help_lists_every_command_and_version_names_libgit2() -> None:
    listing = ok(run_hfgit("--help"))
    assert all(f"    {command}" in listing for command in COMMANDS)
    version = ok(run_hfgit("--version"))
    assert version == f"hfgit {hfgit.__version__} (libgit2 {hfgit._native.LIBGIT2_VERSION})\n"
    module = subprocess.run(
        [sys.executable, "-m", "hfgit", "--version"], capture_output=True, text=True, check=True
    )
    assert module.stdout == version


def test_quiet_prints_nothing_and_progress_stays_off_a_pipe(
    hub: LocalHub, repo_id: str, tmp_path: Path
) -> None:
    quiet = run_hfgit("clone", "--quiet", repo_id, str(tmp_path / "quiet"), hub=hub)
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "", "")

    loud = run_hfgit("clone", repo_id, str(tmp_path / "loud"), hub=hub)
    assert ok(loud).startswith("Cloned ")
    assert loud.stderr == ""


@pytest.mark.skipif(os.name == "nt", reason="pseudo-terminals are POSIX")
def test_progress_is_drawn_on_stderr_when_it_is_a_terminal(
    hub: LocalHub, repo_id: str, tmp_path: Path
) -> None:
    import pty

    leader, follower = pty.openpty()
    try:
        try:
            result = run_hfgit("clone", repo_id, str(tmp_path / "tty"), hub=hub, stderr=follower)
        finally:
            os.close(follower)
        drawn = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # EIO: the terminal's other side is closed and drained
                break
            if not chunk:
                break
            drawn += chunk
    finally:
        os.close(leader)

    assert ok(result).startswith("Cloned ")
    assert b"Receiving objects: 100% (" in drawn or b"Checking out files: 100% (" in drawn
    assert drawn.endswith(b"\n")
    assert hub.write_token.encode() not in drawn


def test_the_demo_runs_from_the_console_script(tmp_path: Path) -> None:
    result = run_hfgit("demo", cwd=tmp_path)

    assert (
        ok(result).rstrip().endswith("OK: both clones agree, and the token is in no file on disk")
    )


def test_push_and_pull_rebase_and_create_pr_get_a_diverged_branch_out_from_the_command_line(
    hub: LocalHub, repo_id: str, tmp_path: Path
) -> None:
    work = tmp_path / "work"
    ok(run_hfgit("clone", "-q", repo_id, str(work), hub=hub))
    by_git = tmp_path / "by-git"
    git("clone", "-q", hub.repo_url(repo_id), str(by_git), token=hub.write_token)
    (by_git / "theirs.txt").write_text("theirs\n")
    git("add", "-A", cwd=by_git)
    git("commit", "-qm", "Theirs", cwd=by_git)
    git("push", "-q", "origin", "main", cwd=by_git, token=hub.write_token)
    (work / "mine.txt").write_text("mine\n")
    ok(run_hfgit("commit", "-q", "-m", "Mine", cwd=work))

    refused = run_hfgit("pull", cwd=work, hub=hub)
    assert refused.returncode == 1 and "DivergedError" in refused.stderr
    assert "--rebase" in ok(run_hfgit("pull", "--help"))
    pulled = ok(run_hfgit("pull", "--rebase", cwd=work, hub=hub))
    assert pulled.startswith("Rebased 1 local commit(s) onto ")
    assert (work / "theirs.txt").read_text() == "theirs\n"

    (work / "second.txt").write_text("second\n")
    ok(run_hfgit("commit", "-q", "-m", "For review", cwd=work))
    pushed = ok(run_hfgit("push", "--create-pr", "--pr-title", "Please review", cwd=work, hub=hub))

    assert "Pull request #1: " in pushed
    remote_refs = git("ls-remote", hub.repo_url(repo_id), token=hub.write_token)
    assert "refs/pr/1" in remote_refs
    main_tip = git("rev-parse", "HEAD", cwd=by_git).strip()
    assert f"{main_tip}\trefs/heads/main" in remote_refs
