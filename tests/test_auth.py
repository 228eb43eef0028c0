"""Tokens: where they are found, that they never reach disk or messages, and how bad ones fail."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import hfgit
import pytest
from hfgit.testing import LocalHub


def files_containing(root: Path, needle: bytes) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and needle in p.read_bytes()]


def test_token_is_in_no_file_under_dot_git_after_clone_commit_and_push(
    hub: LocalHub, repo_id: str, clone_dir: Path
) -> None:
    repo = hfgit.clone(repo_id, clone_dir, token=hub.write_token, endpoint=hub.endpoint)
    (clone_dir / "weights.txt").write_text("w" * 10_000)
    repo.commit("add weights")
    repo.push(token=hub.write_token)
    repo.pull(token=hub.write_token)

    assert files_containing(clone_dir, hub.write_token.encode()) == []
    assert len(list((clone_dir / ".git").rglob("*"))) > 10


def test_token_embedded_in_a_url_reaches_no_file(hub: LocalHub, clone_dir: Path) -> None:
    hub.create_repo("alice/private", private=True)
    url = hub.repo_url("alice/private").replace("://", f"://hf_user:{hub.write_token}@")
    repo = hfgit.clone(url, clone_dir)
    (clone_dir / "x").write_text("x")
    repo.commit("x")
    repo.push(token=hub.write_token)  # the URL token was used for the clone, never stored

    assert files_containing(clone_dir, hub.write_token.encode()) == []


def test_wrong_token_fails_fast_after_at_most_one_retry(
    hub: LocalHub, repo_id: str, clone_dir: Path
) -> None:
    hub.create_repo("alice/private", private=True)
    before = len(hub.requests)
    started = time.monotonic()

    with pytest.raises(hfgit.AuthenticationError) as info:
        hfgit.clone("alice/private", clone_dir, token="hf_" + "x" * 34, endpoint=hub.endpoint)

    assert time.monotonic() - started < 2.0
    authenticated = [r for r in hub.requests[before:] if r.authorization]
    assert len(authenticated) <= 2
    assert isinstance(info.value, PermissionError)
    assert "hf_xxxx" not in str(info.value)
    assert not clone_dir.exists()


def test_anonymous_clone_of_a_private_repo_says_how_to_pass_a_token(
    hub: LocalHub, clone_dir: Path
) -> None:
    hub.create_repo("alice/private", private=True)
    with pytest.raises(hfgit.AuthenticationError, match="token="):
        hfgit.clone("alice/private", clone_dir, endpoint=hub.endpoint)


def test_hf_token_environment_variable_is_used(
    hub: LocalHub, clone_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub.create_repo("alice/private", private=True)
    monkeypatch.setenv("HF_TOKEN", hub.write_token)
    assert hfgit.clone("alice/private", clone_dir, endpoint=hub.endpoint).head


def test_token_file_from_hf_token_path_is_used(
    hub: LocalHub, clone_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub.create_repo("alice/private", private=True)
    token_file = tmp_path / "token"
    token_file.write_text(hub.write_token + "\n")
    monkeypatch.setenv("HF_TOKEN_PATH", str(token_file))
    assert hfgit.clone("alice/private", clone_dir, endpoint=hub.endpoint).head


def test_token_file_under_hf_home_is_used(
    hub: LocalHub, clone_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub.create_repo("alice/private", private=True)
    (tmp_path / "hfhome").mkdir()
    (tmp_path / "hfhome" / "token").write_text(hub.write_token)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hfhome"))
    assert hfgit.clone("alice/private", clone_dir, endpoint=hub.endpoint).head


def test_token_false_forces_anonymous_even_with_hf_token_set(
    hub: LocalHub, clone_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub.create_repo("alice/private", private=True)
    monkeypatch.setenv("HF_TOKEN", hub.write_token)
    with pytest.raises(hfgit.AuthenticationError):
        hfgit.clone("alice/private", clone_dir, token=False, endpoint=hub.endpoint)


def test_token_over_plain_http_to_another_host_is_refused_before_connecting(
    clone_dir: Path,
) -> None:
    with pytest.raises(hfgit.InsecureTransportError) as info:
        hfgit.clone(
            "alice/model", clone_dir, token="hf_" + "s" * 34, endpoint="http://hub.example.com"
        )
    assert isinstance(info.value, ValueError)
    assert "hf_ssss" not in str(info.value)
    assert not clone_dir.exists()


def test_error_messages_never_show_the_token_or_url_userinfo(
    hub: LocalHub, clone_dir: Path
) -> None:
    secret = "hf_" + "q" * 34
    url = f"{hub.endpoint}/alice/missing".replace("://", f"://someone:{secret}@")
    with pytest.raises(hfgit.HfGitError) as info:
        hfgit.clone(url, clone_dir)
    text = str(info.value) + repr(info.value)
    assert secret not in text and "someone:" not in text


def test_https_hub_is_trusted_through_ssl_cert_file(
    local_hub_https: LocalHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = local_hub_https
    hub.create_repo("alice/tls")
    assert hub.ca_file is not None
    monkeypatch.setenv("SSL_CERT_FILE", hub.ca_file)
    repo = hfgit.clone("alice/tls", tmp_path / "c", token=hub.write_token, endpoint=hub.endpoint)
    assert repo.remote_url and repo.remote_url.startswith("https://127.0.0.1:")


def test_https_hub_is_trusted_through_requests_ca_bundle(
    local_hub_https: LocalHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = local_hub_https
    hub.create_repo("alice/tls")
    assert hub.ca_file is not None
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", hub.ca_file)
    repo = hfgit.clone("alice/tls", tmp_path / "c", token=hub.write_token, endpoint=hub.endpoint)
    (tmp_path / "c" / "f.txt").write_text("over tls")
    repo.commit("tls commit")
    assert repo.push(token=hub.write_token).updates[0].new == repo.head


def test_untrusted_certificate_is_refused_with_a_certificate_error(tmp_path: Path) -> None:
    with LocalHub(https=True) as untrusted:
        untrusted.create_repo("alice/tls")
        with pytest.raises(hfgit.CertificateError) as info:
            hfgit.clone(
                "alice/tls",
                tmp_path / "c",
                token=untrusted.write_token,
                endpoint=untrusted.endpoint,
            )
    assert isinstance(info.value, hfgit.NetworkError)
    assert not (tmp_path / "c").exists()


def test_each_new_ssl_cert_file_is_trusted_even_with_requests_ca_bundle_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with LocalHub(https=True) as unrelated:
        assert unrelated.ca_file is not None
        shutil.copy(unrelated.ca_file, tmp_path / "unrelated-ca.pem")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "unrelated-ca.pem"))
    for i in range(2):
        with LocalHub(https=True) as hub:
            hub.create_repo("alice/tls")
            assert hub.ca_file is not None
            monkeypatch.setenv("SSL_CERT_FILE", hub.ca_file)
            repo = hfgit.clone(
                "alice/tls", tmp_path / f"c{i}", token=hub.write_token, endpoint=hub.endpoint
            )
            assert repo.head
