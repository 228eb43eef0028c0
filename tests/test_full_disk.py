"""A full disk is reported as a full disk: ``errno.ENOSPC``, the path, never a network error.

The file systems are real: a small tmpfs mounted by the test (this needs root; elsewhere the tests
say why they did not run and the rest of the suite goes on).
"""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import hfgit
import pytest
from gitcli import git
from hfgit.testing import LocalHub

MiB = 1024 * 1024


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 6 MiB tmpfs, unmounted afterwards."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root; run the suite as root to test a full disk")
    mount = tmp_path / "small"
    mount.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        pytest.skip(f"this machine refuses to mount a tmpfs: {result.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(directory: Path, leave: int) -> None:
    """Fill the file system of `directory` until only about `leave` bytes are free."""
    stat = os.statvfs(directory)
    free = stat.f_bavail * stat.f_frsize
    if free > leave:
        (directory / "filler").write_bytes(b"\0" * (free - leave))


def test_an_lfs_commit_on_a_full_disk_raises_enospc_with_the_path_and_commits_nothing(
    hub: LocalHub, repo_id: str, small_disk: Path
) -> None:
    work = hfgit.clone(repo_id, small_disk / "clone", token=hub.write_token, endpoint=hub.endpoint)
    root = Path(work.path)
    (root / "model.safetensors").write_bytes(os.urandom(2 * MiB + MiB // 2))
    fill(small_disk, leave=MiB)
    head = work.head

    with pytest.raises(hfgit.LfsStoreError) as info:
        work.commit("does not fit")

    assert info.value.errno == errno.ENOSPC
    assert isinstance(info.value, OSError)
    assert ".git/lfs/tmp" in (info.value.filename or "")
    assert "No space left on device" in str(info.value)
    assert "broken pipe" not in str(info.value).lower()
    assert work.head == head
    assert not any((root / ".git" / "lfs" / "tmp").iterdir())
    (small_disk / "filler").unlink()
    work.commit("fits now")
    git("fsck", "--full", cwd=root)


def test_a_plain_file_commit_on_a_full_disk_raises_enospc_naming_the_file_and_commits_nothing(
    hub: LocalHub, repo_id: str, small_disk: Path
) -> None:
    work = hfgit.clone(repo_id, small_disk / "clone", token=hub.write_token, endpoint=hub.endpoint)
    root = Path(work.path)
    # Not LFS-tracked and incompressible, so git's object store must hold all of it.
    (root / "notes.txt").write_bytes(os.urandom(2 * MiB).hex().encode()[: 2 * MiB])
    fill(small_disk, leave=MiB)
    head = work.head

    with pytest.raises(hfgit.LocalIOError) as info:
        work.commit("does not fit")

    assert info.value.errno == errno.ENOSPC
    assert "notes.txt" in (info.value.filename or "")
    assert "No space left on device" in str(info.value)
    assert "no error" not in str(info.value)
    assert work.head == head
    (small_disk / "filler").unlink()
    work.commit("fits now")
    git("fsck", "--full", cwd=root)


def test_a_clone_onto_a_full_disk_is_a_local_io_error_not_a_connection_error(
    hub: LocalHub, repo_id: str, small_disk: Path, tmp_path: Path
) -> None:
    seed = hfgit.clone(repo_id, tmp_path / "seed", token=hub.write_token, endpoint=hub.endpoint)
    (Path(seed.path) / "corpus.txt").write_bytes(os.urandom(3 * MiB).hex().encode()[: 3 * MiB])
    seed.commit("three MiB of text")
    seed.push(token=hub.write_token)
    fill(small_disk, leave=MiB)
    dest = small_disk / "clone"

    with pytest.raises(hfgit.LocalIOError) as info:
        hfgit.clone(repo_id, dest, token=hub.write_token, endpoint=hub.endpoint)

    assert info.value.errno == errno.ENOSPC
    assert not isinstance(info.value, ConnectionError)
    assert not dest.exists()
