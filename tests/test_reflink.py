"""On a file system that shares blocks, a commit does not keep a second copy of a checkpoint.

The file system is real: an XFS image made with ``reflink=1`` on a loop device, mounted by the
test (this needs root and ``mkfs.xfs`` from xfsprogs; elsewhere the tests say why they did not run
and the rest of the suite goes on). Used blocks are read with statvfs, as ``df`` does.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import hfgit
import pytest
from gitcli import git, git_with_lfs
from hfgit.testing import LocalHub

MiB = 1024 * 1024


@pytest.fixture
def reflink_disk(tmp_path: Path) -> Iterator[Path]:
    """A 512 MiB XFS with reflink, on a loop device, unmounted afterwards."""
    if os.geteuid() != 0:
        pytest.skip("mounting an XFS image needs root; run the suite as root to test reflinks")
    mkfs = shutil.which("mkfs.xfs")
    if mkfs is None:
        pytest.skip("mkfs.xfs is missing: apt-get install xfsprogs (scripts/check.sh does)")
    image = tmp_path / "xfs.img"
    with image.open("wb") as sparse:
        sparse.truncate(512 * MiB)
    made = subprocess.run([mkfs, "-q", "-m", "reflink=1", str(image)], capture_output=True)
    if made.returncode != 0:
        pytest.skip(f"mkfs.xfs refused: {made.stderr.decode(errors='replace').strip()}")
    mount = tmp_path / "xfs"
    mount.mkdir()
    result = subprocess.run(
        ["mount", "-o", "loop", str(image), str(mount)], capture_output=True, text=True
    )
    if result.returncode != 0:
        pytest.skip(f"this machine refuses to mount an XFS image: {result.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def clone_onto(disk: Path, hub: LocalHub, repo_id: str) -> hfgit.Repository:
    return hfgit.clone(repo_id, disk / "clone", token=hub.write_token, endpoint=hub.endpoint)


def used_bytes(directory: Path) -> int:
    """Bytes in use on the file system of `directory`, once pending writes have been allocated."""
    os.sync()
    stat = os.statvfs(directory)
    return (stat.f_blocks - stat.f_bfree) * stat.f_frsize


def test_committing_64_mib_on_xfs_with_reflink_shares_the_blocks_and_the_object_verifies(
    hub: LocalHub, repo_id: str, reflink_disk: Path, tmp_path: Path
) -> None:
    work = clone_onto(reflink_disk, hub, repo_id)
    root = Path(work.path)
    data = os.urandom(64 * MiB)
    (root / "model.safetensors").write_bytes(data)
    before = used_bytes(reflink_disk)

    work.commit("64 MiB on a file system that shares blocks", progress=False)

    grown = used_bytes(reflink_disk) - before
    assert grown < 4 * MiB, f"the commit used {grown / MiB:.1f} MiB"
    oid = hashlib.sha256(data).hexdigest()
    stored = root / ".git" / "lfs" / "objects" / oid[:2] / oid[2:4] / oid
    assert hashlib.sha256(stored.read_bytes()).hexdigest() == oid
    git("lfs", "fsck", cwd=root)
    assert git("status", "--porcelain", cwd=root) == ""

    # The object is a file of its own: rewriting the checkpoint in place leaves it as it was.
    with (root / "model.safetensors").open("r+b") as checkpoint:
        checkpoint.write(b"the next step's weights")
    assert hashlib.sha256(stored.read_bytes()).hexdigest() == oid
    work.push(token=hub.write_token, progress=False)
    fresh = tmp_path / "fresh"
    git_with_lfs("clone", "-q", hub.repo_url(repo_id), str(fresh), token=hub.read_token)
    assert (fresh / "model.safetensors").read_bytes() == data


def test_a_file_written_to_while_it_is_committed_is_refused_or_recorded_as_it_was_cloned(
    hub: LocalHub, repo_id: str, reflink_disk: Path
) -> None:
    work = clone_onto(reflink_disk, hub, repo_id)
    root = Path(work.path)
    checkpoint = root / "model.safetensors"
    checkpoint.write_bytes(os.urandom(32 * MiB))
    writer = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import os, sys, time\n"
            "with open(sys.argv[1], 'r+b') as f:\n"
            "    print('writing', flush=True)\n"
            "    while True:\n"
            "        f.seek(0); f.write(os.urandom(4096)); f.flush(); time.sleep(0.0005)\n",
            str(checkpoint),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    outcomes: list[str] = []
    try:
        assert writer.stdout is not None and writer.stdout.readline() == "writing\n"
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and outcomes.count("LfsFileChangedError") < 3:
            try:
                work.commit("written to all the time", progress=False)
                outcomes.append("committed")
            except hfgit.LfsFileChangedError:
                outcomes.append("LfsFileChangedError")
    finally:
        writer.kill()
        writer.communicate()

    assert "LfsFileChangedError" in outcomes, outcomes
    assert not any((root / ".git" / "lfs" / "tmp").iterdir())
    objects = root / ".git" / "lfs" / "objects"
    for stored in (path for path in objects.glob("*/*/*") if path.is_file()):
        assert hashlib.sha256(stored.read_bytes()).hexdigest() == stored.name
    # Whatever the index recorded describes the bytes that were committed: once the writer has
    # stopped, a commit sees the last write (or there was none since), and HEAD names the file.
    with contextlib.suppress(hfgit.NothingToCommitError):
        work.commit("after the writer stopped", progress=False)
    pointer = git("cat-file", "-p", "HEAD:model.safetensors", cwd=root)
    assert f"oid sha256:{hashlib.sha256(checkpoint.read_bytes()).hexdigest()}" in pointer
