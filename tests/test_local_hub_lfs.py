"""LocalHub's Git LFS side, checked with the real git-lfs CLI and a small urllib/http.client
client where git-lfs cannot go (multipart, fault switches, malformed requests).

git and git-lfs run with a throwaway HOME in which `git lfs install` was run, so the developer's
configuration is never read or written. Tokens reach git through a credential helper that
prints `$HF_TEST_TOKEN`, so they never land in a URL or a file.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import os
import random
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from gitcli import isolated_git_env
from hfgit.testing import LFS_REPO_FAULTS, MAGIC_CONTENT_NAMES, LocalHub, magic_content

GIT_TIMEOUT = 120
MiB = 1024 * 1024
LFS_JSON = "application/vnd.git-lfs+json"
CREDENTIAL_HELPER = (
    '!f() { test "$1" = get && echo username=hf_user && echo "password=$HF_TEST_TOKEN"; }; f'
)


# ---------------------------------------------------------------------- helpers


class GitLfs:
    """git + git-lfs isolated from the user's config, prompts and proxies."""

    def __init__(self, home: Path) -> None:
        self.env = isolated_git_env(home)
        self.run("lfs", "install")  # writes the lfs filters into the throwaway HOME only

    def run(
        self,
        *args: str,
        cwd: Path | None = None,
        token: str | None = None,
        check: bool = True,
    ) -> subprocess.CompletedProcess[str]:
        command = ["git"]
        env = dict(self.env)
        if token is not None:
            command += ["-c", "credential.helper=", "-c", f"credential.helper={CREDENTIAL_HELPER}"]
            env["HF_TEST_TOKEN"] = token
        completed = subprocess.run(
            [*command, *args],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT,
            check=False,
        )
        if check and completed.returncode != 0:
            raise AssertionError(
                f"git {' '.join(args)} failed ({completed.returncode}):\n"
                f"{completed.stdout}\n{completed.stderr}"
            )
        return completed

    def commit(self, repo: Path, files: Mapping[str, bytes], message: str = "add files") -> None:
        for name, content in files.items():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            (repo / name).write_bytes(content)
        self.run("add", "-A", cwd=repo)
        self.run("commit", "--quiet", "-m", message, cwd=repo)


@pytest.fixture
def git(tmp_path: Path) -> GitLfs:
    return GitLfs(tmp_path / "home")


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def basic(token: str) -> str:
    return "Basic " + base64.b64encode(f"hf_user:{token}".encode()).decode("ascii")


def call(
    hub: LocalHub,
    method: str,
    target: str,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    *,
    chunked: bool = False,
) -> Response:
    """One request on a fresh connection; `target` is a path or a full URL from the hub."""
    if target.startswith("http"):
        parts = urlsplit(target)
        assert parts.hostname == "127.0.0.1" and parts.port is not None
        assert target.startswith(hub.endpoint)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
    port = int(hub.endpoint.rsplit(":", 1)[1])
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(
            method,
            target,
            body=iter([body]) if chunked and body is not None else body,
            headers=dict(headers or {}),
            encode_chunked=chunked,
        )
        response = connection.getresponse()
        return Response(response.status, response.headers, response.read())
    finally:
        connection.close()


def lfs_headers(token: str | None = None, *, charset: bool = True) -> dict[str, str]:
    headers = {
        "Accept": LFS_JSON,
        "Content-Type": LFS_JSON + ("; charset=utf-8" if charset else ""),
    }
    if token is not None:
        headers["Authorization"] = basic(token)
    return headers


def batch(
    hub: LocalHub,
    repo_id: str,
    operation: str,
    objects: list[tuple[str, int]],
    token: str | None = None,
    **extra: object,
) -> Response:
    payload = {
        "operation": operation,
        "objects": [{"oid": oid, "size": size} for oid, size in objects],
        **extra,
    }
    return call(
        hub,
        "POST",
        f"/{repo_id}.git/info/lfs/objects/batch",
        json.dumps(payload).encode(),
        lfs_headers(token),
    )


def only_object(response: Response) -> Any:
    assert response.status == 200, response.body
    objects = response.json()["objects"]
    assert len(objects) == 1
    return objects[0]


def href(obj: Any, name: str) -> str:
    value = obj["actions"][name]["href"]
    assert isinstance(value, str)
    return value


def oid_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def upload(hub: LocalHub, repo_id: str, data: bytes) -> str:
    """Upload one object with the basic transfer and verify it; returns its oid."""
    oid = oid_of(data)
    obj = only_object(batch(hub, repo_id, "upload", [(oid, len(data))], hub.write_token))
    assert call(hub, "PUT", href(obj, "upload"), data).status == 200
    verify = json.dumps({"oid": oid, "size": len(data)}).encode()
    assert (
        call(hub, "POST", href(obj, "verify"), verify, lfs_headers(hub.write_token)).status == 200
    )
    return oid


def pointer(oid: str, size: int) -> bytes:
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize {size}\n".encode()


def remote_head(hub: LocalHub, repo_id: str) -> str:
    completed = subprocess.run(
        ["git", "--git-dir", str(hub.repo_path(repo_id)), "rev-parse", "refs/heads/main"],
        capture_output=True,
        text=True,
        check=True,
    )
    return completed.stdout.strip()


def text_data(size: int, seed: int) -> bytes:
    """Printable text (no NUL), so only the size rule can object to it."""
    rng = random.Random(seed)
    return rng.randbytes(size // 2 + 1).hex().encode()[:size]


# ---------------------------------------------------------------------- git-lfs end to end


def test_git_lfs_push_and_clone_round_trip_without_credentials_on_storage(
    local_hub: LocalHub, git: GitLfs, tmp_path: Path
) -> None:
    hub = local_hub
    url = hub.create_repo("alice/private-model", private=True)
    work, again = tmp_path / "work", tmp_path / "again"
    git.run("clone", "--quiet", url, str(work), token=hub.write_token)
    weights = os.urandom(3 * MiB)
    git.commit(work, {"model.safetensors": weights, "config.json": b"{}\n"})

    git.run("push", "--quiet", "origin", "main", cwd=work, token=hub.write_token)

    oid = oid_of(weights)
    assert hub.lfs_objects("alice/private-model") == {oid}
    stored = hub.lfs_object_path(oid)
    assert stored is not None and oid_of(stored.read_bytes()) == oid
    assert hub.lfs_object_path("0" * 64) is None
    git.run("clone", "--quiet", url, str(again), token=hub.write_token)
    assert (again / "model.safetensors").read_bytes() == weights
    git.run("lfs", "fsck", cwd=again)
    assert hub.storage_authorization_seen == []
    seen = [(r.method, r.path.split("/")[1], r.status) for r in hub.requests if "lfs" in r.path]
    assert ("PUT", "_lfs_storage", 200) in seen and ("GET", "_lfs_storage", 200) in seen
    assert ("POST", "alice", 501) in seen  # git-lfs's locks/verify, answered "not supported"
    storage = [r for r in hub.requests if r.path.startswith("/_lfs_storage/")]
    assert {r.authorization for r in storage} == {None}


def test_git_lfs_retries_through_batch_429_and_storage_faults(
    local_hub: LocalHub, git: GitLfs, tmp_path: Path
) -> None:
    hub = local_hub
    url = hub.create_repo("alice/batch-429-storage-500-once-verify-fail")
    work, again = tmp_path / "work", tmp_path / "again"
    git.run("clone", "--quiet", url, str(work))
    files = {
        "a.bin": os.urandom(MiB),
        "retry.bin": magic_content("storage-upload-retry"),
        "drop.bin": magic_content("storage-upload-drop"),
    }
    git.commit(work, files)

    git.run("push", "--quiet", "origin", "main", cwd=work, token=hub.write_token)
    git.run("clone", "--quiet", url, str(again))

    assert all((again / name).read_bytes() == data for name, data in files.items())
    batches = [r.status for r in hub.requests if r.path.endswith("/objects/batch")]
    assert batches.count(429) == 2 and batches[-1] == 200
    puts = [r.status for r in hub.requests if r.method == "PUT"]
    assert puts.count(503) == 3 and puts.count(500) == 1 and puts.count(None) == 1
    verifies = [r.status for r in hub.requests if r.path.endswith("/objects/verify")]
    assert verifies.count(503) == 3 and verifies.count(200) == 3
    gets = [r.status for r in hub.requests if r.method == "GET" and "_lfs_storage" in r.path]
    assert gets.count(503) == 3 and gets.count(200) == 3
    assert hub.storage_authorization_seen == []


# ---------------------------------------------------------------------- pre-receive rules


def test_non_lfs_file_over_10_mib_is_rejected_with_the_hub_wording(
    local_hub: LocalHub, git: GitLfs, tmp_path: Path
) -> None:
    url = local_hub.create_repo("alice/model")
    before = remote_head(local_hub, "alice/model")
    work = tmp_path / "work"
    git.run("clone", "--quiet", url, str(work))
    git.commit(
        work, {"big.txt": text_data(11 * MiB, 1), "exactly-10MiB.txt": text_data(10 * MiB, 2)}
    )

    pushed = git.run("push", "origin", "main", cwd=work, token=local_hub.write_token, check=False)

    assert pushed.returncode != 0
    err = pushed.stderr
    assert "! [remote rejected] main -> main (pre-receive hook declined)" in err
    assert "remote: Your push was rejected because it contains files larger than 10 MiB." in err
    assert "remote: Offending files:" in err
    assert "remote:   - big.txt (ref: refs/heads/main)" in err
    assert "exactly-10MiB.txt" not in err
    assert "remote: " + "-" * 74 in err
    assert remote_head(local_hub, "alice/model") == before


def test_binary_non_lfs_file_over_1_mb_is_rejected(
    local_hub: LocalHub, git: GitLfs, tmp_path: Path
) -> None:
    url = local_hub.create_repo("alice/model")
    work = tmp_path / "work"
    git.run("clone", "--quiet", url, str(work))
    git.commit(
        work,
        {
            "blob.dat": b"\0" + os.urandom(2_000_000 - 1),
            "small.dat": b"\0" + os.urandom(1_000_000 - 1),  # exactly 1 MB is still allowed
            "notes.txt": text_data(2_000_000, 3),
        },
    )

    pushed = git.run("push", "origin", "main", cwd=work, token=local_hub.write_token, check=False)

    assert pushed.returncode != 0
    assert "remote: Your push was rejected because it contains binary files." in pushed.stderr
    assert "remote:   - blob.dat (ref: refs/heads/main)" in pushed.stderr
    assert "small.dat" not in pushed.stderr and "notes.txt" not in pushed.stderr
    assert "! [remote rejected] main -> main (pre-receive hook declined)" in pushed.stderr


def test_pointer_to_an_object_the_repo_lacks_is_rejected(
    local_hub: LocalHub, git: GitLfs, tmp_path: Path
) -> None:
    hub = local_hub
    hub.create_repo("alice/owner")
    url = hub.create_repo("alice/other")
    data = os.urandom(4096)
    oid = upload(hub, "alice/owner", data)  # stored on the hub, but for alice/owner only
    work = tmp_path / "work"
    git.run("clone", "--quiet", url, str(work))
    ghost = os.urandom(100)
    git.commit(
        work,
        {"ghost.dat": pointer(oid_of(ghost), len(ghost)), "borrowed.dat": pointer(oid, len(data))},
    )

    # --no-verify skips git-lfs's pre-push upload, the way such pointers reach the Hub.
    pushed = git.run(
        "push", "--no-verify", "origin", "main", cwd=work, token=hub.write_token, check=False
    )

    assert pushed.returncode != 0
    assert (
        "remote: Your push was rejected because an LFS pointer pointed to a file that does not "
        "exist." in pushed.stderr
    )
    assert "remote:   - ghost.dat (ref: refs/heads/main)" in pushed.stderr
    assert "remote:   - borrowed.dat (ref: refs/heads/main)" in pushed.stderr
    assert "! [remote rejected] main -> main (pre-receive hook declined)" in pushed.stderr

    # The same pointer is fine in the repo the object was uploaded for.
    owner = tmp_path / "owner"
    git.run("clone", "--quiet", hub.repo_url("alice/owner"), str(owner))
    git.commit(owner, {"weights.dat": pointer(oid, len(data))})
    git.run("push", "--quiet", "--no-verify", "origin", "main", cwd=owner, token=hub.write_token)


# ---------------------------------------------------------------------- batch API


def test_batch_auth_rules(local_hub: LocalHub) -> None:
    hub = local_hub
    hub.create_repo("alice/public")
    hub.create_repo("alice/private", private=True)
    obj = [(oid_of(b"x"), 1)]

    anonymous_upload = batch(hub, "alice/public", "upload", obj)
    assert anonymous_upload.status == 401
    assert anonymous_upload.headers["LFS-Authenticate"] == 'Basic realm="LocalHub"'
    assert anonymous_upload.headers["Content-Type"] == LFS_JSON
    assert "message" in anonymous_upload.json()
    branch = {"name": "refs/heads/main"}
    read_upload = batch(hub, "alice/public", "upload", obj, hub.read_token, ref=branch)
    assert read_upload.status == 403 and "read-only" in str(read_upload.json()["message"])
    # A pull request's upload names no branch, and a read token may make it (hub-2026.md row 4).
    assert batch(hub, "alice/public", "upload", obj, hub.read_token).status == 200
    pr_ref = {"name": "refs/pr/1"}
    assert batch(hub, "alice/public", "upload", obj, hub.read_token, ref=pr_ref).status == 200
    assert batch(hub, "alice/private", "download", obj).status == 401
    assert batch(hub, "alice/public", "download", obj, "hf_" + "x" * 34).status == 401
    assert batch(hub, "alice/nothing", "download", obj).status == 401  # existence not revealed
    missing = batch(hub, "alice/nothing", "download", obj, hub.read_token)
    assert missing.status == 404 and missing.json() == {"message": "Repository not found"}
    assert batch(hub, "alice/public", "download", obj).status == 200
    assert batch(hub, "alice/private", "download", obj, hub.read_token).status == 200
    bearer = call(
        hub,
        "POST",
        "/alice/private.git/info/lfs/objects/batch",
        json.dumps({"operation": "upload", "objects": []}).encode(),
        {**lfs_headers(), "Authorization": f"Bearer {hub.write_token}"},
    )
    assert bearer.status == 200


def test_batch_accepts_client_variations_and_answers_per_object(local_hub: LocalHub) -> None:
    hub = local_hub
    hub.create_repo("datasets-owner/data", repo_type="dataset")
    stored = upload(hub, "datasets/datasets-owner/data", b"stored object")
    missing = oid_of(b"missing")

    for extra in (
        {
            "ref": {"name": "main"},
            "hash_algo": "sha_256",
            "transfers": ["xet", "multipart", "basic"],
        },
        {"ref": {"name": "refs/heads/main"}, "hash_algo": "sha256"},
        {"ref": None},
    ):
        response = batch(
            hub,
            "datasets/datasets-owner/data",
            "download",
            [(stored, 13), (missing, 7)],
            hub.read_token,
            **extra,
        )
        assert response.status == 200 and response.headers["Content-Type"] == LFS_JSON
        body = response.json()
        assert body["transfer"] == "basic" and body["hash_algo"] == "sha256"
        found, absent = body["objects"]
        assert found["size"] == 13 and found["actions"]["download"]["expires_in"] > 5
        assert "/_lfs_storage/" in found["actions"]["download"]["href"]
        assert absent["error"]["code"] == 404 and "actions" not in absent

    up = batch(hub, "datasets/datasets-owner/data", "upload", [(stored, 13)], hub.write_token)
    assert "actions" not in only_object(up)  # already stored for this repo: nothing to do
    invalid = batch(hub, "datasets/datasets-owner/data", "upload", [("XYZ", -1)], hub.write_token)
    assert only_object(invalid)["error"] == {
        "code": 422,
        "message": "invalid object: needs a sha256 oid and size",
    }
    md5 = batch(
        hub,
        "datasets/datasets-owner/data",
        "download",
        [(stored, 13)],
        hub.read_token,
        hash_algo="md5",
    )
    assert only_object(md5)["error"]["code"] == 409 and "actions" not in only_object(md5)
    wrong_type = call(
        hub,
        "POST",
        "/datasets/datasets-owner/data.git/info/lfs/objects/batch",
        b"{}",
        {"Content-Type": "text/plain", "Authorization": basic(hub.write_token)},
    )
    assert wrong_type.status == 415
    plain = call(
        hub,
        "POST",
        "/datasets/datasets-owner/data.git/info/lfs/objects/batch",
        json.dumps({"operation": "download", "objects": []}).encode(),
        lfs_headers(hub.read_token, charset=False),
    )
    assert plain.status == 200 and plain.json()["objects"] == []
    without_suffix = call(
        hub,
        "POST",
        "/datasets/datasets-owner/data/info/lfs/objects/batch",
        json.dumps({"operation": "download", "objects": [{"oid": stored, "size": 13}]}).encode(),
        lfs_headers(hub.read_token),
    )
    assert "download" in only_object(without_suffix)["actions"]


def test_locks_answer_501_and_other_lfs_paths_404(local_hub: LocalHub) -> None:
    local_hub.create_repo("alice/model")
    verify = call(local_hub, "POST", "/alice/model.git/info/lfs/locks/verify", b"{}", lfs_headers())
    assert verify.status == 501 and verify.headers["Content-Type"] == LFS_JSON
    assert "message" in verify.json()
    assert call(local_hub, "GET", "/alice/model.git/info/lfs/locks").status == 501
    assert call(local_hub, "GET", "/alice/model.git/info/lfs/objects/abc").status == 404
    assert call(local_hub, "GET", "/alice/model.git/info/lfs/objects/batch").status == 405


# ---------------------------------------------------------------------- storage and verify


def test_storage_checks_hash_size_signature_and_records_authorization(
    local_hub: LocalHub,
) -> None:
    hub = local_hub
    hub.create_repo("alice/model")
    data = os.urandom(3 * MiB + 5)
    oid = oid_of(data)
    obj = only_object(batch(hub, "alice/model", "upload", [(oid, len(data))], hub.write_token))
    put_url = href(obj, "upload")
    assert urlsplit(put_url).path == f"/_lfs_storage/{oid}"
    assert "/info/lfs/" not in put_url

    assert call(hub, "PUT", put_url, data[:-1] + b"?").status == 400  # right size, wrong hash
    assert call(hub, "PUT", put_url, data[:-1]).status == 400  # wrong size
    assert hub.lfs_object_path(oid) is None
    assert (
        call(hub, "PUT", put_url.replace("repo=model/alice", "repo=model/eve"), data).status == 403
    )
    assert call(hub, "PUT", put_url[:-4] + "0000", data).status == 403
    assert call(hub, "GET", put_url).status == 405  # an upload URL is not a download URL
    assert hub.storage_authorization_seen == []

    stored = call(
        hub, "PUT", put_url, data, {"Authorization": basic(hub.write_token)}, chunked=True
    )

    assert stored.status == 200
    assert hub.storage_authorization_seen == [f"/_lfs_storage/{oid}"]  # the path, never the value
    assert hub.write_token not in repr(hub.storage_authorization_seen)
    assert hub.lfs_objects("alice/model") == {oid}
    verify = json.dumps({"oid": oid, "size": len(data)}).encode()
    assert call(hub, "POST", href(obj, "verify"), verify, lfs_headers()).status == 401
    assert (
        call(hub, "POST", href(obj, "verify"), verify, lfs_headers(hub.write_token)).status == 200
    )
    unknown = json.dumps({"oid": "1" * 64, "size": 1}).encode()
    assert (
        call(hub, "POST", href(obj, "verify"), unknown, lfs_headers(hub.write_token)).status == 404
    )

    get_url = href(
        only_object(batch(hub, "alice/model", "download", [(oid, len(data))])), "download"
    )
    whole = call(hub, "GET", get_url)
    assert whole.status == 200 and whole.body == data
    tail = call(hub, "GET", get_url, headers={"Range": f"bytes={MiB}-"})
    assert tail.status == 206 and tail.body == data[MiB:]
    assert tail.headers["Content-Range"] == f"bytes {MiB}-{len(data) - 1}/{len(data)}"
    assert call(hub, "GET", get_url, headers={"Range": f"bytes={len(data)}-"}).status == 416

    hub.faults.fail_next(1, status=502, path_contains="/_lfs_storage/")
    assert call(hub, "GET", get_url).status == 502
    assert call(hub, "GET", get_url).status == 200


def test_storage_urls_expire(local_hub: LocalHub) -> None:
    local_hub.create_repo("alice/model")
    local_hub.lfs_action_expires_in = 1
    data = b"short-lived"
    obj = only_object(
        batch(
            local_hub, "alice/model", "upload", [(oid_of(data), len(data))], local_hub.write_token
        )
    )
    assert obj["actions"]["upload"]["expires_in"] == 1
    time.sleep(1.1)

    expired = call(local_hub, "PUT", href(obj, "upload"), data)

    assert expired.status == 403 and "expired" in str(expired.json()["message"])
    with pytest.raises(ValueError):
        local_hub.lfs_action_expires_in = 0


# ---------------------------------------------------------------------- multipart


def test_lfs_options_are_validated() -> None:
    hub = LocalHub(multipart_threshold=10, multipart_chunk_size=5, lfs_action_expires_in=60)
    assert (hub.multipart_threshold, hub.multipart_chunk_size, hub.lfs_action_expires_in) == (
        10,
        5,
        60,
    )
    with pytest.raises(ValueError):
        hub.multipart_chunk_size = 0
    with pytest.raises(ValueError):
        LocalHub(multipart_threshold=-1)
    hub.stop()


def test_multipart_upload_follows_the_hub_protocol(local_hub: LocalHub) -> None:
    hub = local_hub
    hub.multipart_threshold = MiB
    hub.multipart_chunk_size = 256 * 1024
    hub.create_repo("alice/model")
    big, small = os.urandom(MiB + 1000), os.urandom(1000)
    big_oid, small_oid = oid_of(big), oid_of(small)

    only_small = batch(
        hub,
        "alice/model",
        "upload",
        [(small_oid, 1000)],
        hub.write_token,
        transfers=["multipart", "basic"],
    )
    assert only_small.json()["transfer"] == "basic"
    not_offered = batch(hub, "alice/model", "upload", [(big_oid, len(big))], hub.write_token)
    assert not_offered.json()["transfer"] == "basic"

    response = batch(
        hub,
        "alice/model",
        "upload",
        [(big_oid, len(big)), (small_oid, 1000)],
        hub.write_token,
        transfers=["lfs-standalone-file", "multipart", "basic"],
    )
    body = response.json()
    assert body["transfer"] == "multipart"
    big_obj, small_obj = body["objects"]
    header = big_obj["actions"]["upload"]["header"]
    assert list(header) == ["chunk_size", "00001", "00002", "00003", "00004", "00005"]
    assert header["chunk_size"] == str(256 * 1024)
    assert sorted(small_obj["actions"]["upload"]["header"]) == ["00001", "chunk_size"]
    completion = big_obj["actions"]["upload"]["href"]
    assert "/_lfs_storage/" in completion and "/info/lfs/" not in completion
    assert big_obj["actions"]["verify"]["href"].endswith("/alice/model.git/info/lfs/objects/verify")

    chunk = 256 * 1024
    pieces = [big[i : i + chunk] for i in range(0, len(big), chunk)]
    assert call(hub, "PUT", header["00002"], pieces[1][:-1]).status == 400  # wrong part size
    etags = []
    for number, piece in enumerate(pieces, start=1):
        answer = call(hub, "PUT", header[f"{number:05d}"], piece)
        assert answer.status == 200
        assert answer.headers["ETag"] == '"' + hashlib.md5(piece).hexdigest() + '"'
        etags.append(answer.headers["ETag"])
    parts = [{"partNumber": n, "etag": e} for n, e in enumerate(etags, start=1)]

    def complete(part_list: list[dict[str, object]]) -> Response:
        payload = json.dumps({"oid": big_oid, "parts": part_list}).encode()
        return call(hub, "POST", completion, payload, lfs_headers(charset=False))

    assert complete(parts[:-1]).status == 400  # a part missing
    assert complete([*parts[:-1], {"partNumber": 5, "etag": '"0"'}]).status == 400
    assert hub.lfs_object_path(big_oid) is None
    assert complete(parts).status == 200
    assert complete(parts).status == 200  # a retried completion is harmless

    stored = hub.lfs_object_path(big_oid)
    assert stored is not None and stored.read_bytes() == big
    verify = json.dumps({"oid": big_oid, "size": len(big)}).encode()
    assert (
        call(
            hub, "POST", big_obj["actions"]["verify"]["href"], verify, lfs_headers(hub.write_token)
        ).status
        == 200
    )
    assert big_oid in hub.lfs_objects("alice/model")
    assert hub.storage_authorization_seen == []


# ---------------------------------------------------------------------- fault switches


@pytest.mark.parametrize("code", [404, 410, 422])
def test_status_batch_magic_gives_a_per_object_error(local_hub: LocalHub, code: int) -> None:
    local_hub.create_repo("alice/model")
    data = magic_content(f"status-batch-{code}")
    obj = only_object(
        batch(
            local_hub, "alice/model", "upload", [(oid_of(data), len(data))], local_hub.write_token
        )
    )
    assert obj["error"]["code"] == code and "actions" not in obj


def test_storage_magic_contents(local_hub: LocalHub) -> None:
    hub = local_hub
    hub.create_repo("alice/model")

    def put_url(name: str) -> tuple[bytes, str]:
        data = magic_content(name)
        obj = only_object(
            batch(hub, "alice/model", "upload", [(oid_of(data), len(data))], hub.write_token)
        )
        return data, href(obj, "upload")

    data, url = put_url("storage-upload-retry")
    assert [call(hub, "PUT", url, data).status for _ in range(2)] == [500, 200]
    data, url = put_url("storage-upload-retry-later")
    first = call(hub, "PUT", url, data)
    assert (first.status, first.headers["Retry-After"]) == (429, "1")
    assert call(hub, "PUT", url, data).status == 200
    data, url = put_url("storage-upload-drop")
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        call(hub, "PUT", url, data)
    assert call(hub, "PUT", url, data).status == 200
    data, url = put_url("status-storage-422")
    assert [call(hub, "PUT", url, data).status for _ in range(2)] == [422, 422]

    for name in (
        "storage-download-corrupt",
        "storage-download-drop",
        "storage-download-retry-later",
    ):
        data = magic_content(name)
        upload(hub, "alice/model", data)
        get_url = href(
            only_object(batch(hub, "alice/model", "download", [(oid_of(data), len(data))])),
            "download",
        )
        if name == "storage-download-corrupt":
            for _ in range(2):
                got = call(hub, "GET", get_url)
                assert got.status == 200 and len(got.body) == len(data) and got.body != data
        elif name == "storage-download-drop":
            with pytest.raises(http.client.IncompleteRead):
                call(hub, "GET", get_url)
            assert call(hub, "GET", get_url).body == data
        else:
            assert call(hub, "GET", get_url).status == 429
            assert call(hub, "GET", get_url).body == data

    assert set(MAGIC_CONTENT_NAMES) >= {"status-batch-404", "storage-download-corrupt"}
    with pytest.raises(ValueError, match="unknown"):
        magic_content("status-batch-999")


def test_repo_name_faults(local_hub: LocalHub) -> None:
    hub = local_hub
    assert set(LFS_REPO_FAULTS) == {"batch-500", "batch-429", "storage-500-once", "verify-fail"}
    for repo_id in (
        "alice/batch-500",
        "alice/batch-429",
        "alice/storage-500-once",
        "alice/verify-fail",
    ):
        hub.create_repo(repo_id)
    data = os.urandom(2048)
    obj = [(oid_of(data), len(data))]

    assert [
        batch(hub, "alice/batch-500", "upload", obj, hub.write_token).status for _ in range(3)
    ] == [500] * 3
    throttled = [batch(hub, "alice/batch-429", "upload", obj, hub.write_token) for _ in range(3)]
    assert [r.status for r in throttled] == [429, 429, 200]
    assert throttled[0].headers["Retry-After"] == "1"

    put = href(
        only_object(batch(hub, "alice/storage-500-once", "upload", obj, hub.write_token)), "upload"
    )
    assert [call(hub, "PUT", put, data).status for _ in range(2)] == [503, 200]
    get = href(only_object(batch(hub, "alice/storage-500-once", "download", obj)), "download")
    assert [call(hub, "GET", get).status for _ in range(2)] == [503, 200]

    up = only_object(batch(hub, "alice/verify-fail", "upload", obj, hub.write_token))
    assert call(hub, "PUT", href(up, "upload"), data).status == 200
    verify = json.dumps({"oid": oid_of(data), "size": len(data)}).encode()
    statuses = [
        call(hub, "POST", href(up, "verify"), verify, lfs_headers(hub.write_token)).status
        for _ in range(2)
    ]
    assert statuses == [503, 200]
