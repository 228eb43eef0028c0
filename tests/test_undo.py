"""Undo and inspect: reset (soft, mixed, hard), restore, diff and show, Git LFS files included,
with real git reading the refs, index and tree hfgit left (`git status --porcelain`,
`git diff --cached`, `git lfs fsck`)."""

from __future__ import annotations

import fcntl
import os
import shutil
from pathlib import Path

import hfgit
import pytest
from gitcli import git, git_blob
from hfgit.testing import LocalHub
from localstate import MiB, local_state, pointer_oid, status_porcelain, write


@pytest.fixture
def work(hub: LocalHub, repo_id: str, clone_dir: Path) -> hfgit.Repository:
    """A clone with two pushed commits: v1 and v2 of a config and of LFS weights."""
    repo = hfgit.clone(repo_id, clone_dir, token=hub.write_token, endpoint=hub.endpoint)
    write(repo, "config.json", '{"lr": 0.1}\n')
    write(repo, "model.safetensors", b"v1" * (MiB // 2))
    repo.commit("v1")
    write(repo, "config.json", '{"lr": 0.2}\n')
    write(repo, "model.safetensors", b"v2" * (MiB // 2))
    repo.commit("v2")
    repo.push(token=hub.write_token)
    return repo


def lfs_object(root: Path, oid: str) -> Path:
    return root / ".git/lfs/objects" / oid[:2] / oid[2:4] / oid


# ---------------------------------------------------------------------------- reset


def test_soft_reset_moves_only_the_branch_and_keeps_the_changes_staged(
    work: hfgit.Repository,
) -> None:
    root = Path(work.path)
    v2 = work.head
    v1 = work.log()[1].id

    assert work.reset("HEAD~1", "soft") == v1

    assert git("rev-parse", "main", cwd=root).strip() == v1
    assert git("diff", "--cached", "--name-only", cwd=root).split() == [
        "config.json",
        "model.safetensors",
    ]
    assert (root / "config.json").read_text() == '{"lr": 0.2}\n'
    assert git("rev-parse", "ORIG_HEAD", cwd=root).strip() == v2


def test_mixed_reset_also_resets_the_index_leaving_the_edits_unstaged(
    work: hfgit.Repository,
) -> None:
    root = Path(work.path)
    v2 = work.head
    v1 = work.log()[1].id

    assert work.reset("HEAD~1") == v1

    assert git("diff", "--cached", "--name-only", cwd=root) == ""
    assert sorted(status_porcelain(root).splitlines()) == [
        " M config.json",
        " M model.safetensors",
    ]
    assert (root / "model.safetensors").read_bytes() == b"v2" * (MiB // 2)
    assert {e.path for e in work.status().entries if e.lfs} == {"model.safetensors"}
    # ORIG_HEAD remembers where the branch was, so the reset can be undone.
    assert work.reset("ORIG_HEAD") == v2
    assert status_porcelain(root) == ""


def test_hard_reset_rewrites_tracked_files_with_lfs_content_and_keeps_untracked_ones(
    work: hfgit.Repository,
) -> None:
    root = Path(work.path)
    write(work, "config.json", '{"lr": "uncommitted"}\n')
    write(work, "notes.txt", "untracked, kept\n")
    v1 = work.log()[1].id

    assert work.reset("HEAD~1", "hard") == v1

    assert (root / "config.json").read_text() == '{"lr": 0.1}\n'
    assert (root / "model.safetensors").read_bytes() == b"v1" * (MiB // 2)
    assert (root / "notes.txt").read_text() == "untracked, kept\n"
    assert status_porcelain(root) == "?? notes.txt\n"
    git("lfs", "fsck", cwd=root)


def test_hard_reset_downloads_lfs_objects_the_store_lacks_before_anything_moves(
    hub: LocalHub, work: hfgit.Repository
) -> None:
    root = Path(work.path)
    v1_oid = pointer_oid(git_blob("HEAD~1:model.safetensors", root))
    lfs_object(root, v1_oid).unlink()

    work.reset("HEAD~1", "hard", token=hub.write_token)

    assert (root / "model.safetensors").read_bytes() == b"v1" * (MiB // 2)
    assert lfs_object(root, v1_oid).is_file()
    assert status_porcelain(root) == ""
    git("lfs", "fsck", cwd=root)


def test_hard_reset_with_its_download_failing_changes_nothing(
    hub: LocalHub, repo_id: str, work: hfgit.Repository
) -> None:
    root = Path(work.path)
    lfs_object(root, pointer_oid(git_blob("HEAD~1:model.safetensors", root))).unlink()
    write(work, "config.json", '{"lr": "uncommitted"}\n')
    before = local_state(root)
    hub.delete_repo(repo_id)

    with pytest.raises(hfgit.HfGitError):
        work.reset("HEAD~1", "hard", token=hub.write_token)

    assert local_state(root) == before


def test_reset_to_a_missing_revision_or_with_an_unknown_mode_changes_nothing(
    work: hfgit.Repository,
) -> None:
    root = Path(work.path)
    write(work, "config.json", '{"lr": "uncommitted"}\n')
    before = local_state(root)

    with pytest.raises(hfgit.RevisionNotFoundError) as raised:
        work.reset("no-such-commit", "hard")
    assert raised.value.revision == "no-such-commit"
    with pytest.raises(hfgit.InvalidArgumentError, match="mode"):
        work.reset("HEAD~1", "keep")  # type: ignore[arg-type]

    assert local_state(root) == before


def test_reset_to_the_remote_branch_after_local_commits_returns_to_the_hub_state(
    work: hfgit.Repository,
) -> None:
    root = Path(work.path)
    pushed = work.head
    write(work, "model.safetensors", os.urandom(MiB))
    work.commit("bad run")

    assert work.reset("origin/main", "hard") == pushed

    assert (root / "model.safetensors").read_bytes() == b"v2" * (MiB // 2)
    assert status_porcelain(root) == ""


# ---------------------------------------------------------------------------- restore


def test_restore_puts_modified_and_deleted_files_back_with_lfs_content(
    work: hfgit.Repository,
) -> None:
    root = Path(work.path)
    write(work, "config.json", "broken")
    (root / "model.safetensors").unlink()
    write(work, "scratch.txt", "untracked\n")

    restored = work.restore(["config.json", "model.safetensors"])

    assert restored == ["config.json", "model.safetensors"]
    assert (root / "config.json").read_text() == '{"lr": 0.2}\n'
    assert (root / "model.safetensors").read_bytes() == b"v2" * (MiB // 2)
    assert status_porcelain(root) == "?? scratch.txt\n"
    git("lfs", "fsck", cwd=root)


def test_restore_from_a_revision_sets_the_files_and_their_index_entries(
    work: hfgit.Repository,
) -> None:
    root = Path(work.path)

    work.restore("model.safetensors", revision="HEAD~1")

    assert (root / "model.safetensors").read_bytes() == b"v1" * (MiB // 2)
    assert status_porcelain(root) == "M  model.safetensors\n"
    assert git("diff", "--cached", "HEAD~1", "--", "model.safetensors", cwd=root) == ""

    work.restore(".", revision="HEAD")
    assert status_porcelain(root) == ""
    assert (root / "model.safetensors").read_bytes() == b"v2" * (MiB // 2)


def test_restore_of_a_path_that_matches_nothing_raises_pathspec_error_and_changes_nothing(
    work: hfgit.Repository,
) -> None:
    root = Path(work.path)
    write(work, "config.json", "broken")
    write(work, "scratch.txt", "untracked\n")
    before = local_state(root)

    with pytest.raises(hfgit.PathspecError, match="no-such-file"):
        work.restore(["config.json", "no-such-file"])
    with pytest.raises(hfgit.PathspecError, match=r"scratch\.txt"):
        work.restore("scratch.txt")
    with pytest.raises(hfgit.RevisionNotFoundError):
        work.restore("config.json", revision="nope")

    assert local_state(root) == before


# ---------------------------------------------------------------------------- diff


def test_diff_shows_text_changes_and_new_files_as_git_does_and_lfs_changes_by_size(
    work: hfgit.Repository,
) -> None:
    root = Path(work.path)
    write(work, "config.json", '{"lr": 0.3}\n')
    write(work, "model.safetensors", b"v3" * MiB)
    write(work, "train.py", "print('hi')\n")
    old_oid = pointer_oid(git_blob("HEAD:model.safetensors", root))

    text = work.diff()

    assert '-{"lr": 0.2}\n+{"lr": 0.3}\n' in text
    assert "diff --git a/train.py b/train.py\n" in text
    assert "+print('hi')\n" in text
    assert (
        "diff --git a/model.safetensors b/model.safetensors\n"
        f"Git LFS file modified: {MiB} -> {2 * MiB} bytes\n"
        f"-oid sha256:{old_oid}\n"
    ) in text
    assert "version https://git-lfs" not in text
    assert "v3v3" not in text
    assert work.diff(paths="config.json").startswith("diff --git a/config.json b/config.json\n")
    # What git itself says about the text file agrees.
    assert '+{"lr": 0.3}' in git("diff", "config.json", cwd=root)


def test_diff_between_two_revisions_names_both_lfs_objects(work: hfgit.Repository) -> None:
    root = Path(work.path)
    old = pointer_oid(git_blob("HEAD~1:model.safetensors", root))
    new = pointer_oid(git_blob("HEAD:model.safetensors", root))

    text = work.diff("HEAD~1", "HEAD")

    assert (
        f"Git LFS file modified: {MiB} -> {MiB} bytes\n-oid sha256:{old}\n+oid sha256:{new}\n"
        in text
    )
    assert '-{"lr": 0.1}\n+{"lr": 0.2}\n' in text
    assert work.diff("HEAD", "HEAD") == ""


def test_diff_never_dumps_binary_and_reports_unchanged_lfs_files_as_unchanged(
    work: hfgit.Repository,
) -> None:
    write(work, "image.png", bytes(range(256)) * 4)
    # Rewritten with the same content: new stat data, same object.
    write(work, "model.safetensors", b"v2" * (MiB // 2))

    text = work.diff()

    assert text.startswith("diff --git a/image.png b/image.png\nnew file mode 100644\n")
    assert text.endswith("Binary files /dev/null and b/image.png differ\n")
    assert "model.safetensors" not in text


# ---------------------------------------------------------------------------- show


def test_show_returns_text_bytes_and_lfs_content_from_the_store(work: hfgit.Repository) -> None:
    root = Path(work.path)
    write(work, "icon.bin", b"\x00\x01\x02")
    work.commit("icon")

    assert work.show("config.json") == '{"lr": 0.2}\n'
    assert work.show("config.json", "HEAD~2") == '{"lr": 0.1}\n'
    assert work.show("icon.bin") == b"\x00\x01\x02"
    assert work.show("model.safetensors", "HEAD~2") == "v1" * (MiB // 2)
    assert work.show("model.safetensors") == (root / "model.safetensors").read_text()


def test_show_of_an_lfs_file_not_downloaded_says_so_and_of_a_missing_path_raises(
    hub: LocalHub, repo_id: str, work: hfgit.Repository, tmp_path: Path
) -> None:
    fresh = hfgit.clone(
        repo_id, tmp_path / "fresh", token=hub.write_token, endpoint=hub.endpoint, lfs=False
    )

    with pytest.raises(hfgit.LfsObjectMissingError, match=r"model\.safetensors"):
        fresh.show("model.safetensors", "HEAD~1")
    with pytest.raises(hfgit.EntryNotFoundError) as raised:
        fresh.show("no/such/file.txt")
    assert (raised.value.path, raised.value.revision) == ("no/such/file.txt", "HEAD")
    assert isinstance(raised.value, FileNotFoundError)
    with pytest.raises(hfgit.RevisionNotFoundError):
        fresh.show("config.json", "v9")
    shutil.rmtree(tmp_path / "fresh")


# ---------------------------------------------------------------------------- locks


def test_reset_restore_and_checkout_refuse_while_another_writer_holds_the_index_lock(
    work: hfgit.Repository,
) -> None:
    """With another hfgit call writing the index (its flock held), each refuses at once with
    RepositoryLockedError naming the lock, and changes nothing."""
    root = Path(work.path)
    write(work, "config.json", "broken")
    work.create_branch("other", "HEAD~1")
    before = local_state(root)
    lock_path = root / ".git/hfgit-index.lock"

    with lock_path.open("a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        for call in (
            lambda: work.reset("HEAD~1", "hard"),
            lambda: work.restore("config.json"),
            lambda: work.checkout("other"),
        ):
            with pytest.raises(hfgit.RepositoryLockedError) as raised:
                call()
            assert raised.value.filename == str(lock_path)

    assert local_state(root) == before
    work.restore("config.json")
    assert status_porcelain(root) == ""
