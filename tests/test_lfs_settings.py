"""git-lfs's own settings, honoured as git-lfs honours them: `GIT_LFS_SKIP_SMUDGE`,
`lfs.fetchinclude` / `lfs.fetchexclude` (git config and the repo's `.lfsconfig`), and the LFS
endpoint settings `lfs.url`, `lfs.pushurl`, `remote.<name>.lfsurl`.

Real `git` + `git-lfs`, given the same settings, is the oracle: it must leave the same files as
pointers. Where objects went is checked on the server side, in LocalHub's request log and per-repo
object index.
"""

from __future__ import annotations

import hashlib
import logging
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Callable

import hfgit
import pytest
from gitcli import git
from hfgit.testing import LocalHub, RequestRecord

POINTER_PREFIX = b"version https://git-lfs.github.com/spec/v1\n"

LFS_FILES = {
    "a.bin": os.urandom(2048),
    "sub/b.bin": os.urandom(3000),
    "model.safetensors": os.urandom(4096),
}
PLAIN_FILES = {"config.json": b'{"hidden_size": 8}\n'}

SetGlobal = Callable[[str, str], None]


def pointer_paths(work_tree: Path) -> set[str]:
    """Work-tree files that hold an LFS pointer rather than content."""
    found = set()
    for path in work_tree.rglob("*"):
        if ".git" in path.relative_to(work_tree).parts or not path.is_file():
            continue
        with path.open("rb") as f:
            if f.read(len(POINTER_PREFIX)) == POINTER_PREFIX:
                found.add(path.relative_to(work_tree).as_posix())
    return found


def seed(
    hub: LocalHub,
    repo_id: str,
    work: Path,
    files: dict[str, bytes],
    *,
    token: str | None = None,
) -> hfgit.Repository:
    """Commit `files` to `repo_id` on `hub` with hfgit and push them; returns the work tree."""
    token = token or hub.write_token
    repo = hfgit.clone(repo_id, work, token=token, endpoint=hub.endpoint, lfs=True)
    for name, content in files.items():
        target = work / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    repo.commit("seed")
    repo.push(token=token)
    return repo


def new_repo(hub: LocalHub, stem: str) -> str:
    repo_id = f"alice/{stem}-{uuid.uuid4().hex[:8]}"
    hub.create_repo(repo_id)
    return repo_id


def share_history(hub: LocalHub, into: str, source: Path) -> None:
    """Give repo `into` the history of the bare repo at `source`, without its LFS objects (a
    fetch on the server's disk: no push, so no LFS upload and no pre-receive check)."""
    git(
        f"--git-dir={hub.repo_path(into)}",
        "fetch",
        "-q",
        str(source),
        "+refs/heads/main:refs/heads/main",
    )


def lfs_url(hub: LocalHub, repo_id: str) -> str:
    return f"{hub.repo_url(repo_id)}.git/info/lfs"


def batch_requests(hub: LocalHub, repo_id: str) -> list[RequestRecord]:
    path = f"/{repo_id}.git/info/lfs/objects/batch"
    return [r for r in hub.requests if r.path == path]


def git_clone(hub: LocalHub, repo_id: str, target: Path) -> Path:
    """`git clone` of a public repo, with git-lfs's smudge filter and the process's settings."""
    git("clone", "-q", hub.repo_url(repo_id), str(target))
    return target


@pytest.fixture
def seeded(hub: LocalHub, repo_id: str, tmp_path: Path) -> str:
    seed(hub, repo_id, tmp_path / "seed", {**LFS_FILES, **PLAIN_FILES})
    return repo_id


@pytest.fixture
def set_global() -> Iterator[SetGlobal]:
    """Set keys in the session's global git config (read by libgit2 and by the git CLI alike);
    the file is restored afterwards."""
    path = Path(os.environ["HOME"]) / ".gitconfig"
    original = path.read_bytes()

    def set_key(key: str, value: str) -> None:
        git("config", "--global", key, value)

    yield set_key
    path.write_bytes(original)


@pytest.fixture
def info_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="hfgit")
    return caplog


# ---------------------------------------------------------------------- GIT_LFS_SKIP_SMUDGE


def test_skip_smudge_makes_clone_leave_every_lfs_file_a_pointer_like_git_lfs(
    hub: LocalHub,
    seeded: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    info_log: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("GIT_LFS_SKIP_SMUDGE", "1")
    by_git = git_clone(hub, seeded, tmp_path / "by-git")
    hub.clear_requests()

    repo = hfgit.clone(seeded, tmp_path / "by-hfgit", token=hub.write_token, endpoint=hub.endpoint)

    assert pointer_paths(Path(repo.path)) == pointer_paths(by_git) == set(LFS_FILES)
    assert batch_requests(hub, seeded) == []
    assert any(
        "GIT_LFS_SKIP_SMUDGE" in r.getMessage() and "lfs_pull()" in r.getMessage()
        for r in info_log.records
        if r.levelno == logging.INFO
    )
    assert repo.status().entries == ()


@pytest.mark.parametrize("value", ["yes", "0"])
def test_skip_smudge_values_are_read_as_git_lfs_reads_them(
    hub: LocalHub, seeded: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("GIT_LFS_SKIP_SMUDGE", value)
    by_git = git_clone(hub, seeded, tmp_path / "by-git")

    repo = hfgit.clone(seeded, tmp_path / "by-hfgit", token=False, endpoint=hub.endpoint)

    assert pointer_paths(Path(repo.path)) == pointer_paths(by_git)


def test_skip_smudge_makes_pull_leave_new_lfs_files_pointers_and_lfs_pull_still_fetches_them(
    hub: LocalHub,
    seeded: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    info_log: pytest.LogCaptureFixture,
) -> None:
    repo = hfgit.clone(seeded, tmp_path / "clone", token=hub.write_token, endpoint=hub.endpoint)
    weights = os.urandom(5000)
    writer = hfgit.Repository(tmp_path / "seed")
    (Path(writer.path) / "new.bin").write_bytes(weights)
    writer.commit("more weights")
    writer.push(token=hub.write_token)
    monkeypatch.setenv("GIT_LFS_SKIP_SMUDGE", "true")

    repo.pull(token=hub.write_token)

    assert pointer_paths(Path(repo.path)) == {"new.bin"}
    assert any("GIT_LFS_SKIP_SMUDGE" in r.getMessage() for r in info_log.records)
    result = repo.lfs_pull(token=hub.write_token)
    assert (result.objects_downloaded, pointer_paths(Path(repo.path))) == (1, set())
    assert (Path(repo.path) / "new.bin").read_bytes() == weights


# ---------------------------------------------------------------------- fetchinclude / fetchexclude


@pytest.fixture
def excludes_bin_in_lfsconfig(hub: LocalHub, repo_id: str, tmp_path: Path) -> str:
    """A repo whose committed .lfsconfig says `[lfs] fetchexclude = *.bin`."""
    lfsconfig = {".lfsconfig": b"[lfs]\n\tfetchexclude = *.bin\n"}
    seed(hub, repo_id, tmp_path / "seed", {**LFS_FILES, **PLAIN_FILES, **lfsconfig})
    return repo_id


def test_lfsconfig_fetchexclude_makes_a_default_clone_skip_matching_files_like_git_lfs(
    hub: LocalHub,
    excludes_bin_in_lfsconfig: str,
    tmp_path: Path,
    info_log: pytest.LogCaptureFixture,
) -> None:
    by_git = git_clone(hub, excludes_bin_in_lfsconfig, tmp_path / "by-git")

    repo = hfgit.clone(
        excludes_bin_in_lfsconfig, tmp_path / "by-hfgit", token=False, endpoint=hub.endpoint
    )

    assert pointer_paths(Path(repo.path)) == pointer_paths(by_git) == {"a.bin", "sub/b.bin"}
    model = Path(repo.path) / "model.safetensors"
    assert model.read_bytes() == LFS_FILES["model.safetensors"]
    assert any("lfs.fetchexclude" in r.getMessage() for r in info_log.records)


def test_lfs_true_overrides_the_lfsconfig_fetchexclude(
    hub: LocalHub, excludes_bin_in_lfsconfig: str, tmp_path: Path
) -> None:
    repo = hfgit.clone(
        excludes_bin_in_lfsconfig, tmp_path / "c", token=False, endpoint=hub.endpoint, lfs=True
    )

    assert pointer_paths(Path(repo.path)) == set()


def test_global_git_config_wins_over_lfsconfig_at_clone_time_like_git_lfs(
    hub: LocalHub, excludes_bin_in_lfsconfig: str, tmp_path: Path, set_global: SetGlobal
) -> None:
    set_global("lfs.fetchexclude", "*.safetensors")
    set_global("lfs.fetchinclude", "sub, model.safetensors")
    by_git = git_clone(hub, excludes_bin_in_lfsconfig, tmp_path / "by-git")

    repo = hfgit.clone(
        excludes_bin_in_lfsconfig, tmp_path / "by-hfgit", token=False, endpoint=hub.endpoint
    )

    assert pointer_paths(Path(repo.path)) == pointer_paths(by_git)
    assert pointer_paths(by_git) == {"a.bin", "model.safetensors"}


def test_lfs_pull_defaults_to_fetchinclude_and_fetchexclude_and_each_list_replaces_its_own(
    hub: LocalHub, seeded: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GIT_LFS_SKIP_SMUDGE", "1")
    by_git = git_clone(hub, seeded, tmp_path / "by-git")
    repo = hfgit.clone(seeded, tmp_path / "by-hfgit", token=False, endpoint=hub.endpoint)
    monkeypatch.delenv("GIT_LFS_SKIP_SMUDGE")
    work = Path(repo.path)
    for tree in (by_git, work):
        git("config", "lfs.fetchinclude", "*.bin", cwd=tree)
        git("config", "lfs.fetchexclude", "sub", cwd=tree)

    # The settings alone: *.bin, but not under sub/.
    git("lfs", "pull", cwd=by_git)
    repo.lfs_pull(token=False)
    assert pointer_paths(work) == pointer_paths(by_git) == {"sub/b.bin", "model.safetensors"}
    # An include list replaces lfs.fetchinclude only: sub/ stays excluded.
    git("lfs", "pull", "-I", "*.safetensors,sub/b.bin", cwd=by_git)
    repo.lfs_pull(["*.safetensors", "sub/b.bin"], token=False)
    assert pointer_paths(work) == pointer_paths(by_git) == {"sub/b.bin"}
    # An exclude list replaces lfs.fetchexclude only: *.bin still included.
    git("lfs", "pull", "-X", "", cwd=by_git)
    repo.lfs_pull(exclude=[], token=False)
    assert pointer_paths(work) == pointer_paths(by_git)

    assert pointer_paths(work) == set()
    assert (work / "sub/b.bin").read_bytes() == LFS_FILES["sub/b.bin"]


# ---------------------------------------------------------------------- the LFS endpoint


def test_lfs_url_in_lfsconfig_makes_clone_download_from_that_repos_lfs_endpoint(
    hub: LocalHub, tmp_path: Path
) -> None:
    holder, mirror = new_repo(hub, "holder"), new_repo(hub, "mirror")
    lfsconfig = {".lfsconfig": f"[lfs]\n\turl = {lfs_url(hub, holder)}\n".encode()}
    seed(hub, holder, tmp_path / "seed", {**LFS_FILES, **lfsconfig})
    share_history(hub, mirror, hub.repo_path(holder))
    assert hub.lfs_objects(mirror) == set()
    by_git = git_clone(hub, mirror, tmp_path / "by-git")
    hub.clear_requests()

    repo = hfgit.clone(mirror, tmp_path / "by-hfgit", token=hub.write_token, endpoint=hub.endpoint)

    for name, content in LFS_FILES.items():
        assert (Path(repo.path) / name).read_bytes() == content == (by_git / name).read_bytes()
    batches = batch_requests(hub, holder)
    assert batches and all(r.authorization == "Bearer" for r in batches)
    assert batch_requests(hub, mirror) == []


def test_remote_lfsurl_chooses_where_lfs_pull_downloads_from(hub: LocalHub, tmp_path: Path) -> None:
    holder, mirror = new_repo(hub, "holder"), new_repo(hub, "mirror")
    seed(hub, holder, tmp_path / "seed", LFS_FILES)
    share_history(hub, mirror, hub.repo_path(holder))
    repo = hfgit.clone(
        mirror, tmp_path / "c", token=hub.write_token, endpoint=hub.endpoint, lfs=False
    )
    git("config", "remote.origin.lfsurl", lfs_url(hub, holder), cwd=Path(repo.path))
    hub.clear_requests()

    result = repo.lfs_pull(token=hub.write_token)

    assert result.objects_downloaded == len(LFS_FILES)
    assert pointer_paths(Path(repo.path)) == set()
    assert batch_requests(hub, holder) and batch_requests(hub, mirror) == []


def test_push_uploads_lfs_objects_to_lfs_pushurl(
    hub: LocalHub, repo_id: str, tmp_path: Path
) -> None:
    other = new_repo(hub, "other")
    repo = hfgit.clone(repo_id, tmp_path / "c", token=hub.write_token, endpoint=hub.endpoint)
    work = Path(repo.path)
    git("config", "lfs.pushurl", lfs_url(hub, other), cwd=work)
    weights = os.urandom(6000)
    (work / "w.bin").write_bytes(weights)
    repo.commit("weights")
    oid = hashlib.sha256(weights).hexdigest()

    # The objects go to lfs.pushurl, so the remote itself lacks them and refuses the pointer, as
    # the Hub (and git + git-lfs, with the same setting) would.
    with pytest.raises(hfgit.PushRejectedError):
        repo.push(token=hub.write_token)

    assert oid in hub.lfs_objects(other) and oid not in hub.lfs_objects(repo_id)
    assert all(r.authorization == "Bearer" for r in batch_requests(hub, other))
    git("config", "--unset", "lfs.pushurl", cwd=work)
    assert repo.push(token=hub.write_token).lfs_objects_uploaded == 1
    assert oid in hub.lfs_objects(repo_id)


def test_an_lfs_endpoint_on_another_host_gets_no_token(
    hub: LocalHub, tmp_path: Path, info_log: pytest.LogCaptureFixture
) -> None:
    with LocalHub(tmp_path / "elsewhere") as elsewhere:
        holder = new_repo(elsewhere, "holder")
        lfsconfig = {".lfsconfig": f"[lfs]\n\turl = {lfs_url(elsewhere, holder)}\n".encode()}
        seed(elsewhere, holder, tmp_path / "seed", {**LFS_FILES, **lfsconfig})
        mirror = new_repo(hub, "mirror")
        share_history(hub, mirror, elsewhere.repo_path(holder))
        elsewhere.clear_requests()

        repo = hfgit.clone(mirror, tmp_path / "c", token=hub.write_token, endpoint=hub.endpoint)

        assert pointer_paths(Path(repo.path)) == set()
        assert batch_requests(elsewhere, holder)
        assert all(r.authorization is None for r in elsewhere.requests)
    assert any("no token is sent" in r.getMessage() for r in info_log.records)


def test_an_lfs_url_that_is_not_http_is_refused_naming_the_setting(
    hub: LocalHub, seeded: str, tmp_path: Path, set_global: SetGlobal
) -> None:
    set_global("lfs.url", "ssh://git@example.com/alice/model.git")

    with pytest.raises(hfgit.LfsError, match=r"lfs\.url"):
        hfgit.clone(seeded, tmp_path / "c", token=False, endpoint=hub.endpoint)

    assert not (tmp_path / "c").exists()


def test_a_push_without_lfs_objects_does_not_read_the_lfs_endpoint_settings(
    hub: LocalHub, repo_id: str, tmp_path: Path
) -> None:
    repo = hfgit.clone(repo_id, tmp_path / "c", token=hub.write_token, endpoint=hub.endpoint)
    git("config", "lfs.url", "ssh://git@example.com/alice/model.git", cwd=Path(repo.path))
    (Path(repo.path) / "README.md").write_text("no large files here\n")
    repo.commit("readme")

    assert repo.push(token=hub.write_token).lfs_objects_uploaded == 0
