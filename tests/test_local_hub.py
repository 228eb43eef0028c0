"""Behaviour of hfgit.testing.LocalHub, checked with the real git command-line client.

Tokens reach git through `-c http.extraHeader=...` or a GIT_ASKPASS script that reads them from
the environment, so no token is ever written into a URL, a config file or anything on disk.
"""

from __future__ import annotations

import base64
import http.client
import json
import secrets
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest
from gitcli import isolated_git_env
from hfgit.testing import HubFaults, LocalHub, LocalHubError, RequestRecord, default_gitattributes

GIT_TIMEOUT = 60


class Git:
    """Runs the git CLI isolated from the user's config, prompts and proxies."""

    def __init__(self, home: Path) -> None:
        self.env = isolated_git_env(home)

    def run(
        self,
        *args: str,
        cwd: Path | None = None,
        token: str | None = None,
        scheme: str = "Basic",
        env: Mapping[str, str] | None = None,
        check: bool = True,
    ) -> subprocess.CompletedProcess[str]:
        command = ["git"]
        if token is not None:
            command += ["-c", f"http.extraHeader=Authorization: {authorization(token, scheme)}"]
        command += args
        completed = subprocess.run(
            command,
            cwd=cwd,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT,
            check=False,
        )
        if check and completed.returncode != 0:
            raise AssertionError(
                f"git {' '.join(args)} failed ({completed.returncode}):\n{completed.stderr}"
            )
        return completed

    def clone(self, url: str, target: Path, **kwargs: object) -> subprocess.CompletedProcess[str]:
        return self.run("clone", "--quiet", url, str(target), **kwargs)  # type: ignore[arg-type]

    def commit_file(self, repo: Path, name: str, content: str | bytes, message: str) -> None:
        path = repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        self.run("add", name, cwd=repo)
        self.run("commit", "--quiet", "-m", message, cwd=repo)


def authorization(token: str, scheme: str = "Basic") -> str:
    if scheme == "Bearer":
        return f"Bearer {token}"
    return "Basic " + base64.b64encode(f"hf_user:{token}".encode()).decode("ascii")


@pytest.fixture
def git(tmp_path: Path) -> Git:
    return Git(tmp_path / "home")


@pytest.fixture
def askpass(tmp_path: Path) -> Path:
    """A GIT_ASKPASS script answering with $TEST_GIT_TOKEN, so the token stays off disk."""
    script = tmp_path / "askpass.py"
    script.write_text(
        f"#!{sys.executable}\n"
        "import os, sys\n"
        "prompt = sys.argv[1] if len(sys.argv) > 1 else ''\n"
        "print('hf_user' if prompt.startswith('Username') else os.environ['TEST_GIT_TOKEN'])\n",
        encoding="utf-8",
    )
    script.chmod(0o700)
    return script


def statuses(records: Sequence[RequestRecord], path_suffix: str) -> list[int | None]:
    return [record.status for record in records if record.path.endswith(path_suffix)]


def http_request(
    hub: LocalHub,
    method: str,
    path: str,
    *,
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
) -> tuple[int, dict[str, str], bytes]:
    host, port = hub.endpoint.rsplit("/", 1)[-1].split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.request(method, path, body=body, headers=dict(headers or {}))
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def hex_text(size: int) -> str:
    """Incompressible-ish text (not binary, so future Hub binary-file rules let it through)."""
    lines = []
    while size > 0:
        line = secrets.token_hex(40) + "\n"
        lines.append(line)
        size -= len(line)
    return "".join(lines)


# ---------------------------------------------------------------------- clone and push


def test_fresh_repo_clones_with_one_gitattributes_commit_on_main(
    local_hub: LocalHub, git: Git, tmp_path: Path
) -> None:
    url = local_hub.create_repo("alice/model")
    assert url == f"{local_hub.endpoint}/alice/model"

    git.clone(url, tmp_path / "clone")

    clone = tmp_path / "clone"
    assert git.run("branch", "--show-current", cwd=clone).stdout.strip() == "main"
    log = git.run("log", "--format=%an <%ae>|%cn <%ce>", cwd=clone).stdout.splitlines()
    assert log == ["LocalHub <hub@localhost>|LocalHub <hub@localhost>"]
    assert git.run("ls-files", cwd=clone).stdout.split() == [".gitattributes"]
    assert (clone / ".gitattributes").read_text() == default_gitattributes("model")
    assert statuses(local_hub.requests, "/info/refs") == [200]


def test_push_with_write_token_is_seen_by_a_second_clone(
    local_hub: LocalHub, git: Git, tmp_path: Path
) -> None:
    url = local_hub.create_repo("alice/model")
    first, second = tmp_path / "first", tmp_path / "second"
    git.clone(url, first)
    git.commit_file(first, "README.md", "# hello\n", "add readme")

    git.run("push", "--quiet", "origin", "main", cwd=first, token=local_hub.write_token)

    git.clone(url, second)
    assert (second / "README.md").read_text() == "# hello\n"
    pushes = [r for r in local_hub.requests if r.path.endswith("/git-receive-pack")]
    assert [(r.status, r.authorization, r.token_scope) for r in pushes] == [(200, "Basic", "write")]


def test_chunked_push_of_several_mebibytes_succeeds(
    local_hub: LocalHub, git: Git, tmp_path: Path
) -> None:
    url = local_hub.create_repo("alice/big")
    clone = tmp_path / "clone"
    git.clone(url, clone)
    for index in range(4):
        (clone / f"part{index}.txt").write_text(hex_text(1024 * 1024))
    git.run("add", ".", cwd=clone)
    git.run("commit", "--quiet", "-m", "four MiB of text", cwd=clone)

    pushed = git.run(
        "-c",
        "http.postBuffer=1024",
        "push",
        "origin",
        "main",
        cwd=clone,
        token=local_hub.write_token,
        env={"GIT_TRACE_CURL": "1", "GIT_TRACE_CURL_NO_DATA": "1"},
    )

    assert "Transfer-Encoding: chunked" in pushed.stderr  # git really sent it chunked
    head = git.run("rev-parse", "HEAD", cwd=clone).stdout.strip()
    remote = git.run("ls-remote", url, "refs/heads/main").stdout.split()[0]
    assert remote == head


def test_gzip_encoded_request_bodies_reach_http_backend(
    local_hub: LocalHub, git: Git, tmp_path: Path
) -> None:
    url = local_hub.create_repo("alice/branches")
    writer, reader = tmp_path / "writer", tmp_path / "reader"
    git.clone(url, writer)
    git.clone(url, reader)
    # 40 branches on 40 distinct commits: the fetch then sends 40 "want" lines.
    script = (
        "for i in $(seq -w 0 39); do "
        'c=$(git commit-tree "HEAD^{tree}" -p HEAD -m "commit $i") && '
        'git branch "feature-$i" "$c"; '
        "done"
    )
    subprocess.run(["sh", "-c", script], cwd=writer, env=git.env, check=True, timeout=GIT_TIMEOUT)
    git.run("push", "--quiet", "origin", "--all", cwd=writer, token=local_hub.write_token)

    fetched = git.run(
        "fetch", "origin", cwd=reader, env={"GIT_TRACE_CURL": "1", "GIT_TRACE_CURL_NO_DATA": "1"}
    )

    assert "Content-Encoding: gzip" in fetched.stderr  # 40 wants make git gzip the request
    branches = git.run("branch", "-r", cwd=reader).stdout
    assert "origin/feature-39" in branches


def test_git_answers_the_401_challenge_with_credentials_from_askpass(
    local_hub: LocalHub, git: Git, tmp_path: Path, askpass: Path
) -> None:
    url = local_hub.create_repo("alice/model")
    clone = tmp_path / "clone"
    git.clone(url, clone)
    git.commit_file(clone, "a.txt", "a\n", "a")

    git.run(
        "push",
        "--quiet",
        "origin",
        "main",
        cwd=clone,
        env={"GIT_ASKPASS": str(askpass), "TEST_GIT_TOKEN": local_hub.write_token},
    )

    discovery = [r for r in local_hub.requests if r.query == "service=git-receive-pack"]
    assert [(r.status, r.authorization) for r in discovery] == [(401, None), (200, "Basic")]


def test_bearer_token_is_accepted_for_git(local_hub: LocalHub, git: Git, tmp_path: Path) -> None:
    url = local_hub.create_repo("alice/private", private=True)

    git.clone(url, tmp_path / "clone", token=local_hub.read_token, scheme="Bearer")

    assert {r.authorization for r in local_hub.requests} == {"Bearer"}
    assert {r.token_scope for r in local_hub.requests} == {"read"}


# ---------------------------------------------------------------------- access rules


def test_anonymous_push_is_challenged_with_401(
    local_hub: LocalHub, git: Git, tmp_path: Path
) -> None:
    url = local_hub.create_repo("alice/model")
    clone = tmp_path / "clone"
    git.clone(url, clone)
    git.commit_file(clone, "a.txt", "a\n", "a")

    pushed = git.run("push", "origin", "main", cwd=clone, check=False)

    assert pushed.returncode != 0
    assert "could not read Username" in pushed.stderr
    assert statuses(local_hub.requests, "/info/refs")[-1] == 401
    status, headers, body = http_request(
        local_hub, "POST", "/alice/model/git-receive-pack", body=b"0000"
    )
    assert status == 401
    assert headers["WWW-Authenticate"] == 'Basic realm="LocalHub"'
    assert body == b"Invalid username or password."


def test_push_with_read_token_is_declined_by_the_pre_receive_hook(
    local_hub: LocalHub, git: Git, tmp_path: Path
) -> None:
    url = local_hub.create_repo("alice/model")
    clone = tmp_path / "clone"
    git.clone(url, clone)
    git.commit_file(clone, "a.txt", "a\n", "a")

    pushed = git.run("push", "origin", "main", cwd=clone, token=local_hub.read_token, check=False)

    assert pushed.returncode != 0
    assert "! [remote rejected] main -> main (pre-receive hook declined)" in pushed.stderr
    assert "remote: Your push was rejected for the following reasons:" in pushed.stderr
    assert "remote: DENIED update refs/heads/main: forbidden" in pushed.stderr
    remote_log = git.run("log", "--format=%s", "main", cwd=local_hub.repo_path("alice/model"))
    assert remote_log.stdout.splitlines() == ["initial commit"]


def test_private_repo_needs_a_token_to_clone(local_hub: LocalHub, git: Git, tmp_path: Path) -> None:
    url = local_hub.create_repo("alice/secret", private=True)

    anonymous = git.clone(url, tmp_path / "anonymous", check=False)
    assert anonymous.returncode != 0
    assert statuses(local_hub.requests, "/info/refs") == [401]

    git.clone(url, tmp_path / "with-token", token=local_hub.read_token)
    assert (tmp_path / "with-token" / ".gitattributes").is_file()


def test_missing_repo_is_404_with_a_token_and_401_without(
    local_hub: LocalHub, git: Git, tmp_path: Path
) -> None:
    url = local_hub.repo_url("alice/nothing")

    with_token = git.clone(url, tmp_path / "a", token=local_hub.write_token, check=False)
    anonymous = git.clone(url, tmp_path / "b", check=False)

    assert with_token.returncode != 0 and anonymous.returncode != 0
    assert "not found" in with_token.stderr
    assert statuses(local_hub.requests, "/info/refs") == [404, 401]
    status, headers, body = http_request(
        local_hub,
        "GET",
        "/alice/nothing/info/refs?service=git-upload-pack",
        headers={"Authorization": authorization(local_hub.write_token)},
    )
    assert (status, body) == (404, b"Repository not found")
    assert headers["X-Error-Code"] == "RepoNotFound"


def test_wrong_and_revoked_tokens_get_401_even_on_public_repos(
    local_hub: LocalHub, git: Git, tmp_path: Path
) -> None:
    url = local_hub.create_repo("alice/model")
    revoked = local_hub.add_token("write")
    local_hub.revoke_token(revoked)
    local_hub.revoke_token(revoked)  # revoking twice is harmless

    wrong = git.clone(url, tmp_path / "a", token="hf_" + "x" * 34, check=False)
    gone = git.clone(url, tmp_path / "b", token=revoked, scheme="Bearer", check=False)

    assert wrong.returncode != 0 and gone.returncode != 0
    assert [(r.status, r.authorization, r.token_scope) for r in local_hub.requests] == [
        (401, "Basic", None),
        (401, "Bearer", None),
    ]
    with pytest.raises(LocalHubError, match="not issued"):
        local_hub.revoke_token("hf_" + "y" * 34)


@pytest.mark.parametrize("repo_type", ["model", "dataset", "space"])
def test_each_repo_type_is_served_under_its_prefix_with_and_without_git_suffix(
    local_hub: LocalHub, git: Git, tmp_path: Path, repo_type: str
) -> None:
    url = local_hub.create_repo("bob/thing", repo_type=repo_type)
    prefix = {"model": "", "dataset": "datasets/", "space": "spaces/"}[repo_type]
    assert url == f"{local_hub.endpoint}/{prefix}bob/thing"
    assert url == local_hub.repo_url("bob/thing", repo_type)

    git.clone(url, tmp_path / "plain")
    git.clone(url + ".git", tmp_path / "suffixed")

    expected = default_gitattributes(repo_type)
    assert (tmp_path / "plain" / ".gitattributes").read_text() == expected
    assert (tmp_path / "suffixed" / ".gitattributes").read_text() == expected
    assert local_hub.repo_path("bob/thing", repo_type).is_dir()


def test_legacy_repo_id_without_namespace_works(
    local_hub: LocalHub, git: Git, tmp_path: Path
) -> None:
    url = local_hub.create_repo("gpt2")
    git.clone(url + ".git", tmp_path / "clone")
    git.commit_file(tmp_path / "clone", "a.txt", "a\n", "a")
    git.run(
        "push", "--quiet", "origin", "main", cwd=tmp_path / "clone", token=local_hub.write_token
    )


def test_lfs_paths_are_routed_and_unknown_paths_404(local_hub: LocalHub) -> None:
    local_hub.create_repo("alice/model")

    status, headers, body = http_request(
        local_hub, "POST", "/alice/model.git/info/lfs/objects/batch", body=b"{}"
    )
    assert status == 401  # the batch API exists and wants a token (see test_local_hub_lfs.py)
    assert headers["Content-Type"] == "application/vnd.git-lfs+json"
    assert headers["LFS-Authenticate"] == 'Basic realm="LocalHub"'
    assert "message" in json.loads(body)
    assert http_request(local_hub, "POST", "/datasets/x.git/info/lfs/locks/verify")[0] == 501
    assert http_request(local_hub, "GET", "/")[0] == 404
    assert http_request(local_hub, "GET", "/alice/model/objects/info/packs")[0] == 404
    assert http_request(local_hub, "GET", "/alice/model/git-upload-pack")[0] == 405


def test_connection_is_kept_alive_across_requests(local_hub: LocalHub) -> None:
    local_hub.create_repo("alice/model")
    host, port = local_hub.endpoint.rsplit("/", 1)[-1].split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        for path in [
            "/alice/model/info/refs?service=git-upload-pack",
            "/nope",
            "/alice/model/info/refs?service=git-receive-pack",
        ]:
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
        assert response.status == 401
        assert not response.will_close
    finally:
        connection.close()
    assert [r.status for r in local_hub.requests] == [200, 404, 401]


# ---------------------------------------------------------------------- HTTPS


def test_https_clone_works_when_git_trusts_the_generated_ca(
    local_hub_https: LocalHub, git: Git, tmp_path: Path
) -> None:
    hub = local_hub_https
    assert hub.endpoint.startswith("https://127.0.0.1:")
    assert hub.ca_file is not None and Path(hub.ca_file).is_file()
    url = hub.create_repo("alice/model")

    git.clone(url, tmp_path / "clone", env={"GIT_SSL_CAINFO": hub.ca_file})
    git.commit_file(tmp_path / "clone", "a.txt", "a\n", "a")
    git.run(
        "push",
        "--quiet",
        "origin",
        "main",
        cwd=tmp_path / "clone",
        token=hub.write_token,
        env={"GIT_SSL_CAINFO": hub.ca_file},
    )


def test_https_clone_fails_when_git_does_not_trust_the_ca(
    local_hub_https: LocalHub, git: Git, tmp_path: Path
) -> None:
    url = local_hub_https.create_repo("alice/model")

    cloned = git.clone(url, tmp_path / "clone", check=False)

    assert cloned.returncode != 0
    assert "certificate" in cloned.stderr.lower()
    assert local_hub_https.requests == []  # the handshake failed before any HTTP request


def test_https_certificate_verifies_for_127_0_0_1_and_localhost(
    local_hub_https: LocalHub,
) -> None:
    assert local_hub_https.ca_file is not None
    context = ssl.create_default_context(cafile=local_hub_https.ca_file)
    port = int(local_hub_https.endpoint.rsplit(":", 1)[1])
    for server_hostname in ("127.0.0.1", "localhost"):
        raw = socket.create_connection(("127.0.0.1", port), timeout=10)
        with context.wrap_socket(raw, server_hostname=server_hostname) as tls:  # owns raw
            assert tls.version() in ("TLSv1.2", "TLSv1.3")


# ---------------------------------------------------------------------- faults


def test_fail_next_fails_one_request_then_the_hub_recovers(
    local_hub: LocalHub, git: Git, tmp_path: Path
) -> None:
    url = local_hub.create_repo("alice/model")
    local_hub.faults.fail_next(1, status=500)

    failed = git.clone(url, tmp_path / "a", check=False)
    git.clone(url, tmp_path / "b")

    assert failed.returncode != 0
    assert "500" in failed.stderr
    assert statuses(local_hub.requests, "/info/refs") == [500, 200]
    assert local_hub.faults.pending == 0


def test_fail_next_with_path_contains_only_hits_matching_requests(
    local_hub: LocalHub, git: Git, tmp_path: Path
) -> None:
    url = local_hub.create_repo("alice/model")
    local_hub.faults.fail_next(1, status=503, path_contains="/git-upload-pack")

    failed = git.clone(url, tmp_path / "a", check=False)

    assert failed.returncode != 0
    assert [(r.method, r.status) for r in local_hub.requests] == [("GET", 200), ("POST", 503)]


def test_drop_next_closes_the_connection_without_a_response_then_recovers(
    local_hub: LocalHub, git: Git, tmp_path: Path
) -> None:
    url = local_hub.create_repo("alice/model")
    local_hub.faults.drop_next(1)

    failed = git.clone(url, tmp_path / "a", check=False)
    git.clone(url, tmp_path / "b")

    assert failed.returncode != 0
    assert "Empty reply from server" in failed.stderr
    assert statuses(local_hub.requests, "/info/refs") == [None, 200]


def test_fail_next_sends_the_headers_it_is_given_such_as_retry_after(
    local_hub: LocalHub,
) -> None:
    local_hub.create_repo("alice/model")
    local_hub.faults.fail_next(1, status=429, headers={"Retry-After": "2"})
    port = int(local_hub.endpoint.rsplit(":", 1)[1])

    before = time.monotonic()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", "/alice/model/info/refs?service=git-upload-pack")
        response = connection.getresponse()
        response.read()
    finally:
        connection.close()

    assert response.status == 429
    assert response.getheader("Retry-After") == "2"
    assert local_hub.faults.pending == 0
    [record] = local_hub.requests
    assert record.status == 429
    assert before <= record.received <= time.monotonic()  # when it arrived, for retry timing


def test_latency_delays_every_request(local_hub: LocalHub, git: Git) -> None:
    url = local_hub.create_repo("alice/model")
    local_hub.faults.latency = 0.3

    started = time.monotonic()
    git.run("ls-remote", url)
    elapsed = time.monotonic() - started

    assert elapsed >= 0.3
    local_hub.faults.clear()
    assert local_hub.faults.latency == 0


def test_fault_arguments_are_validated() -> None:
    faults = HubFaults()
    with pytest.raises(ValueError):
        faults.fail_next(1, status=200)
    with pytest.raises(ValueError):
        faults.latency = -1
    with pytest.raises(ValueError):
        faults.fail_next(1, status=429, headers={"Retry-After": "2\r\nX-Injected: 1"})
    faults.drop_next(2, path_contains="x")
    faults.fail_next(1)
    assert faults.pending == 3
    assert faults.take("/y") is not None and faults.pending == 2  # the fail rule matched
    faults.clear()
    assert faults.pending == 0


# ---------------------------------------------------------------------- secrets and lifecycle


def test_tokens_never_appear_in_the_request_log_or_on_disk(
    local_hub: LocalHub, git: Git, tmp_path: Path, askpass: Path
) -> None:
    url = local_hub.create_repo("alice/model", private=True)
    clone = tmp_path / "clone"
    git.clone(url, clone, token=local_hub.read_token)
    git.commit_file(clone, "a.txt", "a\n", "a")
    git.run(
        "push", "--quiet", "origin", "main", cwd=clone, token=local_hub.write_token, scheme="Bearer"
    )
    git.run(
        "fetch",
        "--quiet",
        cwd=clone,
        env={"GIT_ASKPASS": str(askpass), "TEST_GIT_TOKEN": local_hub.write_token},
    )
    git.run("push", "origin", "main", cwd=clone, token=local_hub.read_token, check=False)

    tokens = (local_hub.write_token, local_hub.read_token)
    assert all(token.startswith("hf_") and len(token) == 37 for token in tokens)
    log = repr(local_hub.requests)
    assert {r.authorization for r in local_hub.requests} == {None, "Basic", "Bearer"}
    for token in tokens:
        assert token not in log
        for directory in (local_hub.root, clone):
            for path in directory.rglob("*"):
                if path.is_file():
                    assert token.encode() not in path.read_bytes(), path


def test_create_repo_refuses_duplicates_and_invalid_ids(local_hub: LocalHub) -> None:
    local_hub.create_repo("alice/model")
    with pytest.raises(LocalHubError, match="already exists"):
        local_hub.create_repo("alice/model")
    local_hub.create_repo("alice/model", repo_type="dataset")  # other type, other repo
    for bad in ("a/b/c", "-x", "x..y", "x.git", "", "a b"):
        with pytest.raises(ValueError):
            local_hub.create_repo(bad)
    with pytest.raises(ValueError):
        local_hub.create_repo("alice/x", repo_type="kernel")


def test_deleted_repo_is_no_longer_served(local_hub: LocalHub, git: Git, tmp_path: Path) -> None:
    url = local_hub.create_repo("alice/model")
    local_hub.delete_repo("alice/model")

    cloned = git.clone(url, tmp_path / "clone", token=local_hub.write_token, check=False)

    assert cloned.returncode != 0
    assert not local_hub.repo_path("alice/model").exists()
    with pytest.raises(LocalHubError, match="does not exist"):
        local_hub.delete_repo("alice/model")


def test_stop_is_idempotent_and_removes_a_temporary_root() -> None:
    hub = LocalHub()
    root = hub.root
    with pytest.raises(LocalHubError, match="not running"):
        _ = hub.endpoint
    with hub:
        hub.create_repo("alice/model")
        assert hub.endpoint.startswith("http://127.0.0.1:")
        assert hub.ca_file is None
    hub.stop()
    assert not root.exists()
    with pytest.raises(LocalHubError, match="stopped"):
        hub.start()


def test_a_given_root_is_kept_after_stop(tmp_path: Path) -> None:
    with LocalHub(tmp_path / "hub") as hub:
        hub.create_repo("alice/model")
    assert (tmp_path / "hub" / "repos" / "models" / "alice" / "model.git" / "HEAD").is_file()


def test_stop_closes_idle_keep_alive_connections_promptly() -> None:
    hub = LocalHub().start()
    host, port = hub.endpoint.rsplit("/", 1)[-1].split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.request("GET", "/")
        connection.getresponse().read()
        started = time.monotonic()
        hub.stop()
        assert time.monotonic() - started < 2
    finally:
        connection.close()


def test_module_entry_point_serves_a_repo_until_terminated(git: Git, tmp_path: Path) -> None:
    command = [sys.executable, "-m", "hfgit.testing", "alice/demo", "--root", str(tmp_path / "r")]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        printed: dict[str, str] = {}
        for line in server.stdout:
            if line.startswith("Serving"):
                break
            key, _, value = line.partition(":")
            printed[key] = value.strip()
        assert printed["write token"].startswith("hf_")
        assert printed["read token"].startswith("hf_")
        assert printed["repo"] == printed["endpoint"] + "/alice/demo"

        refs = git.run("ls-remote", printed["repo"]).stdout
        assert "refs/heads/main" in refs
    finally:
        server.send_signal(signal.SIGTERM)
        _, errors = server.communicate(timeout=10)
    assert server.returncode == 0, errors


def test_missing_git_raises_local_hub_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))

    with pytest.raises(LocalHubError, match="needs git"):
        LocalHub()


def test_default_gitattributes_match_the_hub_lists() -> None:
    model = default_gitattributes("model").splitlines()
    dataset = default_gitattributes("dataset").splitlines()

    assert len(model) == 35
    assert model[0] == "*.7z filter=lfs diff=lfs merge=lfs -text"
    assert model[-1] == "*tfevents* filter=lfs diff=lfs merge=lfs -text"
    assert default_gitattributes("space") == default_gitattributes("model")
    patterns = [line.split()[0] for line in dataset if not line.startswith("#")]
    assert patterns[9:12] == ["*.lfs.*", "*.lz4", "*.mds"]
    assert "# Video files - compressed" in dataset
    assert patterns[-2:] == ["*.mp4", "*.webm"]
    assert all(
        line.endswith(" filter=lfs diff=lfs merge=lfs -text")
        for line in dataset
        if not line.startswith("#")
    )
