"""Pruning the local LFS store: what the remote has and nothing local needs goes, the rest stays.

Every case is built with real git + git-lfs beside hfgit (branches, tags, stashes, linked
worktrees, staging), and checked against what they see: the store on disk, `git lfs fsck`, and a
fresh `git clone` of the remote, which must still get every byte.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import random
import subprocess
import threading
import time
from pathlib import Path

import hfgit
import pytest
from gitcli import git, git_with_lfs
from hfgit.testing import LocalHub

MiB = 1024 * 1024


@pytest.fixture
def work(hub: LocalHub, repo_id: str, clone_dir: Path) -> hfgit.Repository:
    return hfgit.clone(repo_id, clone_dir, token=hub.write_token, endpoint=hub.endpoint)


def weights(version: int, size: int = 2 * MiB) -> bytes:
    """Deterministic, distinct bytes per version."""
    return random.Random(version).randbytes(size)


def oid(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def stored(root: Path) -> set[str]:
    """The oids in the clone's LFS store."""
    objects = root / ".git" / "lfs" / "objects"
    return {path.name for path in objects.glob("*/*/*") if path.is_file()}


def save(work: hfgit.Repository, version: int, name: str = "model.safetensors") -> str:
    """Write version `version` of the weights into the work tree, commit it, return its oid."""
    data = weights(version)
    (Path(work.path) / name).write_bytes(data)
    work.commit(f"weights v{version}", progress=False)
    return oid(data)


def push(work: hfgit.Repository, hub: LocalHub, *, prune_lfs: bool = False) -> hfgit.PushResult:
    return work.push(token=hub.write_token, progress=False, prune_lfs=prune_lfs)


def test_pushed_old_versions_are_removed_and_so_is_the_checked_out_one_held_by_the_work_tree(
    work: hfgit.Repository, hub: LocalHub, repo_id: str, clone_dir: Path
) -> None:
    oids = []
    for version in range(3):
        oids.append(save(work, version))
        push(work, hub)
    assert stored(clone_dir) == set(oids)
    assert git("status", "--porcelain", cwd=clone_dir) == ""

    result = work.lfs_prune()

    assert stored(clone_dir) == set()
    assert set(result.removed) == set(oids)
    assert (result.objects_removed, result.bytes_freed) == (3, 3 * 2 * MiB)
    assert (result.objects_kept, result.bytes_kept) == (0, 0)
    assert not result.dry_run
    assert (clone_dir / "model.safetensors").read_bytes() == weights(2)
    assert work.status().is_clean
    assert set(oids) <= hub.lfs_objects(repo_id)
    assert work.lfs_prune().objects_removed == 0


def test_push_with_prune_lfs_leaves_only_the_work_tree_copy(
    work: hfgit.Repository, hub: LocalHub, clone_dir: Path
) -> None:
    for version in range(3):
        save(work, version)
        result = push(work, hub, prune_lfs=True)
        assert result.lfs_pruned is not None
        assert stored(clone_dir) == set()
    assert result.lfs_pruned.objects_removed == 1
    assert push(work, hub).lfs_pruned is None


def test_an_unpushed_commit_keeps_its_object_and_pushes_after_the_prune(
    work: hfgit.Repository, hub: LocalHub, repo_id: str, clone_dir: Path, tmp_path: Path
) -> None:
    first = save(work, 1)
    push(work, hub)
    second = save(work, 2)

    result = work.lfs_prune()

    assert result.removed == (first,)
    assert stored(clone_dir) == {second}
    push(work, hub)
    fresh = tmp_path / "fresh"
    git_with_lfs("clone", "-q", hub.repo_url(repo_id), str(fresh), token=hub.read_token)
    assert (fresh / "model.safetensors").read_bytes() == weights(2)
    git("lfs", "fsck", cwd=fresh)


def test_a_staged_object_is_kept_even_after_its_file_is_deleted(
    work: hfgit.Repository, hub: LocalHub, repo_id: str, clone_dir: Path, tmp_path: Path
) -> None:
    first = save(work, 1)
    push(work, hub)
    (clone_dir / "model.safetensors").write_bytes(weights(2))
    git("add", "model.safetensors", cwd=clone_dir)  # git-lfs's clean filter stores the object
    (clone_dir / "model.safetensors").unlink()

    result = work.lfs_prune()

    assert oid(weights(2)) in stored(clone_dir)
    assert first in stored(clone_dir), "HEAD's file is gone: restoring it needs the object"
    assert result.objects_removed == 0
    git("commit", "-qm", "staged weights", cwd=clone_dir)
    push(work, hub)
    fresh = tmp_path / "fresh"
    git_with_lfs("clone", "-q", hub.repo_url(repo_id), str(fresh), token=hub.read_token)
    assert git("ls-files", cwd=fresh).split() == [".gitattributes", "model.safetensors"]
    assert (fresh / "model.safetensors").read_bytes() == weights(2)


def test_unpushed_branches_tags_and_stashes_keep_their_objects_and_a_pushed_branch_does_not(
    work: hfgit.Repository, hub: LocalHub, clone_dir: Path
) -> None:
    on_main = save(work, 1)
    push(work, hub)
    git("checkout", "-q", "-b", "pushed", cwd=clone_dir)
    on_pushed = save(work, 2)
    push(work, hub)
    git("checkout", "-q", "-b", "unpushed", "main", cwd=clone_dir)
    on_unpushed = save(work, 3)
    git("checkout", "-q", "--detach", "main", cwd=clone_dir)
    on_tag = save(work, 4)
    git("tag", "unpushed-tag", cwd=clone_dir)
    git("checkout", "-q", "main", cwd=clone_dir)
    (clone_dir / "model.safetensors").write_bytes(weights(5))
    git("stash", "-q", cwd=clone_dir)
    (clone_dir / "model.safetensors").write_bytes(weights(6))
    git("stash", "-q", cwd=clone_dir)  # the first stash is now only in refs/stash's reflog
    stashed = {oid(weights(5)), oid(weights(6))}
    assert stashed <= stored(clone_dir)
    assert work.status().is_clean  # settles entries git left racily clean (same clock tick)

    result = work.lfs_prune()

    assert set(result.removed) == {on_main, on_pushed}
    assert stored(clone_dir) == {on_unpushed, on_tag, *stashed}
    git("stash", "pop", "-q", cwd=clone_dir)
    assert (clone_dir / "model.safetensors").read_bytes() == weights(6)


def test_linked_worktrees_keep_what_their_head_and_index_need_and_let_go_what_they_hold(
    work: hfgit.Repository, hub: LocalHub, clone_dir: Path, tmp_path: Path
) -> None:
    v1 = save(work, 1)
    head_v1 = work.head
    push(work, hub)
    v2 = save(work, 2)
    head_v2 = work.head
    push(work, hub)
    save(work, 3)
    push(work, hub)
    intact = tmp_path / "intact"
    damaged = tmp_path / "damaged"
    git("worktree", "add", "-q", "--detach", str(intact), str(head_v2), cwd=clone_dir)
    git("worktree", "add", "-q", "--detach", str(damaged), str(head_v1), cwd=clone_dir)
    (damaged / "model.safetensors").unlink()
    (damaged / "staged.safetensors").write_bytes(weights(7))
    git("add", "staged.safetensors", cwd=damaged)
    (damaged / "staged.safetensors").unlink()
    assert hfgit.Repository(intact).status().is_clean  # settles racily clean entries

    result = hfgit.Repository(intact).lfs_prune()  # run from a linked worktree: same store

    assert stored(clone_dir) == {v1, oid(weights(7))}
    assert v2 in result.removed
    git("checkout", "--", "model.safetensors", cwd=damaged)
    assert (damaged / "model.safetensors").read_bytes() == weights(1)


def test_an_edited_deleted_or_never_downloaded_work_tree_file_keeps_its_object(
    work: hfgit.Repository, hub: LocalHub, repo_id: str, clone_dir: Path, tmp_path: Path
) -> None:
    model = save(work, 1, "model.safetensors")
    extra = save(work, 2, "extra.safetensors")
    push(work, hub)
    with (clone_dir / "model.safetensors").open("r+b") as edited:
        edited.write(b"edited in place, same length")
    (clone_dir / "extra.safetensors").unlink()

    assert work.lfs_prune().objects_removed == 0
    assert stored(clone_dir) == {model, extra}

    pointers_only = hfgit.clone(
        repo_id, tmp_path / "pointers", token=hub.write_token, endpoint=hub.endpoint, lfs=False
    )
    root = Path(pointers_only.path)
    git_with_lfs("lfs", "fetch", "origin", "main", cwd=root, token=hub.read_token)
    assert stored(root) == {model, extra}
    assert pointers_only.lfs_prune().objects_removed == 0, "the files are still pointers"


def test_dry_run_reports_what_would_go_and_removes_nothing(
    work: hfgit.Repository, hub: LocalHub, clone_dir: Path
) -> None:
    old = save(work, 1)
    push(work, hub)
    current = save(work, 2)
    push(work, hub)

    preview = work.lfs_prune(dry_run=True)

    assert preview.dry_run
    assert set(preview.removed) == {old, current}
    assert preview.bytes_freed == 4 * MiB
    assert stored(clone_dir) == {old, current}
    assert set(work.lfs_prune().removed) == set(preview.removed)


def test_git_lfs_fsck_after_a_prune_reports_only_the_checked_out_objects_until_they_are_fetched(
    work: hfgit.Repository, hub: LocalHub, repo_id: str, clone_dir: Path, tmp_path: Path
) -> None:
    save(work, 1)
    push(work, hub)
    current = save(work, 2)
    push(work, hub)
    work.lfs_prune()

    report = git_lfs_fsck(clone_dir)

    assert report.returncode != 0
    missing = [line for line in report.stdout.splitlines() if "could not be checked" in line]
    assert len(missing) == 1 and current in missing[0], report.stdout
    git_with_lfs("lfs", "fetch", cwd=clone_dir, token=hub.read_token)
    assert git_lfs_fsck(clone_dir).returncode == 0
    fresh = tmp_path / "fresh"
    git_with_lfs("clone", "-q", hub.repo_url(repo_id), str(fresh), token=hub.read_token)
    git_with_lfs("lfs", "fetch", "--all", cwd=fresh, token=hub.read_token)
    git("lfs", "fsck", cwd=fresh)


def git_lfs_fsck(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "lfs", "fsck", "--dry-run"], cwd=root, capture_output=True, text=True, timeout=60
    )


def test_verify_remote_keeps_objects_the_server_does_not_have(
    work: hfgit.Repository, hub: LocalHub, clone_dir: Path
) -> None:
    lost = save(work, 1)
    push(work, hub)
    kept_by_server = save(work, 2)
    push(work, hub)
    lost_path = hub.lfs_object_path(lost)
    assert lost_path is not None
    lost_path.unlink()  # the server lost it, though its history says it was pushed
    assert set(work.lfs_prune(dry_run=True).removed) == {lost, kept_by_server}

    result = work.lfs_prune(verify_remote=True, token=hub.read_token)

    assert result.removed == (kept_by_server,)
    assert result.unverified == (lost,)
    assert (result.objects_kept, result.bytes_kept) == (1, 2 * MiB)
    assert stored(clone_dir) == {lost}


def test_a_push_to_an_empty_remote_after_a_prune_cleans_the_work_tree_file_again(
    work: hfgit.Repository, hub: LocalHub, clone_dir: Path, tmp_path: Path
) -> None:
    current = save(work, 1)
    push(work, hub)
    work.lfs_prune()
    assert stored(clone_dir) == set()
    backup = "alice/backup"
    hub.create_repo(backup)
    git("remote", "add", "backup", hub.repo_url(backup), cwd=clone_dir)

    # force: a new Hub repo starts with a commit of its own (.gitattributes)
    result = work.push(remote="backup", force=True, token=hub.write_token, progress=False)

    assert result.lfs_objects_uploaded == 1
    assert current in hub.lfs_objects(backup)
    fresh = tmp_path / "fresh"
    git_with_lfs("clone", "-q", hub.repo_url(backup), str(fresh), token=hub.read_token)
    assert (fresh / "model.safetensors").read_bytes() == weights(1)


def test_a_pruned_object_whose_file_was_edited_is_never_uploaded_under_its_old_oid(
    work: hfgit.Repository, hub: LocalHub, clone_dir: Path
) -> None:
    current = save(work, 1)
    push(work, hub)
    work.lfs_prune()
    with (clone_dir / "model.safetensors").open("r+b") as edited:
        edited.write(b"edited")
    backup = "alice/backup-edited"
    hub.create_repo(backup)
    git("remote", "add", "backup", hub.repo_url(backup), cwd=clone_dir)

    with pytest.raises(hfgit.LfsObjectMissingError, match=r"model\.safetensors"):
        work.push(remote="backup", force=True, token=hub.write_token, progress=False)

    assert current not in hub.lfs_objects(backup)
    assert stored(clone_dir) == set()


def test_a_failed_prune_after_a_push_is_a_warning_and_the_push_stands(
    work: hfgit.Repository, hub: LocalHub, clone_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    current = save(work, 1)
    lock = (clone_dir / ".git" / "hfgit-index.lock").open("a")
    fcntl.flock(lock, fcntl.LOCK_EX)  # another writer of the index, as a commit would be
    try:
        with caplog.at_level(logging.WARNING, logger="hfgit"):
            result = push(work, hub, prune_lfs=True)
    finally:
        lock.close()

    assert result.updates[0].new == work.head
    assert result.lfs_pruned is None
    assert "pruning the local LFS store" in caplog.text
    assert stored(clone_dir) == {current}


def test_a_prune_racing_commits_never_removes_an_object_a_commit_is_about_to_reference(
    work: hfgit.Repository, hub: LocalHub, clone_dir: Path
) -> None:
    # Each round's commit puts back a version the remote has (so a prune may take its object),
    # and is pushed, so no unpushed commit protects the next round's object: only the index lock
    # keeps a prune from running between the commit's clean and the commit itself.
    versions = [save(work, 1), save(work, 2)]
    push(work, hub)
    stop = threading.Event()
    prunes: list[int] = []
    failures: list[BaseException] = []

    def prune_all_the_time() -> None:
        while not stop.is_set():
            try:
                prunes.append(work.lfs_prune(progress=False).objects_removed)
            except hfgit.RepositoryLockedError:
                time.sleep(0.001)
            except BaseException as error:
                failures.append(error)
                return

    pruner = threading.Thread(target=prune_all_the_time)
    pruner.start()
    try:
        for round_ in range(12):
            version = round_ % 2
            (clone_dir / "model.safetensors").write_bytes(weights(1 + version))
            while True:
                try:
                    work.commit(f"back to v{1 + version}", progress=False)
                    break
                except hfgit.RepositoryLockedError:
                    time.sleep(0.001)
            assert versions[version] in stored(clone_dir), f"round {round_}: the object is gone"
            push(work, hub)
    finally:
        stop.set()
        pruner.join(60)
    assert not failures, failures
    assert sum(prunes) >= 6, prunes
    assert work.status().is_clean
