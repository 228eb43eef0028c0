"""Xet uploads: hfgit pushes to a Xet-enabled LocalHub through the Hub's crates and the crates' own
CAS server, and real git + git-lfs sees an ordinary LFS repository."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import hfgit
import pytest
from gitcli import commit_blob_with_git, git, git_with_lfs
from hfgit import _native
from hfgit.testing import LocalHub

MiB = 1024 * 1024

pytestmark = pytest.mark.skipif(
    not hasattr(_native, "_xet_shard_files"), reason="built without the xet feature"
)


@pytest.fixture
def xet_hub(hub: LocalHub) -> LocalHub:
    if not hub.xet_available:
        pytest.skip("no local_cas_server: run scripts/build-xet-cas.sh")
    return hub


@pytest.fixture
def work(xet_hub: LocalHub, repo_id: str, clone_dir: Path) -> hfgit.Repository:
    return hfgit.clone(repo_id, clone_dir, token=xet_hub.write_token, endpoint=xet_hub.endpoint)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def commit_weights(work: hfgit.Repository, data: bytes, message: str = "weights") -> None:
    (Path(work.path) / "model.safetensors").write_bytes(data)
    work.commit(message)


def test_a_push_goes_through_xet_and_real_git_lfs_clones_it_byte_identical(
    xet_hub: LocalHub, repo_id: str, work: hfgit.Repository, tmp_path: Path
) -> None:
    weights = os.urandom(6 * MiB)
    commit_weights(work, weights)

    result = work.push(token=xet_hub.write_token)

    assert result.lfs_objects_uploaded == 1 and result.lfs_bytes_uploaded == len(weights)
    assert 0 < result.lfs_bytes_sent <= len(weights) * 1.05
    assert xet_hub.xet_objects(repo_id) == {sha256(weights)}
    assert xet_hub.xet_shards_received == 1
    assert xet_hub.storage_authorization_seen == []
    other = tmp_path / "by-git"
    git_with_lfs("clone", "-q", xet_hub.repo_url(repo_id), str(other), token=xet_hub.write_token)
    assert (other / "model.safetensors").read_bytes() == weights
    assert git("status", "--porcelain", cwd=other) == ""
    pointer = git("show", "HEAD:model.safetensors", cwd=other)
    assert pointer.startswith("version https://git-lfs.github.com/spec/v1\noid sha256:")
    git("lfs", "fsck", cwd=other)


def test_a_second_push_of_a_checkpoint_changed_in_place_sends_only_what_changed(
    xet_hub: LocalHub, work: hfgit.Repository
) -> None:
    size = 48 * MiB
    weights = bytearray(os.urandom(size))
    commit_weights(work, bytes(weights), "step 1")
    first = work.push(token=xet_hub.write_token)
    received_after_first = xet_hub.xet_bytes_received

    # 5% of the file, in three contiguous regions: a fine-tune of a few layers.
    region = size * 5 // 100 // 3
    for start in (size // 10, size // 2, size - 2 * region):
        weights[start : start + region] = os.urandom(region)
    commit_weights(work, bytes(weights), "step 2")
    second = work.push(token=xet_hub.write_token)

    assert first.lfs_bytes_sent >= size * 0.95
    assert second.lfs_bytes_uploaded == size
    assert second.lfs_bytes_sent <= size * 0.10, second
    assert second.lfs_bytes_deduplicated >= size * 0.85
    assert xet_hub.xet_bytes_received - received_after_first <= size * 0.10


def test_clients_without_xet_keep_working_against_a_xet_repo(
    xet_hub: LocalHub, repo_id: str, work: hfgit.Repository, tmp_path: Path
) -> None:
    weights = os.urandom(3 * MiB)
    commit_weights(work, weights)
    work.push(token=xet_hub.write_token, lfs_transfer="basic")
    assert xet_hub.xet_objects(repo_id) == set()
    assert xet_hub.xet_shards_received == 0

    other = tmp_path / "by-git"
    git_with_lfs("clone", "-q", xet_hub.repo_url(repo_id), str(other), token=xet_hub.write_token)
    more = os.urandom(2 * MiB)
    (other / "more.bin").write_bytes(more)
    git("add", "-A", cwd=other)
    git("commit", "-qm", "by git-lfs", cwd=other)
    git_with_lfs("push", "-q", "origin", "main", cwd=other, token=xet_hub.write_token)
    assert xet_hub.xet_shards_received == 0
    work.pull(token=xet_hub.write_token)
    assert (Path(work.path) / "more.bin").read_bytes() == more


def test_the_environment_variable_forces_basic(
    xet_hub: LocalHub, repo_id: str, work: hfgit.Repository, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HFGIT_LFS_TRANSFER", "basic")
    commit_weights(work, os.urandom(MiB))
    work.push(token=xet_hub.write_token)
    assert xet_hub.xet_shards_received == 0


def test_a_repo_without_xet_answers_basic_and_forcing_xet_there_fails(
    xet_hub: LocalHub, tmp_path: Path
) -> None:
    xet_hub.create_repo("alice/no-xet", xet=False)
    repo = hfgit.clone(
        "alice/no-xet", tmp_path / "c", token=xet_hub.write_token, endpoint=xet_hub.endpoint
    )
    commit_weights(repo, os.urandom(MiB))
    with pytest.raises(hfgit.InvalidArgumentError, match="does not offer it"):
        repo.push(token=xet_hub.write_token, lfs_transfer="xet")
    repo.push(token=xet_hub.write_token)
    assert xet_hub.xet_shards_received == 0


def test_a_download_after_a_xet_upload_returns_the_right_bytes(
    xet_hub: LocalHub, repo_id: str, work: hfgit.Repository, tmp_path: Path
) -> None:
    weights = os.urandom(5 * MiB + 123)
    commit_weights(work, weights)
    work.push(token=xet_hub.write_token)

    again = hfgit.clone(
        repo_id, tmp_path / "again", token=xet_hub.write_token, endpoint=xet_hub.endpoint
    )

    assert (Path(again.path) / "model.safetensors").read_bytes() == weights


def test_a_pointer_whose_object_arrived_by_neither_path_is_refused(
    xet_hub: LocalHub, repo_id: str, tmp_path: Path
) -> None:
    other = tmp_path / "by-git"
    git("clone", "-q", xet_hub.repo_url(repo_id), str(other), token=xet_hub.write_token)
    oid = sha256(b"never uploaded")
    pointer = f"version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize 14\n"
    commit_blob_with_git(other, "ghost.bin", pointer.encode(), "pointer only")
    with pytest.raises(AssertionError, match="pointed to a file that does not exist"):
        git("push", "-q", "origin", "main", cwd=other, token=xet_hub.write_token)


def test_a_short_lived_cas_token_is_refreshed_through_the_token_route(
    xet_hub: LocalHub, repo_id: str, work: hfgit.Repository
) -> None:
    xet_hub.xet_token_lifetime = 5  # inside the crates' 30 s refresh margin
    weights = os.urandom(4 * MiB)
    commit_weights(work, weights)

    work.push(token=xet_hub.write_token)

    assert xet_hub.xet_token_requests >= 1
    assert xet_hub.xet_objects(repo_id) == {sha256(weights)}


def test_a_cas_that_is_down_makes_the_push_fall_back_to_basic_with_a_warning(
    xet_hub: LocalHub,
    repo_id: str,
    work: hfgit.Repository,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("HF_XET_CLIENT_RETRY_MAX_ATTEMPTS", "1")
    xet_hub.xet_fail_next(1000)
    weights = os.urandom(2 * MiB)
    commit_weights(work, weights)

    with caplog.at_level(logging.WARNING, logger="hfgit"):
        result = work.push(token=xet_hub.write_token)

    assert result.lfs_objects_uploaded == 1
    assert xet_hub.xet_objects(repo_id) == set()
    assert xet_hub.lfs_object_path(sha256(weights)) is not None
    assert any("Xet upload failed" in record.getMessage() for record in caplog.records)


def test_a_cas_that_is_down_fails_a_push_that_forces_xet(
    xet_hub: LocalHub, work: hfgit.Repository, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_XET_CLIENT_RETRY_MAX_ATTEMPTS", "1")
    xet_hub.xet_fail_next(1000)
    commit_weights(work, os.urandom(MiB))
    with pytest.raises(hfgit.LfsError):
        work.push(token=xet_hub.write_token, lfs_transfer="xet")


def test_a_token_route_that_refuses_the_token_raises_an_authentication_error(
    xet_hub: LocalHub, work: hfgit.Repository
) -> None:
    xet_hub.xet_token_lifetime = 5  # every CAS call asks the route first
    xet_hub.faults.fail_next(20, 401, path_contains="xet-write-token")
    commit_weights(work, os.urandom(MiB))
    with pytest.raises(hfgit.AuthenticationError):
        work.push(token=xet_hub.write_token)
    assert xet_hub.xet_shards_received == 0


def token_route(hub: LocalHub, repo_id: str, revision: str, authorization: str) -> tuple[int, str]:
    url = f"{hub.endpoint}/api/models/{repo_id}/xet-write-token/{revision}"
    request = urllib.request.Request(url, headers={"Authorization": authorization})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_the_token_route_takes_bearer_only_and_a_read_token_only_for_pull_requests(
    xet_hub: LocalHub, repo_id: str
) -> None:
    basic = base64.b64encode(f"user:{xet_hub.write_token}".encode()).decode()
    assert token_route(xet_hub, repo_id, "main", f"Basic {basic}")[0] == 401

    status, body = token_route(xet_hub, repo_id, "main", f"Bearer {xet_hub.write_token}")
    assert status == 200
    answer = json.loads(body)
    assert set(answer) == {"accessToken", "exp", "casUrl"}
    assert answer["casUrl"] == xet_hub.xet_cas_url

    status, body = token_route(xet_hub, repo_id, "main", f"Bearer {xet_hub.read_token}")
    assert status == 403 and "create_pr=1" in body
    status, _ = token_route(xet_hub, repo_id, "refs%2Fpr%2F1", f"Bearer {xet_hub.read_token}")
    assert status == 200


def test_objects_the_hub_already_has_get_no_xet_upload_at_all(
    xet_hub: LocalHub, repo_id: str, work: hfgit.Repository
) -> None:
    weights = os.urandom(3 * MiB)
    commit_weights(work, weights)
    work.push(token=xet_hub.write_token)
    received, shards = xet_hub.xet_bytes_received, xet_hub.xet_shards_received

    (Path(work.path) / "copy.safetensors").write_bytes(weights)  # same object, new path
    work.commit("the same weights again")
    result = work.push(token=xet_hub.write_token)

    assert result.lfs_objects_uploaded == 0 and result.lfs_bytes_sent == 0
    assert (xet_hub.xet_bytes_received, xet_hub.xet_shards_received) == (received, shards)


def test_a_xet_push_reports_its_bytes_and_files_as_they_go(
    xet_hub: LocalHub, work: hfgit.Repository
) -> None:
    sizes = [4 * MiB, 2 * MiB + 7]
    for index, size in enumerate(sizes):
        (Path(work.path) / f"shard-{index}.safetensors").write_bytes(os.urandom(size))
    work.commit("two shards")
    events: list[hfgit.Progress] = []

    work.push(token=xet_hub.write_token, progress=events.append)

    uploads = [event for event in events if event.phase == "lfs-upload"]
    assert uploads, [event.phase for event in events]
    assert uploads[-1].bytes == sum(sizes) and uploads[-1].done == uploads[-1].total == 2
    moved = [event.bytes for event in uploads]
    assert moved == sorted(moved), "bytes only go up"


def test_the_progress_of_a_second_push_says_how_much_the_hub_already_had(
    xet_hub: LocalHub, work: hfgit.Repository
) -> None:
    size = 16 * MiB
    weights = bytearray(os.urandom(size))
    commit_weights(work, bytes(weights), "step 1")
    work.push(token=xet_hub.write_token)
    weights[: MiB // 2] = os.urandom(MiB // 2)
    commit_weights(work, bytes(weights), "step 2")
    events: list[hfgit.Progress] = []

    result = work.push(token=xet_hub.write_token, progress=events.append)

    uploads = [event for event in events if event.phase == "lfs-upload"]
    assert uploads[-1].deduplicated == result.lfs_bytes_deduplicated >= size * 0.8
    assert all(event.deduplicated == 0 for event in events if event.phase != "lfs-upload")


INTERRUPTED_PUSH = """
import sys, hfgit
try:
    hfgit.Repository(sys.argv[1]).push(token=sys.argv[2], progress=False)
except KeyboardInterrupt:
    sys.exit(42)
"""


def test_ctrl_c_during_a_xet_upload_stops_it_within_two_seconds_and_moves_nothing(
    xet_hub: LocalHub, repo_id: str, work: hfgit.Repository, tmp_path: Path
) -> None:
    weights = os.urandom(256 * MiB)  # four xorbs: the first is stored long before the last
    commit_weights(work, weights)
    mine = work.head
    remote_before = git("--git-dir", str(xet_hub.repo_path(repo_id)), "rev-parse", "main")
    received_before = xet_hub.xet_bytes_received
    child = subprocess.Popen(
        [sys.executable, "-c", INTERRUPTED_PUSH, work.path, xet_hub.write_token],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while xet_hub.xet_bytes_received == received_before and child.poll() is None:
            assert time.monotonic() < deadline, "no xorb reached the CAS in 60 s"
            time.sleep(0.02)
        assert child.poll() is None, "the push ended before it could be interrupted"
        interrupted = time.monotonic()
        child.send_signal(signal.SIGINT)
        _, stderr = child.communicate(timeout=30)
        stopped_after = time.monotonic() - interrupted
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()

    assert child.returncode == 42, stderr
    assert stopped_after < 2.0
    assert xet_hub.xet_shards_received == 0
    assert xet_hub.xet_objects(repo_id) == set()
    assert git("--git-dir", str(xet_hub.repo_path(repo_id)), "rev-parse", "main") == remote_before
    assert hfgit.Repository(work.path).head == mine

    work.push(token=xet_hub.write_token)
    assert xet_hub.xet_objects(repo_id) == {sha256(weights)}
    other = tmp_path / "git-lfs-clone"
    git_with_lfs("clone", "-q", xet_hub.repo_url(repo_id), str(other), token=xet_hub.write_token)
    assert (other / "model.safetensors").read_bytes() == weights


@pytest.mark.parametrize("damage", ["truncated", "bit flipped"])
def test_a_damaged_local_object_is_refused_before_the_shard_and_the_push_can_be_repaired(
    xet_hub: LocalHub, repo_id: str, work: hfgit.Repository, tmp_path: Path, damage: str
) -> None:
    weights = os.urandom(3 * MiB)
    commit_weights(work, weights)
    oid = sha256(weights)
    stored = Path(work.path) / ".git" / "lfs" / "objects" / oid[:2] / oid[2:4] / oid
    stored.chmod(0o644)
    broken = bytearray(weights)
    if damage == "truncated":
        del broken[-10:]
    else:
        broken[12345] ^= 0x01
    stored.write_bytes(bytes(broken))
    remote_head = git("ls-remote", xet_hub.repo_url(repo_id), "refs/heads/main").split()[0]

    with pytest.raises(hfgit.LfsVerificationError, match="is damaged") as refused:
        work.push(token=xet_hub.write_token)

    assert "model.safetensors" in str(refused.value)
    assert git("ls-remote", xet_hub.repo_url(repo_id), "refs/heads/main").split()[0] == remote_head
    assert oid not in xet_hub.xet_objects(repo_id)
    stored.write_bytes(weights)
    work.push(token=xet_hub.write_token)
    again = hfgit.clone(
        repo_id, tmp_path / "again", token=xet_hub.write_token, endpoint=xet_hub.endpoint
    )
    assert (Path(again.path) / "model.safetensors").read_bytes() == weights


def test_a_cas_that_stays_down_is_left_for_basic_within_seconds_not_minutes(
    xet_hub: LocalHub,
    repo_id: str,
    work: hfgit.Repository,
    caplog: pytest.LogCaptureFixture,
) -> None:
    xet_hub.xet_fail_next(100_000)
    weights = os.urandom(2 * MiB)
    commit_weights(work, weights)

    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="hfgit"):
        result = work.push(token=xet_hub.write_token)
    waited = time.monotonic() - started

    assert result.lfs_objects_uploaded == 1
    assert xet_hub.lfs_object_path(sha256(weights)) is not None
    warning = next(r.getMessage() for r in caplog.records if "Xet upload failed" in r.getMessage())
    assert "try again" not in warning
    # The crates' own retries (5, from 3 s apart, doubling) took 278 s here.
    assert waited < 60, f"the push waited {waited:.0f} s before falling back"
