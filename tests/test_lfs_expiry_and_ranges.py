"""Signed storage URLs that expire while a transfer is still retrying, and downloads in ranges.

LocalHub signs every storage URL with an expiry (`lfs_action_expires_in`) and answers 403 once
it has passed, as presigned S3 URLs do; its storage can cap each request's rate, refuse GETs
that answer more than `max_whole_download` bytes (the Hub's rule for objects over 50 GB),
ignore `Range`, and keep a multipart upload open across batches (`multipart_resume`).
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs

import hfgit
import pytest
from gitcli import git_with_lfs
from hfgit.testing import LocalHub
from hfgit.testing.state import RequestRecord

MiB = 1024 * 1024


@pytest.fixture(autouse=True)
def lfs_over_basic(monkeypatch: pytest.MonkeyPatch) -> None:
    """Signed storage URLs, multipart renewal and ranged GETs of objects stored as LFS objects:
    the basic/multipart path. LocalHub's repos are Xet-enabled, so pushes would otherwise go
    through Xet (whose token refresh tests/test_xet.py covers)."""
    monkeypatch.setenv("HFGIT_LFS_TRANSFER", "basic")


@pytest.fixture
def work(hub: LocalHub, repo_id: str, clone_dir: Path) -> hfgit.Repository:
    return hfgit.clone(repo_id, clone_dir, token=hub.write_token, endpoint=hub.endpoint)


def storage(hub: LocalHub, method: str, part: str = "") -> list[RequestRecord]:
    return [
        r
        for r in hub.requests
        if r.method == method and r.path.startswith("/_lfs_storage/") and part in r.path
    ]


def batches(hub: LocalHub) -> list[RequestRecord]:
    return [r for r in hub.requests if r.path.endswith("/info/lfs/objects/batch")]


def query(record: RequestRecord) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(record.query).items()}


def status_of(hub: LocalHub, record: RequestRecord, method: str) -> int:
    """Send the request of `record` again, now, without a body; its status."""
    connection = http.client.HTTPConnection("127.0.0.1", int(hub.endpoint.rsplit(":", 1)[1]))
    try:
        connection.request(method, f"{record.path}?{record.query}", body=b"x")
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


# ---------------------------------------------------------------------- expiring storage URLs


def test_a_push_whose_storage_retries_outlast_the_signed_url_gets_a_fresh_one(
    hub: LocalHub, repo_id: str, work: hfgit.Repository
) -> None:
    # Four 503s: attempts at t = 0, 1, 3, 7 and 15 s; the URL handed out at t = 0 dies at 8 s.
    hub.lfs_action_expires_in = 8
    weights = os.urandom(MiB)
    (Path(work.path) / "model.safetensors").write_bytes(weights)
    work.commit("weights")
    hub.faults.fail_next(4, 503, path_contains="/_lfs_storage/")

    result = work.push(token=hub.write_token)

    assert result.lfs_objects_uploaded == 1
    puts = storage(hub, "PUT")
    assert [r.status for r in puts] == [503, 503, 503, 503, 200]
    assert len(batches(hub)) >= 2, "the upload action was never asked for again"
    # The first URL has really expired: using it now is refused, as the old client's fifth
    # attempt was.
    assert query(puts[-1])["exp"] != query(puts[0])["exp"]
    assert status_of(hub, puts[0], "PUT") == 403
    assert hashlib.sha256(weights).hexdigest() in hub.lfs_objects(repo_id)


def six_part_upload(hub: LocalHub, work: hfgit.Repository) -> bytes:
    hub.multipart_threshold = MiB
    hub.multipart_chunk_size = MiB
    weights = os.urandom(6 * MiB)
    (Path(work.path) / "model.safetensors").write_bytes(weights)
    work.commit("six parts")
    return weights


def test_a_multipart_upload_slower_than_its_urls_continues_the_same_upload_with_fresh_urls(
    hub: LocalHub, repo_id: str, work: hfgit.Repository, tmp_path: Path
) -> None:
    # One part at a time, 2 s each: part 5 starts at t = 8 s, when the first URLs expire.
    hub.lfs_action_expires_in = 8
    hub.storage_rate_limit = MiB // 2
    hub.multipart_resume = True
    weights = six_part_upload(hub, work)

    work.push(token=hub.write_token, lfs_concurrency=1)

    parts = storage(hub, "PUT", "/parts/")
    assert [r.status for r in parts] == [200] * 6, "every part went up once"
    assert len({query(r)["uploadId"] for r in parts}) == 1
    assert len({query(r)["exp"] for r in parts}) >= 2, "no part used a renewed URL"
    assert len(batches(hub)) >= 2
    assert status_of(hub, parts[0], "PUT") == 403
    again = hfgit.clone(repo_id, tmp_path / "again", token=hub.write_token, endpoint=hub.endpoint)
    assert (Path(again.path) / "model.safetensors").read_bytes() == weights


def test_a_multipart_upload_whose_renewal_starts_a_new_upload_sends_every_part_again(
    hub: LocalHub, repo_id: str, work: hfgit.Repository, tmp_path: Path
) -> None:
    # LocalHub's default, like a server that starts an upload per batch: new URLs come with a
    # new upload id, so the parts already sent under the old one cannot be completed.
    hub.lfs_action_expires_in = 8
    weights = six_part_upload(hub, work)
    hub.faults.fail_next(4, 503, path_contains="/parts/3?")

    work.push(token=hub.write_token, lfs_concurrency=1)

    parts = storage(hub, "PUT", "/parts/")
    first, final = query(parts[0])["uploadId"], query(parts[-1])["uploadId"]

    def sent(upload: str) -> list[int]:
        return sorted(
            int(r.path.rsplit("/", 1)[1])
            for r in parts
            if query(r)["uploadId"] == upload and r.status == 200
        )

    assert first != final
    assert sent(first) == [1, 2], "parts 1 and 2 went up before part 3 stalled"
    assert sent(final) == [1, 2, 3, 4, 5, 6], "the new upload got every part"
    completions = [r for r in storage(hub, "POST") if r.path.endswith("/complete")]
    assert [query(r)["uploadId"] for r in completions] == [final]
    assert all(r.status in (200, 503) for r in parts), "no part went to an expired URL"
    again = hfgit.clone(repo_id, tmp_path / "again", token=hub.write_token, endpoint=hub.endpoint)
    assert (Path(again.path) / "model.safetensors").read_bytes() == weights


def test_a_403_from_storage_is_met_with_one_fresh_batch_then_the_transfer_carries_on(
    hub: LocalHub, repo_id: str, work: hfgit.Repository, tmp_path: Path
) -> None:
    weights = os.urandom(MiB)
    (Path(work.path) / "model.safetensors").write_bytes(weights)
    work.commit("weights")
    hub.faults.fail_next(1, 403, path_contains="/_lfs_storage/")
    work.push(token=hub.write_token)
    assert [r.status for r in storage(hub, "PUT")] == [403, 200]
    assert len(batches(hub)) == 2

    hub.clear_requests()
    hub.faults.fail_next(1, 403, path_contains="/_lfs_storage/")
    again = hfgit.clone(repo_id, tmp_path / "again", token=hub.write_token, endpoint=hub.endpoint)
    assert (Path(again.path) / "model.safetensors").read_bytes() == weights
    assert [r.status for r in storage(hub, "GET")] == [403, 200]
    assert len(batches(hub)) == 2


def test_storage_that_keeps_refusing_fails_after_one_fresh_batch_with_the_servers_words(
    hub: LocalHub, repo_id: str, work: hfgit.Repository
) -> None:
    (Path(work.path) / "model.safetensors").write_bytes(os.urandom(MiB))
    work.commit("weights")
    hub.faults.fail_next(2, 403, path_contains="/_lfs_storage/")

    with pytest.raises(hfgit.LfsTransferError) as info:
        work.push(token=hub.write_token)

    assert [r.status for r in storage(hub, "PUT")] == [403, 403]
    assert len(batches(hub)) == 2
    assert "403" in str(info.value) and "model.safetensors" in str(info.value)


# ---------------------------------------------------------------------- downloads in ranges


def pushed(hub: LocalHub, work: hfgit.Repository, size: int, name: str = "model.bin") -> bytes:
    """Commit and push one LFS file of `size` random bytes; its content."""
    data = os.urandom(size)
    (Path(work.path) / name).write_bytes(data)
    work.commit(f"add {name}")
    work.push(token=hub.write_token)
    hub.clear_requests()
    return data


def ranges_asked(hub: LocalHub) -> list[tuple[int, int]]:
    """(first, last) byte of every ranged storage GET, in order."""
    spans = []
    for record in storage(hub, "GET"):
        assert record.range is not None, f"a storage GET without Range: {record}"
        first, _, last = record.range.removeprefix("bytes=").partition("-")
        spans.append((int(first), int(last)))
    return spans


PULL_TWO_AT_ONCE = (
    "import hfgit, sys; "
    "hfgit.Repository(sys.argv[1]).lfs_pull(token=sys.argv[2], lfs_concurrency=2)"
)


def written(record: Path) -> int:
    """Bytes a download's record says are on disk (0 while there is no record)."""
    try:
        text = record.read_text()
    except FileNotFoundError:
        return 0
    return sum(s["written"] for s in json.loads(text or "{}").get("segments", []))


def start_until_recorded(
    code: str,
    arguments: list[str],
    record: Path,
    at_least: int,
    *,
    env: dict[str, str] | None = None,
) -> subprocess.Popen[str]:
    """Run `code` in a child Python (Ctrl-C handled, output captured) until `record` says
    `at_least` bytes are on disk; the child is still running when this returns."""
    package = str(Path(hfgit.__file__).resolve().parent.parent)
    child = subprocess.Popen(
        [sys.executable, "-c", code, *arguments],
        env={**os.environ, "PYTHONPATH": package, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    try:
        while written(record) < at_least:
            assert child.poll() is None and time.monotonic() < deadline, "nothing recorded"
            time.sleep(0.05)
    except BaseException:
        child.kill()
        child.wait()
        raise
    return child


def kill(child: subprocess.Popen[str]) -> None:
    child.kill()
    child.communicate()


def incomplete(root: Path) -> list[str]:
    directory = root / ".git" / "lfs" / "incomplete"
    return sorted(p.name for p in directory.iterdir()) if directory.is_dir() else []


def test_a_big_object_comes_down_in_parallel_ranges_that_cover_it(
    hub: LocalHub, repo_id: str, work: hfgit.Repository, tmp_path: Path
) -> None:
    data = pushed(hub, work, 40 * MiB)

    again = hfgit.clone(repo_id, tmp_path / "again", token=hub.write_token, endpoint=hub.endpoint)

    assert (Path(again.path) / "model.bin").read_bytes() == data
    spans = sorted(ranges_asked(hub))
    starts = {first for first, _ in spans}
    assert {i * 8 * MiB for i in range(5)} <= starts, spans  # 8 MiB parts
    # An idle worker may take the far half of a part still coming: at most one per part.
    assert len(spans) <= 10, spans
    covered = 0
    for first, last in spans:
        assert first <= covered, f"bytes {covered}-{first - 1} were never asked for"
        covered = max(covered, last + 1)
    assert covered == len(data)
    assert {r.status for r in storage(hub, "GET")} == {206}
    assert hub.storage_authorization_seen == []
    assert incomplete(Path(again.path)) == []


def test_a_slow_connections_range_is_taken_over_by_the_connections_that_are_idle(
    hub: LocalHub, repo_id: str, work: hfgit.Repository, tmp_path: Path
) -> None:
    data = pushed(hub, work, 40 * MiB)
    # One connection at 256 KiB/s: alone, its 8 MiB part would take 32 s.
    hub.faults.slow_next(1, rate=256 * 1024, path_contains="/_lfs_storage/")

    began = time.monotonic()
    again = hfgit.clone(
        repo_id, tmp_path / "again", token=hub.write_token, endpoint=hub.endpoint, lfs_concurrency=4
    )
    took = time.monotonic() - began

    assert (Path(again.path) / "model.bin").read_bytes() == data
    spans = ranges_asked(hub)
    # The far half of the slow range was asked for again, then the far half of what was left,
    # and so on while more than 2 MiB remained: the slow connection kept at most 2 MiB (8 s).
    split = [
        (first, last)
        for first, last in spans
        if any(a < first and last <= b for a, b in spans if (a, b) != (first, last))
    ]
    assert len(split) >= 2, spans
    assert took < 20, f"the clone took {took:.1f} s: the slow connection kept its whole range"
    assert incomplete(Path(again.path)) == []


def test_objects_over_the_whole_download_limit_come_down_in_ranges_where_git_lfs_fails(
    hub: LocalHub,
    repo_id: str,
    work: hfgit.Repository,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The Hub's rule for objects over 50 GB, at 1 MiB.
    data = pushed(hub, work, 5 * MiB + 7)
    hub.max_whole_download = MiB

    with pytest.raises(AssertionError, match="max_whole_download"):
        git_with_lfs(
            *("-c", "lfs.transfer.maxretries=1", "clone"),
            *(hub.repo_url(repo_id), str(tmp_path / "by-git")),
            token=hub.write_token,
        )
    with pytest.raises(hfgit.LfsTransferError, match=r"400.*Range requests of at most"):
        hfgit.clone(repo_id, tmp_path / "plain", token=hub.write_token, endpoint=hub.endpoint)

    hub.clear_requests()
    monkeypatch.setenv("HFGIT_LFS_MAX_WHOLE_DOWNLOAD", str(MiB))
    # One connection, a small object: ranges all the same, since it is over the limit.
    clone = hfgit.clone(
        repo_id, tmp_path / "mine", token=hub.write_token, endpoint=hub.endpoint, lfs_concurrency=1
    )

    assert (Path(clone.path) / "model.bin").read_bytes() == data
    spans = ranges_asked(hub)
    assert len(spans) == 6 and all(last - first + 1 <= MiB for first, last in spans)


@pytest.mark.parametrize("limit", ["50GB", "1000", " 100", "0", "99999999999999999999999"])
def test_an_unusable_whole_download_limit_is_refused_with_what_to_set(
    hub: LocalHub, repo_id: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, limit: str
) -> None:
    clone = hfgit.clone(repo_id, tmp_path / "c", token=hub.write_token, endpoint=hub.endpoint)
    (Path(clone.path) / "w.bin").write_bytes(os.urandom(1000))
    clone.commit("w")
    clone.push(token=hub.write_token)
    monkeypatch.setenv("HFGIT_LFS_MAX_WHOLE_DOWNLOAD", limit)
    with pytest.raises(hfgit.InvalidArgumentError) as refused:
        hfgit.clone(repo_id, tmp_path / "d", token=hub.write_token, endpoint=hub.endpoint)
    message = str(refused.value)
    assert "HFGIT_LFS_MAX_WHOLE_DOWNLOAD" in message and f'not "{limit}"' in message
    assert f"from {MiB} (1 MiB) to {2**64 - 1}" in message
    assert not (tmp_path / "d").exists()


def test_a_server_that_ignores_range_is_read_as_one_plain_stream(
    hub: LocalHub, repo_id: str, work: hfgit.Repository, tmp_path: Path
) -> None:
    data = pushed(hub, work, 40 * MiB)
    hub.storage_ignores_range = True

    again = hfgit.clone(repo_id, tmp_path / "again", token=hub.write_token, endpoint=hub.endpoint)

    assert (Path(again.path) / "model.bin").read_bytes() == data
    gets = storage(hub, "GET")
    assert {r.status for r in gets} == {200}
    assert len(gets) <= 8 + 1, "one stream per worker at most, then the whole object once"
    assert incomplete(Path(again.path)) == []


# ---------------------------------------------------------------------- resuming


class Stop(Exception):
    pass


def interrupted_pull(
    hub: LocalHub, repo_id: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, bytes, str]:
    """Push 8 MiB, clone without LFS files, and stop an lfs_pull after about 3 MiB arrived.

    Parts are 1 MiB (the whole-download limit) and each connection moves 1 MiB/s, so the
    pull stops with some parts complete and two begun."""
    work = hfgit.clone(repo_id, tmp_path / "work", token=hub.write_token, endpoint=hub.endpoint)
    data = pushed(hub, work, 8 * MiB)
    monkeypatch.setenv("HFGIT_LFS_MAX_WHOLE_DOWNLOAD", str(MiB))
    hub.storage_rate_limit = MiB
    lazy = tmp_path / "lazy"
    repo = hfgit.clone(repo_id, lazy, token=hub.write_token, endpoint=hub.endpoint, lfs=False)

    def stop_midway(event: hfgit.Progress) -> None:
        if event.phase == "lfs-download" and event.bytes >= 3 * MiB:
            raise Stop

    with pytest.raises(Stop):
        repo.lfs_pull(token=hub.write_token, progress=stop_midway, lfs_concurrency=2)
    oid = hashlib.sha256(data).hexdigest()
    assert incomplete(lazy) == [f"{oid}.part", f"{oid}.part.json"]
    assert not (lazy / ".git" / "lfs" / "objects" / oid[:2] / oid[2:4] / oid).exists()
    assert (lazy / "model.bin").read_bytes().startswith(b"version https://git-lfs")
    hub.clear_requests()
    return lazy, data, oid


def test_an_interrupted_download_resumes_from_what_is_on_disk(
    hub: LocalHub, repo_id: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lazy, data, oid = interrupted_pull(hub, repo_id, tmp_path, monkeypatch)
    record = json.loads((lazy / ".git" / "lfs" / "incomplete" / f"{oid}.part.json").read_text())
    kept = sum(segment["written"] for segment in record["segments"])
    assert kept >= 2 * MiB

    hub.storage_rate_limit = None
    hfgit.Repository(lazy).lfs_pull(token=hub.write_token)

    assert (lazy / "model.bin").read_bytes() == data
    asked = sum(last - first + 1 for first, last in ranges_asked(hub))
    assert asked == len(data) - kept, "only the bytes not on disk were asked for"
    assert incomplete(lazy) == []


def test_a_416_on_resume_starts_the_download_over_cleanly(
    hub: LocalHub, repo_id: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lazy, data, _ = interrupted_pull(hub, repo_id, tmp_path, monkeypatch)
    hub.storage_rate_limit = None
    hub.faults.fail_next(1, 416, path_contains="/_lfs_storage/")

    hfgit.Repository(lazy).lfs_pull(token=hub.write_token, lfs_concurrency=1)

    assert (lazy / "model.bin").read_bytes() == data
    gets = storage(hub, "GET")
    assert gets[0].status == 416
    assert gets[1:] and {r.status for r in gets[1:]} == {206}
    spans = [r.range.removeprefix("bytes=").split("-") for r in gets[1:] if r.range]
    assert sum(int(last) - int(first) + 1 for first, last in spans) == len(data)
    assert incomplete(lazy) == []


def test_an_object_changed_on_the_server_since_the_interruption_is_fetched_again_whole(
    hub: LocalHub, repo_id: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lazy, data, oid = interrupted_pull(hub, repo_id, tmp_path, monkeypatch)
    hub.storage_rate_limit = None
    stored = hub.lfs_object_path(oid)
    assert stored is not None
    later = stored.stat().st_mtime + 60
    os.utime(stored, (later, later))  # a new ETag, as after the object was written again

    hfgit.Repository(lazy).lfs_pull(token=hub.write_token)

    assert (lazy / "model.bin").read_bytes() == data
    asked = sum(last - first + 1 for first, last in ranges_asked(hub))
    assert asked >= len(data), "the bytes from before the change were kept"
    assert incomplete(lazy) == []


def test_resumed_bytes_that_no_longer_hash_right_are_fetched_again(
    hub: LocalHub, repo_id: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lazy, data, oid = interrupted_pull(hub, repo_id, tmp_path, monkeypatch)
    hub.storage_rate_limit = None
    part = lazy / ".git" / "lfs" / "incomplete" / f"{oid}.part"
    with part.open("r+b") as damaged:  # part 1 is complete: flip a byte of it
        damaged.seek(1000)
        byte = damaged.read(1)
        damaged.seek(1000)
        damaged.write(bytes([byte[0] ^ 0xFF]))

    hfgit.Repository(lazy).lfs_pull(token=hub.write_token)

    assert (lazy / "model.bin").read_bytes() == data
    assert incomplete(lazy) == []


def test_a_clone_of_a_big_lfs_file_never_holds_it_in_memory(
    hub: LocalHub, repo_id: str, work: hfgit.Repository, tmp_path: Path
) -> None:
    pushed(hub, work, 160 * MiB)
    # VmHWM, not ru_maxrss: the latter keeps the forking process's size across exec.
    clone = (
        "import hfgit, re, sys; "
        "hfgit.clone(sys.argv[1], sys.argv[2], token=sys.argv[3], endpoint=sys.argv[4]); "
        "print(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1))"
    )
    package = str(Path(hfgit.__file__).resolve().parent.parent)
    result = subprocess.run(
        [sys.executable, "-c", clone, repo_id, str(tmp_path / "c"), hub.write_token, hub.endpoint],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": package},
    )
    assert result.returncode == 0, result.stderr
    peak_mib = int(result.stdout.split()[-1]) / 1024
    assert peak_mib < 120, f"the clone peaked at {peak_mib:.0f} MiB for a 160 MiB file"


def test_a_download_killed_with_sigkill_resumes_from_the_segments_it_recorded(
    hub: LocalHub, repo_id: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = hfgit.clone(repo_id, tmp_path / "work", token=hub.write_token, endpoint=hub.endpoint)
    data = pushed(hub, work, 8 * MiB)
    oid = hashlib.sha256(data).hexdigest()
    lazy = tmp_path / "lazy"
    hfgit.clone(repo_id, lazy, token=hub.write_token, endpoint=hub.endpoint, lfs=False)
    hub.storage_rate_limit = MiB
    record = lazy / ".git" / "lfs" / "incomplete" / f"{oid}.part.json"
    limit = {"HFGIT_LFS_MAX_WHOLE_DOWNLOAD": str(MiB)}
    kill(
        start_until_recorded(PULL_TWO_AT_ONCE, [str(lazy), hub.write_token], record, MiB, env=limit)
    )
    kept = written(record)
    assert kept >= MiB
    assert not (lazy / ".git" / "lfs" / "objects" / oid[:2] / oid[2:4] / oid).exists()

    hub.storage_rate_limit = None
    hub.clear_requests()
    monkeypatch.setenv("HFGIT_LFS_MAX_WHOLE_DOWNLOAD", str(MiB))
    hfgit.Repository(lazy).lfs_pull(token=hub.write_token)

    assert (lazy / "model.bin").read_bytes() == data
    asked = sum(last - first + 1 for first, last in ranges_asked(hub))
    assert asked <= len(data) - kept, "segments recorded before the kill were fetched again"
    assert incomplete(lazy) == []


def test_a_download_killed_before_any_segment_completed_resumes_from_the_bytes_it_had(
    hub: LocalHub, repo_id: str, tmp_path: Path
) -> None:
    work = hfgit.clone(repo_id, tmp_path / "work", token=hub.write_token, endpoint=hub.endpoint)
    data = pushed(hub, work, 32 * MiB)  # four 8 MiB segments for two workers
    oid = hashlib.sha256(data).hexdigest()
    lazy = tmp_path / "lazy"
    hfgit.clone(repo_id, lazy, token=hub.write_token, endpoint=hub.endpoint, lfs=False)
    hub.storage_rate_limit = MiB
    record = lazy / ".git" / "lfs" / "incomplete" / f"{oid}.part.json"
    kill(start_until_recorded(PULL_TWO_AT_ONCE, [str(lazy), hub.write_token], record, 2 * MiB))
    segments = json.loads(record.read_text())["segments"]
    assert all(s["written"] < s["end"] - s["start"] for s in segments), "a segment completed"
    on_disk = written(record)

    hub.storage_rate_limit = None
    hub.clear_requests()
    # One connection: no range is split, so what is asked for is what is fetched.
    hfgit.Repository(lazy).lfs_pull(token=hub.write_token, lfs_concurrency=1)

    assert (lazy / "model.bin").read_bytes() == data
    asked = sum(last - first + 1 for first, last in ranges_asked(hub))
    assert asked == len(data) - on_disk, "bytes recorded before the kill were fetched again"
    assert incomplete(lazy) == []


def test_ctrl_c_stops_a_ranged_download_within_a_second_and_keeps_its_bytes_for_later(
    hub: LocalHub, repo_id: str, tmp_path: Path
) -> None:
    work = hfgit.clone(repo_id, tmp_path / "work", token=hub.write_token, endpoint=hub.endpoint)
    data = pushed(hub, work, 32 * MiB)
    oid = hashlib.sha256(data).hexdigest()
    lazy = tmp_path / "lazy"
    hfgit.clone(repo_id, lazy, token=hub.write_token, endpoint=hub.endpoint, lfs=False)
    hub.storage_rate_limit = MiB
    record = lazy / ".git" / "lfs" / "incomplete" / f"{oid}.part.json"
    pull = (
        "import hfgit, sys, time\n"
        "try:\n"
        "    hfgit.Repository(sys.argv[1]).lfs_pull(token=sys.argv[2], progress=False)\n"
        "except KeyboardInterrupt:\n"
        "    print('interrupted', time.monotonic())\n"
    )
    # Started on its own, not from a shell: Python installs its Ctrl-C handler.
    child = start_until_recorded(pull, [str(lazy), hub.write_token], record, 2 * MiB)
    sent = time.monotonic()
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=30)

    assert child.returncode == 0, err
    assert out.startswith("interrupted"), (out, err)
    assert float(out.split()[1]) - sent < 1.5, "Ctrl-C took more than a second and a half"
    on_disk = written(record)
    assert on_disk >= 2 * MiB
    assert (lazy / "model.bin").read_bytes().startswith(b"version https://git-lfs")

    hub.storage_rate_limit = None
    hub.clear_requests()
    hfgit.Repository(lazy).lfs_pull(token=hub.write_token, lfs_concurrency=1)

    assert (lazy / "model.bin").read_bytes() == data
    asked = sum(last - first + 1 for first, last in ranges_asked(hub))
    assert asked == len(data) - on_disk
    assert incomplete(lazy) == []


def test_cloning_again_into_a_killed_clone_resumes_its_lfs_download(
    hub: LocalHub, repo_id: str, tmp_path: Path
) -> None:
    work = hfgit.clone(repo_id, tmp_path / "work", token=hub.write_token, endpoint=hub.endpoint)
    data = pushed(hub, work, 32 * MiB)
    oid = hashlib.sha256(data).hexdigest()
    target = tmp_path / "killed"
    record = target / ".git" / "lfs" / "incomplete" / f"{oid}.part.json"
    hub.storage_rate_limit = MiB
    clone = (
        "import hfgit, sys; "
        "hfgit.clone(sys.argv[1], sys.argv[2], token=sys.argv[3], endpoint=sys.argv[4], "
        "progress=False, lfs_concurrency=2)"
    )
    arguments = [repo_id, str(target), hub.write_token, hub.endpoint]
    kill(start_until_recorded(clone, arguments, record, 2 * MiB))
    on_disk = written(record)

    hub.storage_rate_limit = None
    hub.clear_requests()
    again = hfgit.clone(
        repo_id, target, token=hub.write_token, endpoint=hub.endpoint, lfs_concurrency=1
    )

    assert (Path(again.path) / "model.bin").read_bytes() == data
    asked = sum(last - first + 1 for first, last in ranges_asked(hub))
    assert asked == len(data) - on_disk, "the killed clone's bytes were fetched again"
    assert incomplete(target) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["killed", "work"]
