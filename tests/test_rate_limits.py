"""The Hub's rate limits: a 429 is waited out as its RateLimit (or Retry-After) header says, for
the batch API, storage and git's smart HTTP alike, up to HFGIT_RATE_LIMIT_MAX_WAIT; past that, or
for a pushed pack, it is a RateLimitedError saying how long to wait. Waits stop on Ctrl-C.

LocalHub answers as the Hub does (`hub.faults.rate_limit_next`: 429, `RateLimit` and
`RateLimit-Policy`, a JSON body, and `Retry-After` only when asked), hub-2026.md row 12 and
section 5 case 10.
"""

from __future__ import annotations

import email.utils
import logging
import os
import signal
import threading
import time
from pathlib import Path

import hfgit
import pytest
from gitcli import git
from hfgit.testing import LocalHub


def remote_head(hub: LocalHub, repo_id: str) -> str:
    out = git("ls-remote", hub.repo_url(repo_id), "refs/heads/main", token=hub.write_token)
    return out.split()[0]


def statuses(hub: LocalHub, method: str, fragment: str) -> list[int | None]:
    return [
        record.status
        for record in hub.requests
        if record.method == method and fragment in f"{record.path}?{record.query}"
    ]


@pytest.fixture
def work(hub: LocalHub, repo_id: str, clone_dir: Path) -> hfgit.Repository:
    repo = hfgit.clone(repo_id, clone_dir, token=hub.write_token, endpoint=hub.endpoint)
    (clone_dir / "model.bin").write_bytes(os.urandom(50_000))
    repo.commit("weights")
    hub.clear_requests()
    return repo


def test_a_rate_limited_batch_request_waits_as_long_as_the_ratelimit_header_says(
    hub: LocalHub, work: hfgit.Repository, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="hfgit")
    hub.faults.rate_limit_next(path_contains="/objects/batch", reset_in=1)
    phases: list[hfgit.Progress] = []

    started = time.monotonic()
    result = work.push(token=hub.write_token, progress=phases.append)
    elapsed = time.monotonic() - started

    assert result.lfs_objects_uploaded == 1
    assert elapsed >= 2.0, "RateLimit t=1 with nothing left means t + 1 = 2 s"
    assert statuses(hub, "POST", "/objects/batch") == [429, 200]
    waits = [event for event in phases if event.phase == "rate-limited"]
    assert waits and waits[-1].total == 2
    assert "rate limited by the Hub, waiting 2 s before trying again" in caplog.text
    assert "We had to rate limit your IP" in caplog.text


def test_a_storage_429_with_a_retry_after_date_is_waited_out(
    hub: LocalHub, work: hfgit.Repository, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HFGIT_LFS_TRANSFER", "basic")  # storage faults are on the basic path
    # r=3 (some left): the RateLimit header does not apply, Retry-After (a date) does.
    retry_at = email.utils.formatdate(time.time() + 3, usegmt=True)
    hub.faults.rate_limit_next(
        path_contains="/_lfs_storage/", reset_in=120, remaining=3, retry_after=retry_at
    )

    started = time.monotonic()
    assert work.push(token=hub.write_token).lfs_objects_uploaded == 1

    assert 1.0 <= time.monotonic() - started < 60
    assert statuses(hub, "PUT", "/_lfs_storage/") == [429, 200]


def test_a_wait_past_the_cap_is_a_rate_limited_error_with_the_time_to_wait(
    hub: LocalHub, repo_id: str, work: hfgit.Repository, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HFGIT_RATE_LIMIT_MAX_WAIT", "5")
    before = remote_head(hub, repo_id)
    hub.faults.rate_limit_next(path_contains="/objects/batch", reset_in=120)

    started = time.monotonic()
    with pytest.raises(hfgit.RateLimitedError) as info:
        work.push(token=hub.write_token)

    assert time.monotonic() - started < 5, "a wait longer than the cap is not started"
    assert info.value.retry_after == 121
    assert isinstance(info.value, hfgit.NetworkError)
    message = str(info.value)
    assert "asks to wait 121 s" in message and "HFGIT_RATE_LIMIT_MAX_WAIT allows 5 s" in message
    assert "We had to rate limit your IP" in message and "HF_TOKEN" in message
    assert remote_head(hub, repo_id) == before


def test_a_clone_rate_limited_on_the_ref_advertisement_waits_and_clones(
    hub: LocalHub, repo_id: str, clone_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="hfgit")
    hub.faults.rate_limit_next(path_contains="service=git-upload-pack", reset_in=1)

    started = time.monotonic()
    repo = hfgit.clone(repo_id, clone_dir, token=hub.write_token, endpoint=hub.endpoint)

    assert time.monotonic() - started >= 2.0
    assert repo.head
    assert statuses(hub, "GET", "service=git-upload-pack") == [429, 200]
    assert "rate limited by the Hub, waiting 2 s" in caplog.text


def test_a_fetch_rate_limited_on_the_ref_advertisement_waits_and_fetches(
    hub: LocalHub, repo_id: str, clone_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    repo = hfgit.clone(repo_id, clone_dir, token=hub.write_token, endpoint=hub.endpoint)
    caplog.set_level(logging.WARNING, logger="hfgit")
    hub.clear_requests()
    hub.faults.rate_limit_next(path_contains="service=git-upload-pack", reset_in=1)

    started = time.monotonic()
    repo.fetch(token=hub.write_token)

    assert time.monotonic() - started >= 2.0
    assert statuses(hub, "GET", "service=git-upload-pack") == [429, 200]
    assert "rate limited by the Hub, waiting 2 s" in caplog.text


def test_git_waits_doubling_from_a_second_when_a_429_names_no_wait(
    hub: LocalHub, repo_id: str, clone_dir: Path
) -> None:
    # Over HTTPS libgit2 shows no headers at all; a bare 429 is the same case.
    hub.faults.fail_next(2, status=429, path_contains="service=git-upload-pack")

    started = time.monotonic()
    hfgit.clone(repo_id, clone_dir, token=hub.write_token, endpoint=hub.endpoint)

    assert time.monotonic() - started >= 3.0, "1 s, then 2 s"
    assert statuses(hub, "GET", "service=git-upload-pack") == [429, 429, 200]


def test_a_push_rate_limited_before_its_refs_are_sent_is_sent_again(
    hub: LocalHub, repo_id: str, clone_dir: Path
) -> None:
    repo = hfgit.clone(repo_id, clone_dir, token=hub.write_token, endpoint=hub.endpoint)
    (clone_dir / "notes.txt").write_text("hello")
    mine = repo.commit("notes")
    hub.faults.rate_limit_next(path_contains="service=git-receive-pack", reset_in=0)

    repo.push(token=hub.write_token)

    assert remote_head(hub, repo_id) == mine
    advertised = statuses(hub, "GET", "service=git-receive-pack")
    # The second attempt answers the token challenge (401) as every push does.
    assert advertised[0] == 429 and advertised[-1] == 200


def test_a_429_to_a_pushed_pack_is_not_sent_again_and_nothing_is_applied(
    hub: LocalHub, repo_id: str, clone_dir: Path
) -> None:
    repo = hfgit.clone(repo_id, clone_dir, token=hub.write_token, endpoint=hub.endpoint)
    (clone_dir / "notes.txt").write_text("hello")
    repo.commit("notes")
    before = remote_head(hub, repo_id)
    hub.faults.rate_limit_next(path_contains="/git-receive-pack", reset_in=1)

    with pytest.raises(hfgit.RateLimitedError) as info:
        repo.push(token=hub.write_token)

    assert statuses(hub, "POST", "/git-receive-pack") == [429]
    assert remote_head(hub, repo_id) == before
    assert info.value.retry_after == 2
    assert "nothing was applied" in str(info.value) and "in 2 s" in str(info.value)


def test_a_cap_of_zero_raises_at_the_first_429(
    hub: LocalHub, repo_id: str, clone_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HFGIT_RATE_LIMIT_MAX_WAIT", "0")
    hub.faults.rate_limit_next(path_contains="service=git-upload-pack", reset_in=30)

    with pytest.raises(hfgit.RateLimitedError) as info:
        hfgit.clone(repo_id, clone_dir, token=hub.write_token, endpoint=hub.endpoint)

    assert info.value.retry_after == 31
    assert not clone_dir.exists()


def test_an_invalid_cap_is_an_invalid_argument_naming_the_variable(
    hub: LocalHub, repo_id: str, clone_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HFGIT_RATE_LIMIT_MAX_WAIT", "five minutes")
    hub.faults.rate_limit_next(path_contains="service=git-upload-pack", reset_in=30)

    with pytest.raises(hfgit.InvalidArgumentError, match="HFGIT_RATE_LIMIT_MAX_WAIT"):
        hfgit.clone(repo_id, clone_dir, token=hub.write_token, endpoint=hub.endpoint)


def test_a_rate_limit_wait_stops_within_a_second_of_ctrl_c(
    hub: LocalHub, work: hfgit.Repository
) -> None:
    hub.faults.rate_limit_next(path_contains="/objects/batch", reset_in=60)
    waiting = threading.Event()

    def progress(event: hfgit.Progress) -> None:
        if event.phase == "rate-limited" and not waiting.is_set():
            waiting.set()
            threading.Timer(0.2, os.kill, args=(os.getpid(), signal.SIGINT)).start()

    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        work.push(token=hub.write_token, progress=progress)
    assert waiting.is_set()
    assert time.monotonic() - started < 3.0, "the 61 s wait was interrupted"
