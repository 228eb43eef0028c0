"""The exception hierarchy: every class is an HfGitError, and built-in bases fit their meaning."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import hfgit
import pytest

SOURCES = Path(__file__).resolve().parent.parent / "src"


@pytest.mark.parametrize(
    ("cls", "builtin"),
    [
        (hfgit.AuthenticationError, PermissionError),
        (hfgit.RepositoryNotFoundError, FileNotFoundError),
        (hfgit.RevisionNotFoundError, LookupError),
        (hfgit.NetworkError, ConnectionError),
        (hfgit.CertificateError, hfgit.NetworkError),
        (hfgit.DirectoryNotEmptyError, FileExistsError),
        (hfgit.InvalidArgumentError, ValueError),
        (hfgit.InsecureTransportError, ValueError),
        (hfgit.LocalIOError, OSError),
        (hfgit.PushRejectedError, hfgit.HfGitError),
        (hfgit.NothingToCommitError, hfgit.HfGitError),
        (hfgit.NotARepositoryError, hfgit.HfGitError),
        (hfgit.DetachedHeadError, hfgit.HfGitError),
        (hfgit.DivergedError, hfgit.HfGitError),
        (hfgit.LocalChangesError, hfgit.HfGitError),
        (hfgit.IgnoredPathError, hfgit.InvalidArgumentError),
        (hfgit.NestedRepositoryError, hfgit.HfGitError),
        (hfgit.LfsExtensionError, hfgit.LfsError),
        (hfgit.RepositoryExistsError, FileExistsError),
        (hfgit.WritePermissionError, hfgit.AuthenticationError),
        (hfgit.PullRequestForbiddenError, hfgit.AuthenticationError),
        (hfgit.PullRequestNotFoundError, hfgit.RevisionNotFoundError),
        (hfgit.OfflineModeError, ConnectionError),
    ],
)
def test_each_error_is_an_hfgit_error_and_its_builtin(
    cls: type[Exception], builtin: type[Exception]
) -> None:
    assert issubclass(cls, hfgit.HfGitError)
    assert issubclass(cls, builtin)


def test_push_rejected_error_carries_the_ref_and_reason() -> None:
    err = hfgit.PushRejectedError(
        "rejected", ref="refs/heads/main", reason="pre-receive hook declined"
    )
    assert (err.ref, err.reason, str(err)) == (
        "refs/heads/main",
        "pre-receive hook declined",
        "rejected",
    )


def test_diverged_error_carries_the_conflicting_paths() -> None:
    err = hfgit.DivergedError("cannot rebase", paths=["README.md", "model.safetensors"])
    assert (err.paths, str(err)) == (("README.md", "model.safetensors"), "cannot rebase")
    assert hfgit.DivergedError("cannot fast-forward").paths == ()


def _parameters_of_the_public_api() -> set[str]:
    calls = [
        hfgit.clone,
        hfgit.commit,
        hfgit.push,
        hfgit.create_repo,
        hfgit.whoami,
        hfgit.CheckpointPusher,
    ]
    calls += [
        member
        for name, member in inspect.getmembers(hfgit.Repository, inspect.isfunction)
        if not name.startswith("_")
    ]
    return {name for call in calls for name in inspect.signature(call).parameters}


def test_every_option_an_error_message_points_at_exists_in_the_api() -> None:
    """A message that says "pass branch=" must name a parameter some public call really has."""
    known = _parameters_of_the_public_api()
    named: dict[str, str] = {}
    for source in SOURCES.rglob("*.rs"):
        for message in re.findall(r'"((?:[^"\\]|\\.)*)"', source.read_text(encoding="utf-8")):
            for option in re.findall(r"\b([a-z_]+)=(?:[A-Z.\[]|\.\.\.|\s|$)", message):
                named.setdefault(option, str(source.relative_to(SOURCES)))
    assert named, "the scan found no options at all: the pattern is broken"
    unknown = {option: where for option, where in named.items() if option not in known}
    assert not unknown, f"messages name options no public call has: {unknown}"
