"""The exception hierarchy: every class is an HfGitError, and built-in bases fit their meaning."""

from __future__ import annotations

import hfgit
import pytest


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
