"""Inputs where hfgit once wrote other bytes than git + git-lfs; git's answer is the oracle.

Every test starts from the smallest input that showed a kind of failure (pointers already in the
work tree, empty LFS files, pointer extensions, status staging a mode change, linked worktrees,
pathspecs with glob characters, nested repositories, detached HEAD), and checks the right value
with the real git CLI and git-lfs.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
from pathlib import Path

import hfgit
import pytest
from gitcli import commit_blob_with_git, git, git_blob, git_with_lfs
from hfgit.testing import LocalHub

MiB = 1024 * 1024
SPEC = "version https://git-lfs.github.com/spec/v1"
EMPTY_OID = hashlib.sha256(b"").hexdigest()


def pointer_text(data: bytes) -> bytes:
    oid = hashlib.sha256(data).hexdigest()
    return f"{SPEC}\noid sha256:{oid}\nsize {len(data)}\n".encode()


@pytest.fixture
def work(hub: LocalHub, repo_id: str, clone_dir: Path) -> hfgit.Repository:
    return hfgit.clone(repo_id, clone_dir, token=hub.write_token, endpoint=hub.endpoint)


def git_clone(hub: LocalHub, repo_id: str, dest: Path) -> Path:
    git_with_lfs("clone", "-q", hub.repo_url(repo_id), str(dest), token=hub.write_token)
    return dest


# 1. A work-tree file that already is a pointer goes into git unchanged.


@pytest.mark.parametrize("line_end", ["\n", "\r\n"])
def test_a_file_that_already_is_a_pointer_is_committed_unchanged_as_git_lfs_does(
    work: hfgit.Repository, hub: LocalHub, repo_id: str, tmp_path: Path, line_end: str
) -> None:
    pointer = pointer_text(b"seventeen bytes!!").decode().replace("\n", line_end).encode()
    (Path(work.path) / "x.bin").write_bytes(pointer)
    work.commit("a pointer as it is")

    other = git_clone(hub, repo_id, tmp_path / "git")
    (other / "x.bin").write_bytes(pointer)
    git("add", "x.bin", cwd=other)

    assert git_blob("HEAD:x.bin", cwd=Path(work.path)) == pointer
    assert git("rev-parse", "HEAD:x.bin", cwd=Path(work.path)) == git(
        "rev-parse", ":x.bin", cwd=other
    )
    assert work.status().is_clean
    assert git("status", "--porcelain", cwd=Path(work.path)) == ""


def test_pointers_left_by_a_clone_without_lfs_survive_touch_rename_and_copy(
    hub: LocalHub, repo_id: str, tmp_path: Path
) -> None:
    weights = os.urandom(2 * MiB)
    first = hfgit.clone(repo_id, tmp_path / "first", token=hub.write_token, endpoint=hub.endpoint)
    (Path(first.path) / "model.safetensors").write_bytes(weights)
    first.commit("weights")
    first.push(token=hub.write_token)
    lazy = hfgit.clone(
        repo_id, tmp_path / "lazy", lfs=False, token=hub.write_token, endpoint=hub.endpoint
    )
    root = Path(lazy.path)
    os.utime(root / "model.safetensors", (1, 1))
    assert lazy.status().is_clean
    shutil.copy(root / "model.safetensors", root / "copy.safetensors")
    (root / "model.safetensors").rename(root / "renamed.safetensors")
    (root / "notes.txt").write_text("touched\n")

    lazy.commit("rename and copy a file that was never downloaded")
    lazy.push(token=hub.write_token)

    fresh = git_clone(hub, repo_id, tmp_path / "fresh")
    assert (fresh / "renamed.safetensors").read_bytes() == weights
    assert (fresh / "copy.safetensors").read_bytes() == weights
    assert not (fresh / "model.safetensors").exists()


# 2. The empty LFS file is written as an empty file, without a download.


def test_an_empty_lfs_file_is_checked_out_empty_without_any_download(
    hub: LocalHub, repo_id: str, work: hfgit.Repository, tmp_path: Path
) -> None:
    pointer = f"{SPEC}\noid sha256:{EMPTY_OID}\nsize 0\n".encode()
    commit_blob_with_git(Path(work.path), "empty.bin", pointer, "empty LFS file")
    work.push(token=hub.write_token)
    hub.clear_requests()

    again = hfgit.clone(repo_id, tmp_path / "again", token=hub.write_token, endpoint=hub.endpoint)

    assert (Path(again.path) / "empty.bin").read_bytes() == b""
    assert again.status().is_clean
    assert not [r for r in hub.requests if "objects/batch" in r.path]
    # git + git-lfs write the same empty file, and then `git status` calls it modified: git treats
    # an index entry of size 0 whose blob is not empty as changed, and cleaning the empty file
    # gives the empty blob, not this pointer. hfgit's clone leaves git exactly where git's does.
    oracle = git_clone(hub, repo_id, tmp_path / "oracle")
    assert (oracle / "empty.bin").read_bytes() == b""
    assert git("status", "--porcelain", cwd=Path(again.path)) == git(
        "status", "--porcelain", cwd=oracle
    )
    lazy = hfgit.clone(
        repo_id, tmp_path / "lazy", lfs=False, token=hub.write_token, endpoint=hub.endpoint
    )
    lazy.lfs_pull(token=hub.write_token)
    assert (Path(lazy.path) / "empty.bin").read_bytes() == b""
    assert lazy.status().is_clean


# 3. A pointer with an extension is refused, never smudged into the extension's output.


def push_gzip_extension_pointer(hub: LocalHub, repo_id: str, tmp_path: Path) -> tuple[str, bytes]:
    """Push, with real git + git-lfs, a pointer whose object is the gzip of the file."""
    original = b"the real file, before the gzip extension\n" * 100
    stored = gzip.compress(original)
    stored_oid = hashlib.sha256(stored).hexdigest()
    pointer = (
        f"{SPEC}\next-0-gzip sha256:{hashlib.sha256(original).hexdigest()}\n"
        f"oid sha256:{stored_oid}\nsize {len(stored)}\n"
    ).encode()
    side = git_clone(hub, repo_id, tmp_path / "pusher")
    (side / "plain.safetensors").write_bytes(b"plain weights " * 1000)
    git("add", "plain.safetensors", cwd=side)
    git("commit", "-qm", "plain weights", cwd=side)
    objects = side / ".git" / "lfs" / "objects" / stored_oid[:2] / stored_oid[2:4]
    objects.mkdir(parents=True, exist_ok=True)
    (objects / stored_oid).write_bytes(stored)
    commit_blob_with_git(side, "packed.bin", pointer, "a pointer with a gzip extension")
    git_with_lfs("push", "-q", "origin", "main", cwd=side, token=hub.write_token)
    return "packed.bin", pointer


def test_a_pointer_with_an_extension_fails_the_clone_with_a_typed_error_naming_it(
    hub: LocalHub, repo_id: str, tmp_path: Path
) -> None:
    push_gzip_extension_pointer(hub, repo_id, tmp_path)
    dest = tmp_path / "clone"

    with pytest.raises(hfgit.LfsExtensionError, match=r"packed\.bin.*gzip") as info:
        hfgit.clone(repo_id, dest, token=hub.write_token, endpoint=hub.endpoint)

    assert isinstance(info.value, hfgit.LfsError)
    assert not dest.exists()


def test_a_pointer_with_an_extension_stays_a_pointer_and_can_be_left_out(
    hub: LocalHub, repo_id: str, tmp_path: Path
) -> None:
    path, pointer = push_gzip_extension_pointer(hub, repo_id, tmp_path)
    lazy = hfgit.clone(
        repo_id, tmp_path / "lazy", lfs=False, token=hub.write_token, endpoint=hub.endpoint
    )
    root = Path(lazy.path)

    with pytest.raises(hfgit.LfsExtensionError):
        lazy.lfs_pull(token=hub.write_token)
    assert (root / path).read_bytes() == pointer

    lazy.lfs_pull(token=hub.write_token, exclude=[path])
    assert (root / "plain.safetensors").read_bytes() == b"plain weights " * 1000
    assert (root / path).read_bytes() == pointer
    assert lazy.status().is_clean


# 4. Looking never stages; commit(paths=...) commits only those paths.


def test_status_leaves_a_mode_change_unstaged_as_git_status_does(
    work: hfgit.Repository,
) -> None:
    root = Path(work.path)
    (root / "data.bin").write_bytes(os.urandom(4096))
    work.commit("data")
    (root / "data.bin").chmod(0o755)
    (root / "other.txt").write_text("other\n")

    status = work.status()

    assert status.modified == ["data.bin"]
    assert git("status", "--porcelain", cwd=root).splitlines() == [" M data.bin", "?? other.txt"]
    work.commit("only the other file", paths=["other.txt"])
    assert git("ls-tree", "HEAD", "data.bin", cwd=root).startswith("100644 ")
    assert git("status", "--porcelain", cwd=root).splitlines() == [" M data.bin"]


def test_commit_with_paths_leaves_changes_staged_elsewhere_out_of_the_commit(
    work: hfgit.Repository,
) -> None:
    root = Path(work.path)
    (root / "staged.txt").write_text("staged by git add\n")
    git("add", "staged.txt", cwd=root)
    (root / "mine.txt").write_text("committed\n")

    work.commit("only mine", paths=["mine.txt"])

    assert git("ls-tree", "--name-only", "HEAD", cwd=root).split() == [
        ".gitattributes",
        "mine.txt",
    ]
    assert git("status", "--porcelain", cwd=root).splitlines() == ["A  staged.txt"]


# 5. Linked worktrees share the LFS store of the common git directory.


def test_a_linked_worktree_keeps_lfs_objects_in_the_common_store(
    work: hfgit.Repository, hub: LocalHub, tmp_path: Path
) -> None:
    root = Path(work.path)
    linked = tmp_path / "wt"
    git("worktree", "add", "-q", "-b", "exp", str(linked), cwd=root)
    weights = os.urandom(MiB)
    (linked / "model.safetensors").write_bytes(weights)

    hfgit.commit(linked, "weights in a linked worktree")

    oid = hashlib.sha256(weights).hexdigest()
    common = root / ".git" / "lfs" / "objects" / oid[:2] / oid[2:4] / oid
    assert common.read_bytes() == weights
    assert not (root / ".git" / "worktrees" / "wt" / "lfs").exists()
    git("lfs", "fsck", cwd=linked)
    assert git("status", "--porcelain", cwd=linked) == ""
    hfgit.push(linked, token=hub.write_token, branch="exp")


# 6. A pathspec that names an existing path is that path, not a glob.


@pytest.mark.parametrize(
    ("named", "look_alike"),
    [
        ("test[test]/test", "testt/test"),
        ("star*.txt", "starA.txt"),
        ("q?.txt", "qq.txt"),
        ("#hash.txt", "hash.txt"),
        ("!bang.txt", "bang.txt"),
    ],
)
def test_a_path_with_glob_characters_names_that_path_only_as_git_add_does(
    work: hfgit.Repository, tmp_path: Path, named: str, look_alike: str
) -> None:
    root = Path(work.path)
    for path in (named, look_alike):
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(f"{path}\n")
    oracle = tmp_path / "oracle"
    shutil.copytree(root, oracle, symlinks=True)
    git("add", "--", named, cwd=oracle)

    work.commit("one path", paths=[named])

    assert git("ls-tree", "-r", "--name-only", "HEAD", cwd=root) == git(
        "ls-files", cwd=oracle
    ).replace(".gitattributes\n", ".gitattributes\n")
    assert look_alike.split("/")[0] in git("status", "--porcelain", "-uall", cwd=root)


def test_a_glob_that_names_no_path_still_matches_as_a_glob(work: hfgit.Repository) -> None:
    root = Path(work.path)
    for name in ("a.txt", "b.txt", "c.md"):
        (root / name).write_text(name)

    work.commit("glob", paths=["*.txt"])

    assert git("ls-tree", "--name-only", "HEAD", cwd=root).split() == [
        ".gitattributes",
        "a.txt",
        "b.txt",
    ]


def test_a_path_beyond_a_symbolic_link_is_refused_as_git_refuses_it(
    work: hfgit.Repository,
) -> None:
    root = Path(work.path)
    (root / "realdir").mkdir()
    (root / "realdir" / "file.txt").write_text("real\n")
    (root / "linkdir").symlink_to("realdir")
    head = work.head

    with pytest.raises(hfgit.InvalidArgumentError, match="beyond a symbolic link"):
        work.commit("through the link", paths=["linkdir/file.txt"])

    assert work.head == head


def test_an_ignored_path_named_by_paths_is_refused_as_ignored(work: hfgit.Repository) -> None:
    root = Path(work.path)
    (root / ".gitignore").write_text("*.log\n")
    work.commit("ignore logs")
    (root / "new.log").write_text("log\n")
    head = work.head

    with pytest.raises(hfgit.IgnoredPathError, match=r"new\.log"):
        work.commit("the ignored file", paths=["new.log"])

    assert isinstance(hfgit.IgnoredPathError("x"), ValueError)
    assert work.head == head


# 8. A nested repository: status and commit agree, and the commit says what to do.


def test_a_nested_repository_is_untracked_for_status_and_refused_by_commit(
    work: hfgit.Repository,
) -> None:
    root = Path(work.path)
    nested = root / "nested"
    nested.mkdir()
    git("init", "-q", cwd=nested)
    (nested / "inner.txt").write_text("inner\n")
    git("add", "inner.txt", cwd=nested)
    git("commit", "-qm", "inner", cwd=nested)
    (root / "other.txt").write_text("other\n")
    head = work.head

    assert "nested/" in work.status().untracked
    assert "?? nested/" in git("status", "--porcelain", cwd=root).splitlines()
    with pytest.raises(hfgit.NestedRepositoryError, match="nested/"):
        work.commit("everything")
    assert work.head == head

    work.commit("just the other file", paths=["other.txt"])
    assert git("ls-tree", "--name-only", "HEAD", cwd=root).split() == [
        ".gitattributes",
        "other.txt",
    ]


# 9. Messages name options the failing call has.


def test_pull_on_a_detached_head_names_pull_and_no_option_it_lacks(
    work: hfgit.Repository,
) -> None:
    root = Path(work.path)
    git("checkout", "-q", "--detach", cwd=root)

    with pytest.raises(hfgit.DetachedHeadError) as info:
        work.pull()

    assert "pull()" in str(info.value)
    assert "branch=" not in str(info.value)


# Also seen: a CRLF pointer blob is modified for git status once its stat data is stale.


def test_a_crlf_pointer_blob_is_reported_modified_like_git_status_does(
    hub: LocalHub, repo_id: str, work: hfgit.Repository, tmp_path: Path
) -> None:
    data = os.urandom(MiB)
    (Path(work.path) / "real.bin").write_bytes(data)
    work.commit("upload the object once")
    work.push(token=hub.write_token)
    crlf = pointer_text(data).replace(b"\n", b"\r\n")
    commit_blob_with_git(Path(work.path), "crlf.bin", crlf, "non-canonical pointer")
    work.push(token=hub.write_token)
    again = hfgit.clone(repo_id, tmp_path / "again", token=hub.write_token, endpoint=hub.endpoint)
    root = Path(again.path)
    os.utime(root / "crlf.bin", (1, 1))

    ours = again.status().modified
    theirs = git("status", "--porcelain", cwd=root).splitlines()

    assert ours == ["crlf.bin"]
    assert theirs == [" M crlf.bin"]


# Found by a new user: paths= given as one string, mistyped, or empty.


def test_one_path_given_alone_commits_that_path_not_the_characters_of_its_name(
    work: hfgit.Repository,
) -> None:
    root = Path(work.path)
    (root / "config.json").write_text("{}\n")
    (root / "secrets.env").write_text("TOKEN=x\n")

    work.commit("config only", paths="config.json")
    hfgit.commit(
        root, "a Path works too", paths=Path("secrets.env").parent / "config.json", allow_empty=True
    )

    assert git("ls-tree", "--name-only", "HEAD", cwd=root).split() == [
        ".gitattributes",
        "config.json",
    ]


@pytest.mark.parametrize("paths", [["a.tx"], ["*.log"], []])
def test_paths_that_match_no_file_are_refused_instead_of_reporting_nothing_to_commit(
    work: hfgit.Repository, paths: list[str]
) -> None:
    root = Path(work.path)
    (root / ".gitignore").write_text("*.log\n")
    (root / "a.txt").write_text("a\n")
    (root / "x.log").write_text("ignored\n")
    head = work.head

    with pytest.raises(hfgit.InvalidArgumentError) as info:
        work.commit("typo", paths=paths)

    assert not isinstance(info.value, hfgit.NothingToCommitError)
    if paths:
        assert isinstance(info.value, hfgit.PathspecError)
        assert paths[0] in str(info.value)
    assert work.head == head


def test_status_right_after_a_git_clone_calls_racily_clean_lfs_files_clean(
    hub: LocalHub, repo_id: str, work: hfgit.Repository, tmp_path: Path
) -> None:
    (Path(work.path) / "model.bin").write_bytes(os.urandom(64 * 1024))
    work.commit("weights")
    work.push(token=hub.write_token)
    for attempt in range(5):
        fresh = git_clone(hub, repo_id, tmp_path / f"fresh{attempt}")
        assert hfgit.Repository(fresh).status().is_clean
        with pytest.raises(hfgit.NothingToCommitError):
            hfgit.commit(fresh, "nothing changed")


@pytest.mark.parametrize("how", ["lfs=False", "GIT_LFS_SKIP_SMUDGE"])
def test_an_empty_lfs_file_is_written_empty_even_when_nothing_is_downloaded(
    hub: LocalHub,
    repo_id: str,
    work: hfgit.Repository,
    tmp_path: Path,
    how: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (Path(work.path) / "big.bin").write_bytes(b"weights" * 1000)
    work.commit("a real one")
    pointer = f"{SPEC}\noid sha256:{EMPTY_OID}\nsize 0\n".encode()
    commit_blob_with_git(Path(work.path), "zero.bin", pointer, "empty LFS file")
    work.push(token=hub.write_token)
    if how == "GIT_LFS_SKIP_SMUDGE":
        monkeypatch.setenv("GIT_LFS_SKIP_SMUDGE", "1")
    lazy = hfgit.clone(
        repo_id,
        tmp_path / "lazy",
        lfs=False if how == "lfs=False" else None,
        token=hub.write_token,
        endpoint=hub.endpoint,
    )

    assert (Path(lazy.path) / "zero.bin").read_bytes() == b""
    assert (Path(lazy.path) / "big.bin").read_bytes().startswith(b"version ")
    assert lazy.status().is_clean
