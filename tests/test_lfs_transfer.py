"""Git LFS over the wire: hfgit and real git-lfs on either side of the same LocalHub."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import hfgit
import pytest
from gitcli import commit_blob_with_git, git, git_with_lfs
from hfgit.testing import LocalHub, magic_content

MiB = 1024 * 1024


@pytest.fixture
def work(hub: LocalHub, repo_id: str, clone_dir: Path) -> hfgit.Repository:
    return hfgit.clone(repo_id, clone_dir, token=hub.write_token, endpoint=hub.endpoint)


def remote_head(hub: LocalHub, repo_id: str) -> str:
    out = git("ls-remote", hub.repo_url(repo_id), "refs/heads/main", token=hub.write_token)
    return out.split()[0]


def test_hfgit_push_is_cloned_by_git_lfs_with_identical_bytes(
    hub: LocalHub, repo_id: str, work: hfgit.Repository, tmp_path: Path
) -> None:
    weights = os.urandom(5 * MiB)
    (Path(work.path) / "model.safetensors").write_bytes(weights)
    (Path(work.path) / "config.json").write_text("{}")
    work.commit("weights")

    result = work.push(token=hub.write_token)

    assert result.lfs_objects_uploaded == 1 and result.lfs_bytes_uploaded == len(weights)
    assert hub.storage_authorization_seen == []
    other = tmp_path / "by-git"
    git_with_lfs("clone", "-q", hub.repo_url(repo_id), str(other), token=hub.write_token)
    assert (other / "model.safetensors").read_bytes() == weights
    assert git("status", "--porcelain", cwd=other) == ""
    git("lfs", "fsck", cwd=other)


def test_git_lfs_push_is_cloned_by_hfgit_with_identical_bytes_and_a_clean_tree(
    hub: LocalHub, repo_id: str, tmp_path: Path
) -> None:
    other = tmp_path / "by-git"
    git_with_lfs("clone", "-q", hub.repo_url(repo_id), str(other), token=hub.write_token)
    weights = os.urandom(4 * MiB)
    (other / "sub").mkdir()
    (other / "sub" / "pytorch_model.bin").write_bytes(weights)
    git("add", "-A", cwd=other)
    git("commit", "-qm", "weights by git-lfs", cwd=other)
    git_with_lfs("push", "-q", "origin", "main", cwd=other, token=hub.write_token)

    repo = hfgit.clone(repo_id, tmp_path / "mine", token=hub.write_token, endpoint=hub.endpoint)

    assert (tmp_path / "mine" / "sub" / "pytorch_model.bin").read_bytes() == weights
    assert git("status", "--porcelain", cwd=tmp_path / "mine") == ""
    assert repo.status().is_clean
    git("lfs", "fsck", cwd=tmp_path / "mine")


def test_work_tree_made_by_git_lfs_is_pushed_without_rehashing_its_files(
    hub: LocalHub, repo_id: str, tmp_path: Path
) -> None:
    other = tmp_path / "by-git"
    git_with_lfs("clone", "-q", hub.repo_url(repo_id), str(other), token=hub.write_token)
    weights = os.urandom(3 * MiB)
    (other / "model.safetensors").write_bytes(weights)
    git("add", "-A", cwd=other)
    git("commit", "-qm", "made by git-lfs", cwd=other)
    (other / "notes.txt").write_text("hfgit takes over")
    events: list[hfgit.Progress] = []

    hfgit.commit(other, "hfgit commit on a git-lfs tree", progress=events.append)
    result = hfgit.push(other, token=hub.write_token)

    assert not [e for e in events if e.phase == "lfs-clean"], "unchanged LFS file was re-hashed"
    assert result.lfs_objects_uploaded == 1
    oid = hashlib.sha256(weights).hexdigest()
    assert oid in hub.lfs_objects(repo_id)


def test_big_file_goes_up_in_multipart_parts_with_no_token_on_storage(
    hub: LocalHub, repo_id: str, work: hfgit.Repository, tmp_path: Path
) -> None:
    hub.multipart_threshold = 1 * MiB
    hub.multipart_chunk_size = 256 * 1024
    weights = os.urandom(3 * MiB + 123)
    (Path(work.path) / "model.safetensors").write_bytes(weights)
    work.commit("multipart")

    work.push(token=hub.write_token)

    part_puts = [r for r in hub.requests if r.method == "PUT" and "_lfs_storage" in r.path]
    assert len(part_puts) == 13
    assert hub.storage_authorization_seen == []
    again = hfgit.clone(repo_id, tmp_path / "again", token=hub.write_token, endpoint=hub.endpoint)
    assert (Path(again.path) / "model.safetensors").read_bytes() == weights


def test_clone_without_lfs_leaves_pointers_and_lfs_pull_fetches_by_pattern(
    hub: LocalHub, repo_id: str, work: hfgit.Repository, tmp_path: Path
) -> None:
    files = {"a.safetensors": os.urandom(MiB), "b.bin": os.urandom(MiB), "c.pt": os.urandom(MiB)}
    for name, data in files.items():
        (Path(work.path) / name).write_bytes(data)
    work.commit("three")
    work.push(token=hub.write_token)
    dest = tmp_path / "lazy"

    lazy = hfgit.clone(repo_id, dest, lfs=False, token=hub.write_token, endpoint=hub.endpoint)
    assert all((dest / n).read_bytes().startswith(b"version https://git-lfs") for n in files)

    first = lazy.lfs_pull(
        include=["*.safetensors", "b.*"], exclude=["b.bin"], token=hub.write_token
    )
    assert first.objects_downloaded == 1
    assert (dest / "a.safetensors").read_bytes() == files["a.safetensors"]
    assert (dest / "b.bin").read_bytes().startswith(b"version https://git-lfs")

    rest = lazy.lfs_pull(token=hub.write_token)
    assert rest.objects_downloaded == 2
    assert all((dest / n).read_bytes() == d for n, d in files.items())
    assert lazy.lfs_pull(token=hub.write_token).objects_downloaded == 0
    assert lazy.status().is_clean and git("status", "--porcelain", cwd=dest) == ""


def test_clone_with_an_include_list_downloads_only_those(
    hub: LocalHub, repo_id: str, work: hfgit.Repository, tmp_path: Path
) -> None:
    (Path(work.path) / "model-00001.safetensors").write_bytes(os.urandom(MiB))
    (Path(work.path) / "optimizer.pt").write_bytes(os.urandom(MiB))
    work.commit("two")
    work.push(token=hub.write_token)

    hfgit.clone(
        repo_id,
        tmp_path / "some",
        lfs=["model-0000*"],
        token=hub.write_token,
        endpoint=hub.endpoint,
    )

    assert not (tmp_path / "some" / "model-00001.safetensors").read_bytes().startswith(b"version")
    assert (tmp_path / "some" / "optimizer.pt").read_bytes().startswith(b"version https://git-lfs")


def test_missing_local_object_stops_the_push_naming_the_path(
    hub: LocalHub, repo_id: str, work: hfgit.Repository
) -> None:
    (Path(work.path) / "lost.safetensors").write_bytes(os.urandom(MiB))
    work.commit("will lose the object")
    before = remote_head(hub, repo_id)
    for obj in (Path(work.path) / ".git" / "lfs" / "objects").rglob("*"):
        if obj.is_file():
            obj.unlink()
    # Nor does the work tree hold it any more (an intact file would be cleaned into the store).
    (Path(work.path) / "lost.safetensors").write_bytes(os.urandom(MiB))

    with pytest.raises(hfgit.LfsObjectMissingError, match="lost"):
        work.push(token=hub.write_token)
    assert remote_head(hub, repo_id) == before


@pytest.mark.parametrize("code", ["404", "410", "422"])
def test_per_object_batch_error_is_an_lfs_error_and_moves_no_ref(
    hub: LocalHub, repo_id: str, work: hfgit.Repository, code: str
) -> None:
    (Path(work.path) / "bad.bin").write_bytes(magic_content(f"status-batch-{code}"))
    mine = work.commit("rejected object")
    before = remote_head(hub, repo_id)

    with pytest.raises(hfgit.LfsError, match=r"bad\.bin"):
        work.push(token=hub.write_token)
    assert work.head == mine
    assert remote_head(hub, repo_id) == before


def test_corrupt_download_is_refused_and_the_clone_removed(
    hub: LocalHub, repo_id: str, work: hfgit.Repository, tmp_path: Path
) -> None:
    (Path(work.path) / "corrupt.bin").write_bytes(magic_content("storage-download-corrupt"))
    work.commit("corrupt on the way down")
    work.push(token=hub.write_token)

    with pytest.raises(hfgit.LfsVerificationError):
        hfgit.clone(repo_id, tmp_path / "c", token=hub.write_token, endpoint=hub.endpoint)
    assert not (tmp_path / "c").exists()

    lazy = hfgit.clone(
        repo_id, tmp_path / "c", lfs=False, token=hub.write_token, endpoint=hub.endpoint
    )
    with pytest.raises(hfgit.LfsVerificationError):
        lazy.lfs_pull(token=hub.write_token)
    assert (tmp_path / "c" / "corrupt.bin").read_bytes().startswith(b"version https://git-lfs")
    assert not list((tmp_path / "c" / ".git" / "lfs" / "objects").rglob("*.*"))


def test_storage_errors_and_dropped_uploads_are_retried_until_the_push_completes(
    hub: LocalHub, tmp_path: Path
) -> None:
    hub.create_repo("alice/storage-500-once")
    repo = hfgit.clone(
        "alice/storage-500-once", tmp_path / "w", token=hub.write_token, endpoint=hub.endpoint
    )
    (tmp_path / "w" / "a.bin").write_bytes(os.urandom(MiB))
    (tmp_path / "w" / "drop.bin").write_bytes(magic_content("storage-upload-drop"))
    (tmp_path / "w" / "retry.bin").write_bytes(magic_content("storage-upload-retry"))
    repo.commit("flaky storage")

    result = repo.push(token=hub.write_token)

    assert result.lfs_objects_uploaded == 3
    assert remote_head(hub, "alice/storage-500-once") == repo.head


def test_batch_failures_keep_the_commit_and_the_next_push_uploads_only_what_is_missing(
    hub: LocalHub, repo_id: str, work: hfgit.Repository
) -> None:
    for i in range(3):
        (Path(work.path) / f"w{i}.bin").write_bytes(os.urandom(MiB))
    mine = work.commit("three objects")
    hub.faults.fail_next(20, status=500, path_contains="/objects/batch")

    with pytest.raises(hfgit.HfGitError):
        work.push(token=hub.write_token)
    assert work.head == mine
    hub.faults.clear()

    assert work.push(token=hub.write_token).lfs_objects_uploaded == 3
    (Path(work.path) / "w3.bin").write_bytes(os.urandom(MiB))
    work.commit("one more")
    assert work.push(token=hub.write_token).lfs_objects_uploaded == 1


def test_read_only_token_cannot_upload_lfs_objects(
    hub: LocalHub, repo_id: str, work: hfgit.Repository
) -> None:
    (Path(work.path) / "w.bin").write_bytes(os.urandom(MiB))
    mine = work.commit("read token")
    with pytest.raises(hfgit.AuthenticationError):
        work.push(token=hub.read_token)
    assert work.head == mine


def test_pull_downloads_lfs_files_committed_elsewhere(
    hub: LocalHub, repo_id: str, work: hfgit.Repository, tmp_path: Path
) -> None:
    other = hfgit.clone(repo_id, tmp_path / "o", token=hub.write_token, endpoint=hub.endpoint)
    data = os.urandom(2 * MiB)
    (tmp_path / "o" / "new.safetensors").write_bytes(data)
    other.commit("new weights")
    other.push(token=hub.write_token)

    work.pull(token=hub.write_token)

    assert (Path(work.path) / "new.safetensors").read_bytes() == data
    assert work.status().is_clean


def test_corrupt_pointer_in_the_tree_travels_as_a_plain_blob(
    hub: LocalHub, repo_id: str, work: hfgit.Repository, tmp_path: Path
) -> None:
    corrupt = b"version https://git-lfs.github.com/spec/v1\noid sha256:not-hex\nsize 12\n"
    commit_blob_with_git(Path(work.path), "broken.bin", corrupt, "corrupt pointer")

    result = work.push(token=hub.write_token)

    assert result.lfs_objects_uploaded == 0
    again = hfgit.clone(repo_id, tmp_path / "again", token=hub.write_token, endpoint=hub.endpoint)
    assert (Path(again.path) / "broken.bin").read_bytes() == corrupt


def test_non_canonical_pointer_is_still_smudged_like_git_lfs_does(
    hub: LocalHub, repo_id: str, work: hfgit.Repository, tmp_path: Path
) -> None:
    data = os.urandom(MiB)
    (Path(work.path) / "real.bin").write_bytes(data)
    work.commit("upload the object once")
    work.push(token=hub.write_token)
    oid = hashlib.sha256(data).hexdigest()
    crlf = f"version https://git-lfs.github.com/spec/v1\r\noid sha256:{oid}\r\nsize {MiB}\r\n"
    commit_blob_with_git(Path(work.path), "crlf.bin", crlf.encode(), "non-canonical pointer")
    work.push(token=hub.write_token)

    again = hfgit.clone(repo_id, tmp_path / "again", token=hub.write_token, endpoint=hub.endpoint)

    assert (Path(again.path) / "crlf.bin").read_bytes() == data


def test_hub_refuses_a_big_plain_blob_pushed_past_hfgit_and_says_why(
    hub: LocalHub, repo_id: str, work: hfgit.Repository
) -> None:
    commit_blob_with_git(Path(work.path), "big.txt", b"z" * (11 * MiB), "plain big blob")
    mine = work.head

    with pytest.raises(hfgit.PushRejectedError) as info:
        work.push(token=hub.write_token)

    assert "larger than 10 MiB" in (info.value.reason or "")
    assert info.value.ref == "refs/heads/main"
    assert work.head == mine


def test_lfs_bytes_reach_the_progress_callback_on_push_and_clone(
    hub: LocalHub, repo_id: str, work: hfgit.Repository, tmp_path: Path
) -> None:
    (Path(work.path) / "w.safetensors").write_bytes(os.urandom(2 * MiB))
    work.commit("weights")
    pushed: list[hfgit.Progress] = []
    cloned: list[hfgit.Progress] = []

    work.push(token=hub.write_token, progress=pushed.append)
    hfgit.clone(
        repo_id,
        tmp_path / "c",
        token=hub.write_token,
        endpoint=hub.endpoint,
        progress=cloned.append,
    )

    assert max(e.bytes for e in pushed if e.phase == "lfs-upload") == 2 * MiB
    assert max(e.bytes for e in cloned if e.phase == "lfs-download") == 2 * MiB


def test_rate_limited_batch_is_retried_after_the_servers_retry_after(
    hub: LocalHub, tmp_path: Path
) -> None:
    hub.create_repo("alice/batch-429")
    repo = hfgit.clone(
        "alice/batch-429", tmp_path / "w", token=hub.write_token, endpoint=hub.endpoint
    )
    (tmp_path / "w" / "a.bin").write_bytes(os.urandom(MiB))
    repo.commit("rate limited")

    started = time.monotonic()
    result = repo.push(token=hub.write_token)

    assert result.lfs_objects_uploaded == 1
    assert time.monotonic() - started >= 2.0, "Retry-After: 1 was not honoured twice"
