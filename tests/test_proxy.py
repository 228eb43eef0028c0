"""Proxies: git and Git LFS traffic through a real tinyproxy on 127.0.0.1, as HTTP_PROXY,
HTTPS_PROXY, NO_PROXY and git's http.proxy settings say; a proxy's refusal is the proxy's error.

Each test starts its own tinyproxy (tests/tinyproxy.py), whose log proves what went through it;
LocalHub's request log shows the other side (a forwarding proxy adds `Via`).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import socket
from collections.abc import Iterator
from pathlib import Path

import hfgit
import pytest
from gitcli import git
from hfgit import _native
from hfgit.testing import LocalHub
from tinyproxy import Tinyproxy


@pytest.fixture(autouse=True)
def lfs_over_basic(monkeypatch: pytest.MonkeyPatch) -> None:
    """Most tests here follow LFS storage requests through the proxy rules of src/net/, so they
    push with basic. The Xet tests at the end unset this: Xet traffic goes through the Hub
    crates' own HTTP client, which reads only the proxy variables (src/lfs/transfer/xet/proxy.rs),
    so a proxy from git config makes an `auto` push fall back to basic, with a WARNING."""
    monkeypatch.setenv("HFGIT_LFS_TRANSFER", "basic")


MiB = 1024 * 1024
PROXY_USER = "alice"
PROXY_PASSWORD = "pr0xy.s3cret-pw"


@pytest.fixture
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tinyproxy]:
    """tinyproxy as Debian configures it: CONNECT only to ports 443 and 563."""
    with Tinyproxy(tmp_path_factory.mktemp("tinyproxy")) as running:
        yield running


@pytest.fixture
def https_hub(local_hub_https: LocalHub, monkeypatch: pytest.MonkeyPatch) -> LocalHub:
    assert local_hub_https.ca_file is not None
    monkeypatch.setenv("SSL_CERT_FILE", local_hub_https.ca_file)
    return local_hub_https


def port_of(hub: LocalHub) -> int:
    return int(hub.endpoint.rsplit(":", 1)[1])


def push_weights(hub: LocalHub, repo_id: str, where: Path, size: int = 300_000) -> bytes:
    """Clone `repo_id` into `where`, commit an LFS file of `size` random bytes, push it."""
    repo = hfgit.clone(repo_id, where, token=hub.write_token, endpoint=hub.endpoint)
    weights = os.urandom(size)
    (where / "model.bin").write_bytes(weights)
    repo.commit("weights")
    assert repo.push(token=hub.write_token).lfs_objects_uploaded == 1
    return weights


def test_clone_push_and_lfs_over_plain_http_go_through_the_proxy_as_absolute_uri_requests(
    hub: LocalHub,
    repo_id: str,
    proxy: Tinyproxy,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.url)

    weights = push_weights(hub, repo_id, tmp_path / "first")
    hfgit.clone(
        repo_id, tmp_path / "second", token=hub.write_token, endpoint=hub.endpoint, revision="main"
    )

    assert (tmp_path / "second" / "model.bin").read_bytes() == weights
    repo_url = hub.repo_url(repo_id)
    forwarded = proxy.forwarded()
    for expected in [
        f"GET {repo_url}/info/refs?service=git-upload-pack",
        f"POST {repo_url}/git-upload-pack",
        f"GET {repo_url}/info/refs?service=git-receive-pack",
        f"POST {repo_url}/git-receive-pack",
        f"POST {repo_url}.git/info/lfs/objects/batch",
        f"PUT {hub.endpoint}/_lfs_storage/",
        f"GET {hub.endpoint}/_lfs_storage/",
    ]:
        assert any(line.startswith(expected) for line in forwarded), (expected, forwarded)
    # Nothing was tunnelled: this tinyproxy refuses CONNECT to any port but 443 and 563.
    assert proxy.tunnels() == []
    # The server's side: every request came through the proxy, 127.0.0.1 being no exception.
    assert hub.requests
    assert all(record.via and "tinyproxy" in record.via for record in hub.requests)


def test_clone_push_and_lfs_over_https_go_through_connect_tunnels(
    https_hub: LocalHub,
    tmp_path_factory: pytest.TempPathFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hub = https_hub
    hub.create_repo("alice/tunnel")
    target = f"127.0.0.1:{port_of(hub)}"
    with Tinyproxy(tmp_path_factory.mktemp("tinyproxy"), connect_ports=(port_of(hub),)) as proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        weights = push_weights(hub, "alice/tunnel", tmp_path / "first")
        after_push = len(proxy.tunnels())
        second = hfgit.clone(
            "alice/tunnel",
            tmp_path / "second",
            token=hub.write_token,
            endpoint=hub.endpoint,
            lfs=False,
        )
        after_git_clone = len(proxy.tunnels())
        assert second.lfs_pull(token=hub.write_token).objects_downloaded == 1
        after_lfs_pull = len(proxy.tunnels())

    assert (tmp_path / "second" / "model.bin").read_bytes() == weights
    assert proxy.forwarded() == []
    assert set(proxy.tunnels()) == {target}
    assert 0 < after_push < after_git_clone < after_lfs_pull
    # Tunnelled end to end: the proxy forwarded no request of its own to the hub.
    assert all(record.via is None for record in hub.requests)


@pytest.mark.parametrize(
    "no_proxy",
    [
        "127.0.0.1",
        "example.org, 127.0.0.0/8",
        "127.0.0.1:{port}",
        "*",
        "localhost,.hub.test,127.0.0.1",
    ],
)
def test_hosts_named_in_no_proxy_are_reached_directly(
    hub: LocalHub,
    repo_id: str,
    proxy: Tinyproxy,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    no_proxy: str,
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("no_proxy", no_proxy.format(port=port_of(hub)))

    push_weights(hub, repo_id, tmp_path / "first")
    hfgit.clone(repo_id, tmp_path / "second", token=hub.write_token, endpoint=hub.endpoint)

    assert proxy.requests() == []
    assert hub.requests and all(record.via is None for record in hub.requests)


def test_a_no_proxy_entry_for_another_port_or_host_does_not_bypass_the_proxy(
    hub: LocalHub,
    repo_id: str,
    proxy: Tinyproxy,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ALL_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", f"127.0.0.1:{port_of(hub) + 1},localhost,10.0.0.0/8")

    hfgit.clone(repo_id, tmp_path / "c", token=hub.write_token, endpoint=hub.endpoint)

    assert proxy.forwarded()
    assert all(record.via for record in hub.requests)


def test_git_config_http_url_proxy_of_the_repository_carries_its_git_and_lfs_traffic(
    hub: LocalHub,
    repo_id: str,
    proxy: Tinyproxy,
    tmp_path: Path,
) -> None:
    repo = hfgit.clone(repo_id, tmp_path / "c", token=hub.write_token, endpoint=hub.endpoint)
    git("config", f"http.{hub.endpoint}/.proxy", proxy.url, cwd=tmp_path / "c")
    assert proxy.requests() == []
    (tmp_path / "c" / "model.bin").write_bytes(os.urandom(100_000))
    repo.commit("weights")

    assert repo.push(token=hub.write_token).lfs_objects_uploaded == 1
    repo.pull(token=hub.write_token)

    forwarded = proxy.forwarded()
    repo_url = hub.repo_url(repo_id)
    for expected in [
        f"POST {repo_url}/git-receive-pack",
        f"PUT {hub.endpoint}/_lfs_storage/",
        f"GET {repo_url}/info/refs?service=git-upload-pack",
    ]:
        assert any(line.startswith(expected) for line in forwarded), (expected, forwarded)


def test_proxy_credentials_in_the_url_are_sent_and_never_shown(
    hub: LocalHub,
    repo_id: str,
    tmp_path_factory: pytest.TempPathFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    directory = tmp_path_factory.mktemp("tinyproxy")
    with Tinyproxy(directory, credentials=(PROXY_USER, PROXY_PASSWORD)) as proxy:
        # Percent-encoded in the URL ("." as %2E), decoded once before it is sent.
        encoded = PROXY_PASSWORD.replace(".", "%2E")
        monkeypatch.setenv("HTTP_PROXY", f"http://{PROXY_USER}:{encoded}@127.0.0.1:{proxy.port}")
        weights = push_weights(hub, repo_id, tmp_path / "first")
        hfgit.clone(repo_id, tmp_path / "second", token=hub.write_token, endpoint=hub.endpoint)

    assert (tmp_path / "second" / "model.bin").read_bytes() == weights
    forwarded = proxy.forwarded()
    assert any("/info/refs?service=git-upload-pack" in line for line in forwarded)
    assert any(line.startswith("PUT ") and "/_lfs_storage/" in line for line in forwarded)
    assert any(line.startswith("GET ") and "/_lfs_storage/" in line for line in forwarded)
    # A word on its own: object ids and session ids in the log may hold the digits "407", and
    # so may the milliseconds of its timestamps ("07:24:41.407").
    assert not re.search(r"(?<![.:])\b407\b", proxy.log()), (
        "the credentials were sent up front, as curl does"
    )
    for secret in (PROXY_PASSWORD, encoded):
        assert secret not in caplog.text


def test_wrong_proxy_credentials_are_a_proxy_error_that_does_not_show_them(
    https_hub: LocalHub,
    tmp_path_factory: pytest.TempPathFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    hub = https_hub
    hub.create_repo("alice/creds")
    push_weights(hub, "alice/creds", tmp_path / "direct")
    repo = hfgit.clone(
        "alice/creds", tmp_path / "d", token=hub.write_token, endpoint=hub.endpoint, lfs=False
    )
    directory = tmp_path_factory.mktemp("tinyproxy")
    with Tinyproxy(
        directory, connect_ports=(port_of(hub),), credentials=(PROXY_USER, PROXY_PASSWORD)
    ) as proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy.url_with(PROXY_USER, "wrong:pass word"))
        with pytest.raises(hfgit.ProxyError) as git_refused:
            hfgit.clone("alice/creds", tmp_path / "c", token=hub.write_token, endpoint=hub.endpoint)
        with pytest.raises(hfgit.ProxyError) as lfs_refused:
            repo.lfs_pull(token=hub.write_token)

    for error in (git_refused.value, lfs_refused.value):
        message = str(error)
        assert error.proxy == proxy.url
        assert "refused the user name and password in its URL (HTTP 401" in message
        assert "HTTPS_PROXY" in message
        for secret in ("wrong:pass word", "wrong%3Apass%20word", "pass word"):
            assert secret not in message
    assert "pass word" not in caplog.text and "pass%20word" not in caplog.text
    assert not (tmp_path / "c").exists()


def test_a_plain_http_proxy_refusing_its_credentials_is_a_proxy_error_not_the_hubs_refusal(
    hub: LocalHub,
    tmp_path_factory: pytest.TempPathFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hub.create_repo("alice/plain-creds")
    push_weights(hub, "alice/plain-creds", tmp_path / "direct")
    repo = hfgit.clone(
        "alice/plain-creds", tmp_path / "d", token=hub.write_token, endpoint=hub.endpoint, lfs=False
    )
    directory = tmp_path_factory.mktemp("tinyproxy")
    with Tinyproxy(directory, credentials=(PROXY_USER, PROXY_PASSWORD)) as proxy:
        # tinyproxy answers wrong credentials itself, with 401 and no Via: not the Hub's answer.
        monkeypatch.setenv("HTTP_PROXY", proxy.url_with(PROXY_USER, "wrong"))
        with pytest.raises(hfgit.ProxyError) as refused:
            repo.lfs_pull(token=hub.write_token)
        monkeypatch.setenv("HTTP_PROXY", proxy.url_with(PROXY_USER, PROXY_PASSWORD))
        pulled = repo.lfs_pull(token=hub.write_token)

    assert refused.value.proxy == proxy.url
    assert "refused the user name and password in its URL (HTTP 401" in str(refused.value)
    assert "wrong" not in str(refused.value)
    assert pulled.objects_downloaded == 1


def test_a_proxy_that_refuses_the_tunnel_is_a_proxy_error_naming_the_proxy_not_the_hub(
    https_hub: LocalHub,
    proxy: Tinyproxy,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hub = https_hub
    hub.create_repo("alice/refused")
    push_weights(hub, "alice/refused", tmp_path / "direct")
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)

    with pytest.raises(hfgit.ProxyError) as git_refused:
        hfgit.clone("alice/refused", tmp_path / "c", token=hub.write_token, endpoint=hub.endpoint)
    monkeypatch.setenv("HTTPS_PROXY", "")
    repo = hfgit.clone(
        "alice/refused", tmp_path / "d", token=hub.write_token, endpoint=hub.endpoint, lfs=False
    )
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    with pytest.raises(hfgit.ProxyError) as lfs_refused:
        repo.lfs_pull(token=hub.write_token)

    target = f"127.0.0.1:{port_of(hub)}"
    for error in (git_refused.value, lfs_refused.value):
        message = str(error)
        assert isinstance(error, hfgit.NetworkError)
        assert not isinstance(error, hfgit.AuthenticationError)
        assert error.proxy == proxy.url
        assert message.startswith(f"Proxy error at {proxy.url}: the proxy refused to connect")
        assert f"{target} (HTTP 403 Forbidden)" in message and "NO_PROXY" in message
    assert proxy.tunnels().count(target) >= 2


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_a_proxy_that_wants_credentials_it_was_not_given_is_a_proxy_error(
    scheme: str,
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hub: LocalHub = request.getfixturevalue("local_hub" if scheme == "http" else "https_hub")
    hub.create_repo("alice/auth")
    directory = tmp_path_factory.mktemp("tinyproxy")
    with Tinyproxy(
        directory, connect_ports=(port_of(hub),), credentials=(PROXY_USER, PROXY_PASSWORD)
    ) as proxy:
        monkeypatch.setenv("ALL_PROXY", proxy.url)
        with pytest.raises(hfgit.ProxyError) as info:
            hfgit.clone("alice/auth", tmp_path / "c", token=hub.write_token, endpoint=hub.endpoint)

    message = str(info.value)
    assert info.value.proxy == proxy.url
    assert "asks for a user name and password (HTTP 407" in message
    assert "ALL_PROXY" in message


def test_a_proxy_that_is_not_running_is_a_proxy_error_naming_it(
    hub: LocalHub, repo_id: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}"
    monkeypatch.setenv("http_proxy", dead)

    with pytest.raises(hfgit.ProxyError) as info:
        hfgit.clone(repo_id, tmp_path / "c", token=hub.write_token, endpoint=hub.endpoint)

    assert info.value.proxy == dead
    assert "cannot connect to the proxy" in str(info.value)
    assert "http_proxy" in str(info.value)
    assert hub.requests == []


def test_a_token_is_not_sent_in_clear_text_through_a_proxy_on_another_machine(
    hub: LocalHub, repo_id: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.invalid:3128")

    with pytest.raises(hfgit.InsecureTransportError) as info:
        hfgit.clone(repo_id, tmp_path / "c", token=hub.write_token, endpoint=hub.endpoint)

    assert "through the proxy http://proxy.invalid:3128" in str(info.value)
    assert hub.requests == []


def test_a_socks_proxy_is_refused_with_a_message_saying_which_variable_set_it(
    hub: LocalHub, repo_id: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALL_PROXY", "socks5://user:secret@127.0.0.1:1080")

    with pytest.raises(hfgit.ProxyError) as info:
        hfgit.clone(repo_id, tmp_path / "c", endpoint=hub.endpoint)

    assert "socks5:// proxies are not supported" in str(info.value)
    assert "ALL_PROXY" in str(info.value) and "secret" not in str(info.value)


@pytest.fixture
def xet_hub(hub: LocalHub, monkeypatch: pytest.MonkeyPatch) -> LocalHub:
    # Skipped only where Xet cannot run at all: a build with --no-default-features (no `xet`
    # feature), or a checkout where scripts/build-xet-cas.sh has not built LocalHub's CAS.
    # `.ci/run` builds both, so in CI these tests run.
    if not hasattr(_native, "_xet_shard_files"):
        pytest.skip("built without the xet feature")
    if not hub.xet_available:
        pytest.skip("no local_cas_server: run scripts/build-xet-cas.sh")
    monkeypatch.delenv("HFGIT_LFS_TRANSFER")
    return hub


def commit_weights(hub: LocalHub, repo_id: str, where: Path, size: int = 2 * MiB) -> str:
    """Clone `repo_id` into `where` and commit an LFS file of `size` random bytes; its oid."""
    repo = hfgit.clone(repo_id, where, token=hub.write_token, endpoint=hub.endpoint)
    weights = os.urandom(size)
    (where / "model.bin").write_bytes(weights)
    repo.commit("weights")
    return hashlib.sha256(weights).hexdigest()


def test_a_xet_push_goes_through_the_proxy_the_http_proxy_variable_names(
    xet_hub: LocalHub,
    repo_id: str,
    proxy: Tinyproxy,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    oid = commit_weights(xet_hub, repo_id, tmp_path / "work")

    hfgit.Repository(tmp_path / "work").push(token=xet_hub.write_token)

    assert xet_hub.xet_objects(repo_id) == {oid}
    cas = xet_hub.xet_cas_url.rstrip("/")
    forwarded = proxy.forwarded()
    assert any(line.startswith(f"POST {cas}/") for line in forwarded), forwarded
    assert not any("/_lfs_storage/" in line for line in forwarded), forwarded


def test_no_proxy_naming_the_cas_host_keeps_xet_traffic_off_the_proxy(
    xet_hub: LocalHub,
    repo_id: str,
    proxy: Tinyproxy,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    oid = commit_weights(xet_hub, repo_id, tmp_path / "work")

    hfgit.Repository(tmp_path / "work").push(token=xet_hub.write_token)

    assert xet_hub.xet_objects(repo_id) == {oid}
    assert proxy.forwarded() == []


def test_a_git_config_proxy_makes_an_auto_push_skip_xet_and_send_basic_through_it_with_a_warning(
    xet_hub: LocalHub,
    repo_id: str,
    proxy: Tinyproxy,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    oid = commit_weights(xet_hub, repo_id, tmp_path / "work")
    git("-C", str(tmp_path / "work"), "config", "http.proxy", proxy.url)

    with caplog.at_level(logging.WARNING, logger="hfgit"):
        hfgit.Repository(tmp_path / "work").push(token=xet_hub.write_token)

    assert xet_hub.xet_objects(repo_id) == set()
    assert xet_hub.xet_bytes_received == 0
    assert xet_hub.lfs_object_path(oid) is not None
    forwarded = proxy.forwarded()
    assert any(line.startswith(f"PUT {xet_hub.endpoint}/_lfs_storage/") for line in forwarded)
    warnings = [record.getMessage() for record in caplog.records]
    assert any("git config http.proxy" in m and "HTTPS_PROXY" in m for m in warnings), warnings


def test_a_git_config_proxy_fails_a_push_that_forces_xet_saying_to_use_the_variables(
    xet_hub: LocalHub, repo_id: str, proxy: Tinyproxy, tmp_path: Path
) -> None:
    commit_weights(xet_hub, repo_id, tmp_path / "work")
    git("-C", str(tmp_path / "work"), "config", "http.proxy", proxy.url)

    with pytest.raises(hfgit.HfGitError, match="HTTPS_PROXY/HTTP_PROXY"):
        hfgit.Repository(tmp_path / "work").push(token=xet_hub.write_token, lfs_transfer="xet")
    assert xet_hub.xet_bytes_received == 0
