"""Cloning: what lands on disk, how revisions and repo types are chosen, how failures clean up."""

from __future__ import annotations

import os
from pathlib import Path

import hfgit
import pytest
from gitcli import git
from hfgit.testing import LocalHub


def test_clone_checks_out_the_seed_commit_and_real_git_finds_it_sound(
    hub: LocalHub, repo_id: str, clone_dir: Path
) -> None:
    repo = hfgit.clone(repo_id, clone_dir, token=hub.write_token, endpoint=hub.endpoint)

    assert Path(repo.path) == clone_dir.resolve()
    assert repo.branch == "main"
    assert (clone_dir / ".gitattributes").read_text().count("filter=lfs") > 30
    git("fsck", "--full", cwd=clone_dir)
    assert git("status", "--porcelain", cwd=clone_dir) == ""
    assert git("rev-parse", "HEAD", cwd=clone_dir).strip() == repo.head


@pytest.mark.parametrize("extra_attributes", ["", "*.txt text eol=crlf\n*.c ident\n"])
def test_checked_out_files_are_byte_for_byte_what_git_clone_writes(
    hub: LocalHub, repo_id: str, tmp_path: Path, extra_attributes: str
) -> None:
    seed = tmp_path / "seed"
    git("clone", "-q", hub.repo_url(repo_id), str(seed), token=hub.write_token)
    with (seed / ".gitattributes").open("a") as attributes:
        attributes.write(extra_attributes)
    files = {
        "notes.txt": b"one\ntwo\n",
        "raw.md": b"crlf\r\nkept\r\n",
        "id.c": b"/* $Id$ */\n",
        "run.sh": b"#!/bin/sh\n",
        "deep/er/data.json": b'{"a": 1}\n',
    }
    for name, content in files.items():
        (seed / name).parent.mkdir(parents=True, exist_ok=True)
        (seed / name).write_bytes(content)
    (seed / "run.sh").chmod(0o755)
    (seed / "link").symlink_to("notes.txt")
    git("add", "-A", cwd=seed)
    git("commit", "-qm", "mixed", cwd=seed)
    git("push", "-q", "origin", "main", cwd=seed, token=hub.write_token)
    by_git = tmp_path / "by-git"
    git("clone", "-q", hub.repo_url(repo_id), str(by_git), token=hub.write_token)

    hfgit.clone(repo_id, tmp_path / "by-hfgit", token=hub.write_token, endpoint=hub.endpoint)

    for name in [*files, ".gitattributes"]:
        assert (tmp_path / "by-hfgit" / name).read_bytes() == (by_git / name).read_bytes(), name
    assert os.access(tmp_path / "by-hfgit" / "run.sh", os.X_OK)
    assert os.readlink(tmp_path / "by-hfgit" / "link") == "notes.txt"
    assert git("status", "--porcelain", cwd=tmp_path / "by-hfgit") == ""


def test_stored_remote_url_is_clean_and_upstream_is_set(
    hub: LocalHub, repo_id: str, clone_dir: Path
) -> None:
    repo = hfgit.clone(repo_id, clone_dir, token=hub.write_token, endpoint=hub.endpoint)

    assert repo.remote_url == hub.repo_url(repo_id)
    assert git("config", "remote.origin.url", cwd=clone_dir).strip() == hub.repo_url(repo_id)
    assert (
        git("rev-parse", "--abbrev-ref", "main@{upstream}", cwd=clone_dir).strip() == "origin/main"
    )


def test_public_repo_clones_anonymously(hub: LocalHub, repo_id: str, clone_dir: Path) -> None:
    repo = hfgit.clone(repo_id, clone_dir, token=False, endpoint=hub.endpoint)
    assert repo.head is not None


def test_local_dir_defaults_to_the_repo_name_in_the_current_directory(
    hub: LocalHub, repo_id: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    repo = hfgit.clone(repo_id, token=hub.write_token, endpoint=hub.endpoint)
    assert Path(repo.path) == (tmp_path / repo_id.split("/")[1]).resolve()


def test_hf_endpoint_environment_variable_picks_the_hub(
    hub: LocalHub, repo_id: str, clone_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_ENDPOINT", hub.endpoint + "/")
    repo = hfgit.clone(repo_id, os.fspath(clone_dir), token=hub.write_token)
    assert repo.remote_url == hub.repo_url(repo_id)


@pytest.mark.parametrize("repo_type", ["dataset", "space"])
def test_dataset_and_space_repos_clone_by_prefix_or_repo_type(
    hub: LocalHub, tmp_path: Path, repo_type: str
) -> None:
    hub.create_repo("alice/things", repo_type=repo_type)
    by_type = hfgit.clone(
        "alice/things",
        tmp_path / "a",
        repo_type=repo_type,
        token=hub.write_token,
        endpoint=hub.endpoint,
    )
    by_prefix = hfgit.clone(
        f"{repo_type}s/alice/things", tmp_path / "b", token=hub.write_token, endpoint=hub.endpoint
    )
    assert by_type.head == by_prefix.head
    assert by_type.remote_url == hub.repo_url("alice/things", repo_type=repo_type)


def test_full_url_clones_and_a_token_inside_it_is_used_but_not_stored(
    hub: LocalHub, clone_dir: Path
) -> None:
    hub.create_repo("alice/secret", private=True)
    url = hub.repo_url("alice/secret").replace("://", f"://user:{hub.write_token}@")

    repo = hfgit.clone(url, clone_dir)

    assert repo.remote_url == hub.repo_url("alice/secret")
    assert hub.write_token not in (clone_dir / ".git" / "config").read_text()


def test_revision_selects_a_branch_a_tag_or_a_commit(
    hub: LocalHub, repo_id: str, tmp_path: Path
) -> None:
    work = hfgit.clone(repo_id, tmp_path / "work", token=hub.write_token, endpoint=hub.endpoint)
    first = work.head
    (tmp_path / "work" / "a.txt").write_text("a")
    second = work.commit("add a")
    work.push(token=hub.write_token, branch="dev")
    git("tag", "v1", first or "", cwd=tmp_path / "work")
    git("push", "origin", "v1", cwd=tmp_path / "work", token=hub.write_token)

    branch = hfgit.clone(
        repo_id, tmp_path / "b", revision="dev", token=hub.write_token, endpoint=hub.endpoint
    )
    tag = hfgit.clone(
        repo_id, tmp_path / "t", revision="v1", token=hub.write_token, endpoint=hub.endpoint
    )
    commit = hfgit.clone(
        repo_id,
        tmp_path / "c",
        revision=(first or "")[:10],
        token=hub.write_token,
        endpoint=hub.endpoint,
    )

    assert (branch.branch, branch.head) == ("dev", second)
    assert (tag.branch, tag.head) == (None, first)
    assert (commit.branch, commit.head) == (None, first)


def test_missing_revision_raises_and_leaves_no_directory(
    hub: LocalHub, repo_id: str, clone_dir: Path
) -> None:
    with pytest.raises(hfgit.RevisionNotFoundError) as info:
        hfgit.clone(
            repo_id,
            clone_dir,
            revision="no-such-branch",
            token=hub.write_token,
            endpoint=hub.endpoint,
        )
    assert info.value.revision == "no-such-branch"
    assert not clone_dir.exists()


def test_depth_one_makes_a_shallow_clone(hub: LocalHub, repo_id: str, tmp_path: Path) -> None:
    work = hfgit.clone(repo_id, tmp_path / "work", token=hub.write_token, endpoint=hub.endpoint)
    for i in range(3):
        (tmp_path / "work" / f"f{i}.txt").write_text(str(i))
        work.commit(f"commit {i}")
    work.push(token=hub.write_token)

    shallow = hfgit.clone(
        repo_id, tmp_path / "shallow", depth=1, token=hub.write_token, endpoint=hub.endpoint
    )

    assert shallow.head == work.head
    assert len(shallow.log()) == 1
    assert (tmp_path / "shallow" / ".git" / "shallow").exists()


def test_non_empty_target_is_refused_before_any_network_traffic(
    hub: LocalHub, repo_id: str, tmp_path: Path
) -> None:
    (tmp_path / "mine.txt").write_text("precious")
    requests_before = len(hub.requests)

    with pytest.raises(hfgit.DirectoryNotEmptyError):
        hfgit.clone(repo_id, tmp_path, token=hub.write_token, endpoint=hub.endpoint)

    assert (tmp_path / "mine.txt").read_text() == "precious"
    assert len(hub.requests) == requests_before


def test_existing_empty_directory_is_used_and_emptied_again_on_failure(
    hub: LocalHub, repo_id: str, tmp_path: Path
) -> None:
    target = tmp_path / "empty"
    target.mkdir()
    hub.faults.fail_next(1, status=500, path_contains="git-upload-pack")

    with pytest.raises(hfgit.NetworkError):
        hfgit.clone(repo_id, target, token=hub.write_token, endpoint=hub.endpoint)

    assert target.is_dir() and list(target.iterdir()) == []
    assert hfgit.clone(repo_id, target, token=hub.write_token, endpoint=hub.endpoint).head


def test_server_error_fails_the_clone_and_removes_its_directory(
    hub: LocalHub, repo_id: str, clone_dir: Path
) -> None:
    hub.faults.fail_next(1, status=500)
    with pytest.raises(hfgit.NetworkError, match="500"):
        hfgit.clone(repo_id, clone_dir, token=hub.write_token, endpoint=hub.endpoint)
    assert not clone_dir.exists()


def test_dropped_connection_is_a_network_error(
    hub: LocalHub, repo_id: str, clone_dir: Path
) -> None:
    hub.faults.drop_next(1)
    with pytest.raises(hfgit.NetworkError):
        hfgit.clone(repo_id, clone_dir, token=hub.write_token, endpoint=hub.endpoint)
    assert not clone_dir.exists()


def test_closed_port_fails_fast_with_a_network_error(tmp_path: Path) -> None:
    with LocalHub() as stopped:
        endpoint = stopped.endpoint
    with pytest.raises(hfgit.NetworkError) as info:
        hfgit.clone("alice/model", tmp_path / "x", token=False, endpoint=endpoint)
    assert isinstance(info.value, ConnectionError)
    assert not (tmp_path / "x").exists()


def test_missing_repo_with_a_token_is_repository_not_found(hub: LocalHub, clone_dir: Path) -> None:
    with pytest.raises(hfgit.RepositoryNotFoundError) as info:
        hfgit.clone("alice/nothing-here", clone_dir, token=hub.write_token, endpoint=hub.endpoint)
    assert isinstance(info.value, FileNotFoundError)
    assert not clone_dir.exists()


@pytest.mark.parametrize(
    "bad", ["alice/model/extra", "alice//model", "-alice/model", "alice/model.git", "git@hf.co:a/b"]
)
def test_malformed_repo_ids_and_urls_are_invalid_arguments(bad: str, clone_dir: Path) -> None:
    with pytest.raises(hfgit.InvalidArgumentError) as info:
        hfgit.clone(bad, clone_dir, token=False)
    assert isinstance(info.value, ValueError)
    assert not clone_dir.exists()


def test_progress_callback_receives_events_up_to_done(
    hub: LocalHub, repo_id: str, clone_dir: Path
) -> None:
    events: list[hfgit.Progress] = []
    hfgit.clone(
        repo_id, clone_dir, token=hub.write_token, endpoint=hub.endpoint, progress=events.append
    )
    assert events, "no progress event"
    assert all(isinstance(e, hfgit.Progress) for e in events)
    assert events[-1].phase == "done"


def test_progress_true_draws_a_tqdm_bar(hub: LocalHub, repo_id: str, clone_dir: Path) -> None:
    repo = hfgit.clone(
        repo_id, clone_dir, token=hub.write_token, endpoint=hub.endpoint, progress=True
    )
    assert repo.head
