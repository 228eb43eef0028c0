"""The Hub's HTTP API from hfgit: create_repo, whoami, the commit author, token sources and modes.

LocalHub answers each endpoint as the Hub does (hfgit.testing.hub_api), its request log shows
what reached it and with which authorization scheme, and real `git` checks what the API made.
Behaviour that needs a fresh process (libgit2 reads HOME once; the Colab secret is read once per
process) runs in a subprocess.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import hfgit
import pytest
from gitcli import git, isolated_git_env
from hfgit.testing import LocalHub

PACKAGE_ROOT = Path(hfgit.__file__).resolve().parent.parent


def api_requests(hub: LocalHub) -> list[tuple[str, str, int | None, str | None]]:
    return [
        (r.method, r.path, r.status, r.authorization)
        for r in hub.requests
        if r.path.startswith("/api/")
    ]


def run_python(code: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run `code` in a fresh interpreter that imports this checkout's hfgit, warnings as errors."""
    pythonpath = [path for path in (env.get("PYTHONPATH"), str(PACKAGE_ROOT)) if path]
    completed = subprocess.run(
        [sys.executable, "-W", "error", "-c", textwrap.dedent(code)],
        env={**env, "PYTHONPATH": os.pathsep.join(pythonpath)},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return completed


def fresh_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """A process environment with an empty HOME (no git identity), no HF variables, no tokens."""
    env = isolated_git_env(tmp_path / "home")
    for name in (
        "GIT_AUTHOR_NAME",
        "GIT_AUTHOR_EMAIL",
        "GIT_COMMITTER_NAME",
        "GIT_COMMITTER_EMAIL",
    ):
        env.pop(name, None)
    env["HF_HOME"] = str(tmp_path / "hf-home")
    env.update(extra)
    return env


# ---------------------------------------------------------------------- create_repo


def test_create_repo_makes_a_repo_that_git_clones_with_the_hubs_first_commit(
    hub: LocalHub, tmp_path: Path
) -> None:
    url = hfgit.create_repo("alice/new-model", token=hub.write_token, endpoint=hub.endpoint)

    assert url == hub.repo_url("alice/new-model")
    git("clone", "-q", url, str(tmp_path / "by-git"))
    assert (tmp_path / "by-git" / ".gitattributes").read_text().startswith("*.7z")
    assert api_requests(hub) == [("POST", "/api/repos/create", 200, "Bearer")]


def test_create_repo_of_an_existing_repo_raises_repository_exists_error_unless_exist_ok(
    hub: LocalHub, repo_id: str
) -> None:
    with pytest.raises(hfgit.RepositoryExistsError) as info:
        hfgit.create_repo(repo_id, token=hub.write_token, endpoint=hub.endpoint)

    assert isinstance(info.value, FileExistsError)
    assert "You already created this model repo" in str(info.value)
    assert "exist_ok=True" in str(info.value)
    url = hfgit.create_repo(repo_id, token=hub.write_token, endpoint=hub.endpoint, exist_ok=True)
    assert url == hub.repo_url(repo_id)


def test_create_repo_private_is_hidden_from_anonymous_git_and_dataset_type_sets_the_url(
    hub: LocalHub, tmp_path: Path
) -> None:
    url = hfgit.create_repo(
        "alice/secret-data",
        repo_type="dataset",
        private=True,
        token=hub.write_token,
        endpoint=hub.endpoint,
    )

    assert url == hub.repo_url("alice/secret-data", "dataset")
    anonymous = subprocess.run(
        ["git", "clone", "-q", url, str(tmp_path / "anon")],
        env=isolated_git_env(tmp_path / "anon-home"),
        capture_output=True,
        text=True,
        check=False,
    )
    assert anonymous.returncode != 0
    git("clone", "-q", url, str(tmp_path / "with-token"), token=hub.read_token)


def test_create_repo_without_a_namespace_uses_the_token_owners(hub: LocalHub) -> None:
    url = hfgit.create_repo("solo", token=hub.write_token, endpoint=hub.endpoint)

    assert url == hub.repo_url(f"{hub.username}/solo")


def test_create_repo_refuses_an_invalid_repo_id_before_any_request(hub: LocalHub) -> None:
    for bad in ("a/b/c", "alice/--x", "alice/model.git", "alice/a b"):
        with pytest.raises(hfgit.InvalidArgumentError):
            hfgit.create_repo(bad, token=hub.write_token, endpoint=hub.endpoint)
    with pytest.raises(hfgit.InvalidArgumentError):
        hfgit.create_repo("alice/x", repo_type="kernel-ish", endpoint=hub.endpoint)
    with pytest.raises(hfgit.InvalidArgumentError, match="space_sdk"):
        hfgit.create_repo("alice/s", repo_type="space", endpoint=hub.endpoint)

    assert hub.requests == []


def test_create_repo_with_a_read_token_is_refused_with_the_hubs_reason_unless_it_exists(
    hub: LocalHub, repo_id: str
) -> None:
    with pytest.raises(hfgit.AuthenticationError) as info:
        hfgit.create_repo("alice/not-mine", token=hub.read_token, endpoint=hub.endpoint)
    assert "You don't have the rights to create a model" in str(info.value)
    assert "403" in str(info.value)
    with pytest.raises(hfgit.AuthenticationError, match="HF_TOKEN"):
        hfgit.create_repo("alice/no-token", endpoint=hub.endpoint)

    # exist_ok: a token that may not create still succeeds on a repo it can read, as with
    # huggingface_hub (which then asks GET /api/models/{repo_id}).
    url = hfgit.create_repo(repo_id, token=hub.read_token, endpoint=hub.endpoint, exist_ok=True)
    assert url == hub.repo_url(repo_id)
    assert api_requests(hub)[-2:] == [
        ("POST", "/api/repos/create", 403, "Bearer"),
        ("GET", f"/api/models/{repo_id}", 200, "Bearer"),
    ]


# ---------------------------------------------------------------------- whoami


def test_whoami_returns_the_token_owner_and_role_as_huggingface_hub_does(hub: LocalHub) -> None:
    me = hfgit.whoami(hub.read_token, endpoint=hub.endpoint)

    assert (me["type"], me["name"], me["fullname"]) == ("user", hub.username, hub.fullname)
    assert me["auth"]["accessToken"]["role"] == "read"
    assert api_requests(hub) == [("GET", "/api/whoami-v2", 200, "Bearer")]


def test_whoami_reads_hf_token_and_hf_endpoint(
    hub: LocalHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
    monkeypatch.setenv("HF_TOKEN", hub.write_token)

    assert hfgit.whoami()["auth"]["accessToken"]["role"] == "write"


def test_whoami_without_a_token_or_with_an_unknown_one_is_an_authentication_error(
    hub: LocalHub,
) -> None:
    with pytest.raises(hfgit.AuthenticationError, match="needs a token"):
        hfgit.whoami(endpoint=hub.endpoint)
    assert hub.requests == []
    with pytest.raises(hfgit.AuthenticationError, match="Invalid credentials") as info:
        hfgit.whoami("hf_" + "x" * 34, endpoint=hub.endpoint)
    assert "x" * 34 not in str(info.value)
    with pytest.raises(hfgit.InvalidArgumentError):
        hfgit.whoami(False, endpoint=hub.endpoint)


# ---------------------------------------------------------------------- the commit author


COMMIT_TWICE = """
    import pathlib
    import hfgit
    work = pathlib.Path("clone")
    for name in ("a.txt", "b.txt"):
        (work / name).write_text(name)
        hfgit.commit(work, f"add {name}")
    for entry in hfgit.Repository(work).log(limit=2):
        print(entry.author_name, "<" + entry.author_email + ">")
"""


def test_commit_author_is_the_token_owner_when_git_config_names_nobody(
    hub: LocalHub, repo_id: str, tmp_path: Path
) -> None:
    hfgit.clone(repo_id, tmp_path / "clone", token=hub.write_token, endpoint=hub.endpoint)
    hub.clear_requests()

    out = run_python(COMMIT_TWICE, fresh_env(tmp_path, HF_TOKEN=hub.write_token), tmp_path)

    # The Hub's no-reply address form (seen on commits the Hub makes; inferred, not documented).
    expected = f"{hub.fullname} <{hub.username}@users.noreply.huggingface.co>"
    assert out.stdout.splitlines() == [expected, expected]
    assert git("log", "-1", "--format=%an <%ae>|%cn <%ce>", cwd=tmp_path / "clone").strip() == (
        f"{expected}|{expected}"
    )
    # Asked once per process, whatever the number of commits.
    assert api_requests(hub) == [("GET", "/api/whoami-v2", 200, "Bearer")]


@pytest.mark.parametrize(
    ("setting", "whoami_calls"),
    [
        ({}, 0),
        ({"HF_HUB_OFFLINE": "1", "HF_TOKEN": "<write token>"}, 0),
        ({"HF_TOKEN": "hf_" + "u" * 34}, 1),
    ],
    ids=["no-token", "offline", "unknown-token"],
)
def test_commit_author_falls_back_without_a_token_offline_or_when_whoami_fails(
    setting: dict[str, str], whoami_calls: int, hub: LocalHub, repo_id: str, tmp_path: Path
) -> None:
    hfgit.clone(repo_id, tmp_path / "clone", token=hub.write_token, endpoint=hub.endpoint)
    hub.clear_requests()
    env = {k: hub.write_token if v == "<write token>" else v for k, v in setting.items()}

    out = run_python(COMMIT_TWICE, fresh_env(tmp_path, **env), tmp_path)

    assert out.stdout.splitlines() == ["hfgit <hfgit@localhost>"] * 2
    assert [r[1] for r in api_requests(hub)] == ["/api/whoami-v2"] * whoami_calls


def test_git_author_variables_and_git_config_still_come_first(
    hub: LocalHub, repo_id: str, tmp_path: Path
) -> None:
    hfgit.clone(repo_id, tmp_path / "clone", token=hub.write_token, endpoint=hub.endpoint)
    hub.clear_requests()
    env = fresh_env(
        tmp_path,
        HF_TOKEN=hub.write_token,
        GIT_AUTHOR_NAME="Env Name",
        GIT_AUTHOR_EMAIL="env@example.com",
    )

    out = run_python(COMMIT_TWICE, env, tmp_path)

    assert out.stdout.splitlines() == ["Env Name <env@example.com>"] * 2
    assert api_requests(hub) == []


# ---------------------------------------------------------------------- Colab's secret

FAKE_USERDATA = """
import os


class NotebookAccessError(Exception):
    pass


class SecretNotFoundError(Exception):
    pass


def get(key):
    with open(os.environ["FAKE_COLAB_LOG"], "a") as log:
        log.write(key + "\\n")
    mode = os.environ["FAKE_COLAB_MODE"]
    if mode == "grant":
        return "  " + os.environ["FAKE_COLAB_SECRET"] + "\\n"
    if mode == "refuse":
        raise NotebookAccessError(key)
    raise SecretNotFoundError(key)
"""

CLONE_PRIVATE_TWICE = """
    import hfgit, os
    for target in ("one", "two"):
        try:
            hfgit.clone(os.environ["REPO"], target, endpoint=os.environ["ENDPOINT"], progress=False)
            print("cloned")
        except hfgit.AuthenticationError:
            print("authentication-error")
"""


@pytest.fixture
def fake_colab(tmp_path: Path) -> Path:
    """A directory holding a stand-in `google.colab` package, to put first on sys.path."""
    root = tmp_path / "fake-colab"
    (root / "google" / "colab").mkdir(parents=True)
    (root / "google" / "__init__.py").write_text("")
    (root / "google" / "colab" / "__init__.py").write_text("")
    (root / "google" / "colab" / "userdata.py").write_text(FAKE_USERDATA)
    return root


def colab_env(
    tmp_path: Path, fake_colab: Path, hub: LocalHub, repo: str, mode: str
) -> dict[str, str]:
    return fresh_env(
        tmp_path,
        PYTHONPATH=str(fake_colab),
        FAKE_COLAB_MODE=mode,
        FAKE_COLAB_SECRET=hub.read_token,
        FAKE_COLAB_LOG=str(tmp_path / "colab.log"),
        REPO=repo,
        ENDPOINT=hub.endpoint,
    )


def test_the_colab_secret_is_a_token_source_read_once_per_process(
    hub: LocalHub, tmp_path: Path, fake_colab: Path
) -> None:
    hub.create_repo("alice/private", private=True)

    out = run_python(
        CLONE_PRIVATE_TWICE,
        colab_env(tmp_path, fake_colab, hub, "alice/private", "grant"),
        tmp_path,
    )

    assert out.stdout.split() == ["cloned", "cloned"]
    assert (tmp_path / "colab.log").read_text().split() == ["HF_TOKEN"]
    assert {r.token_scope for r in hub.requests if r.authorization} == {"read"}


@pytest.mark.parametrize("mode", ["refuse", "missing"])
def test_a_refused_or_missing_colab_secret_is_skipped_silently(
    mode: str, hub: LocalHub, tmp_path: Path, fake_colab: Path
) -> None:
    hub.create_repo("alice/private", private=True)

    out = run_python(
        CLONE_PRIVATE_TWICE, colab_env(tmp_path, fake_colab, hub, "alice/private", mode), tmp_path
    )

    # No warning (warnings are errors in the subprocess), no token: the Hub's 401, once asked.
    assert out.stdout.split() == ["authentication-error", "authentication-error"]
    assert (tmp_path / "colab.log").read_text().split() == ["HF_TOKEN"]
    assert {r.authorization for r in hub.requests} == {None}


def test_hf_token_and_the_token_file_come_before_the_colab_secret(
    hub: LocalHub, tmp_path: Path, fake_colab: Path
) -> None:
    hub.create_repo("alice/private", private=True)
    env = colab_env(tmp_path, fake_colab, hub, "alice/private", "grant")
    token_file = Path(env["HF_HOME"]) / "token"
    token_file.parent.mkdir(parents=True)
    token_file.write_text(hub.write_token)

    out = run_python(CLONE_PRIVATE_TWICE, env, tmp_path)

    assert out.stdout.split() == ["cloned", "cloned"]
    assert not (tmp_path / "colab.log").exists(), "Colab was asked though the file had a token"
    assert {r.token_scope for r in hub.requests if r.authorization} == {"write"}


# ---------------------------------------------------------------------- HF_HUB_OFFLINE


def test_offline_mode_refuses_network_calls_before_any_request_while_local_calls_work(
    hub: LocalHub, repo_id: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = hfgit.clone(repo_id, tmp_path / "clone", token=hub.write_token, endpoint=hub.endpoint)
    hub.clear_requests()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")

    network_calls = [
        lambda: hfgit.clone(repo_id, tmp_path / "c2", token=hub.write_token, endpoint=hub.endpoint),
        lambda: repo.push(token=hub.write_token),
        lambda: repo.push(token=hub.write_token, create_pr=True),
        lambda: repo.pull(token=hub.write_token),
        lambda: repo.lfs_pull(token=hub.write_token),
        lambda: hfgit.create_repo("alice/x", token=hub.write_token, endpoint=hub.endpoint),
        lambda: hfgit.whoami(hub.write_token, endpoint=hub.endpoint),
    ]
    for call in network_calls:
        with pytest.raises(hfgit.OfflineModeError, match="HF_HUB_OFFLINE"):
            call()

    assert hub.requests == []
    assert not (tmp_path / "c2").exists()
    (Path(repo.path) / "notes.md").write_text("offline notes")
    assert repo.status().untracked == ["notes.md"]
    repo.commit("written offline")
    assert repo.log(limit=1)[0].summary == "written offline"
    assert hub.requests == []
    assert not issubclass(hfgit.OfflineModeError, hfgit.NetworkError)

    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    assert repo.push(token=hub.write_token).updates[0].new == repo.head


# ---------------------------------------------------------------------- LFS authorization


def test_lfs_requests_carry_the_token_as_bearer(
    hub: LocalHub, repo_id: str, tmp_path: Path
) -> None:
    repo = hfgit.clone(repo_id, tmp_path / "clone", token=hub.write_token, endpoint=hub.endpoint)
    (Path(repo.path) / "w.bin").write_bytes(os.urandom(1_500_000))
    repo.commit("weights")
    hub.clear_requests()

    repo.push(token=hub.write_token)
    hfgit.clone(repo_id, tmp_path / "again", token=hub.write_token, endpoint=hub.endpoint)

    lfs = [
        (r.path.rsplit("/", 1)[-1], r.authorization) for r in hub.requests if "/info/lfs/" in r.path
    ]
    assert lfs == [("batch", "Bearer"), ("verify", "Bearer"), ("batch", "Bearer")]
    assert hub.storage_authorization_seen == []


def test_lfs_falls_back_to_basic_when_the_server_refuses_bearer(
    hub: LocalHub, repo_id: str, tmp_path: Path
) -> None:
    repo = hfgit.clone(repo_id, tmp_path / "clone", token=hub.write_token, endpoint=hub.endpoint)
    data = os.urandom(1_500_000)
    (Path(repo.path) / "w.bin").write_bytes(data)
    repo.commit("weights")
    hub.lfs_bearer_accepted = False
    hub.clear_requests()

    assert repo.push(token=hub.write_token).lfs_objects_uploaded == 1

    lfs = [
        (r.path.rsplit("/", 1)[-1], r.status, r.authorization)
        for r in hub.requests
        if "/info/lfs/" in r.path
    ]
    assert lfs == [("batch", 401, "Bearer"), ("batch", 200, "Basic"), ("verify", 200, "Basic")]
    again = hfgit.clone(repo_id, tmp_path / "again", token=hub.write_token, endpoint=hub.endpoint)
    assert (Path(again.path) / "w.bin").read_bytes() == data


def test_a_token_refused_over_both_schemes_is_an_authentication_error(
    hub: LocalHub, repo_id: str, tmp_path: Path
) -> None:
    repo = hfgit.clone(repo_id, tmp_path / "clone", token=hub.write_token, endpoint=hub.endpoint)
    (Path(repo.path) / "w.bin").write_bytes(os.urandom(1_500_000))
    head = repo.commit("weights")
    hub.clear_requests()

    with pytest.raises(hfgit.AuthenticationError):
        repo.push(token="hf_" + "z" * 34)

    assert [r.authorization for r in hub.requests if "/info/lfs/" in r.path] == ["Bearer", "Basic"]
    assert repo.head == head
    assert repo.push(token=hub.write_token).lfs_objects_uploaded == 1
