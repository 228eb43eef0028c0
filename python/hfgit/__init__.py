"""hfgit: clone, commit and push Hugging Face Hub repositories from Python.

A Rust extension on libgit2: no git CLI, tokens kept off disk, the GIL released during network
and disk work, Ctrl-C honoured.

>>> import hfgit
>>> repo = hfgit.clone("user/model", token="hf_...")        # doctest: +SKIP
>>> repo.commit("update weights"); repo.push()              # doctest: +SKIP
"""

from __future__ import annotations

from .exceptions import (
    AuthenticationError,
    BranchCheckedOutError,
    CertificateError,
    CloneInterruptedError,
    DetachedHeadError,
    DirectoryNotEmptyError,
    DivergedError,
    EntryNotFoundError,
    HfGitError,
    IgnoredPathError,
    InsecureTransportError,
    InvalidArgumentError,
    LfsError,
    LfsExtensionError,
    LfsFileChangedError,
    LfsObjectMissingError,
    LfsObjectRejectedError,
    LfsStoreError,
    LfsTrackingError,
    LfsTransferError,
    LfsVerificationError,
    LocalChangesError,
    LocalIOError,
    NestedRepositoryError,
    NetworkError,
    NotARepositoryError,
    NothingToCommitError,
    OfflineModeError,
    PathspecError,
    ProxyError,
    PullRequestForbiddenError,
    PullRequestNotFoundError,
    PushRejectedError,
    RateLimitedError,
    RepositoryExistsError,
    RepositoryLockedError,
    RepositoryNotFoundError,
    RevisionExistsError,
    RevisionNotFoundError,
    SnapshotOverwrittenError,
    UnmergedBranchError,
    WritePermissionError,
)

# typing.TYPE_CHECKING without importing typing, which would cost `import hfgit` a few ms.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from .api import clone, commit, push
    from .checkpoint import CheckpointPusher
    from .hub import create_repo, whoami
    from .init_folder import init
    from .progress import Progress
    from .repository import Repository
    from .results import (
        BranchInfo,
        CommitInfo,
        FetchResult,
        LfsPruneResult,
        LfsPullResult,
        PullResult,
        PushResult,
        RefUpdate,
        StatusEntry,
        StatusResult,
        TagInfo,
    )

    __version__: str

# `import hfgit` stays cheap (no extension, threads, logging or dataclasses loaded): each name
# below is imported from its module the first time it is used, then kept as a module attribute.
_LAZY = {
    "clone": "api",
    "commit": "api",
    "push": "api",
    "CheckpointPusher": "checkpoint",
    "create_repo": "hub",
    "whoami": "hub",
    "init": "init_folder",
    "Progress": "progress",
    "Repository": "repository",
    "BranchInfo": "results",
    "CommitInfo": "results",
    "FetchResult": "results",
    "LfsPruneResult": "results",
    "LfsPullResult": "results",
    "PullResult": "results",
    "PushResult": "results",
    "RefUpdate": "results",
    "StatusEntry": "results",
    "StatusResult": "results",
    "TagInfo": "results",
    "__version__": "_native",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted((set(globals()) | set(__all__)) - {"TYPE_CHECKING"})


__all__ = [
    "AuthenticationError",
    "BranchCheckedOutError",
    "BranchInfo",
    "CertificateError",
    "CheckpointPusher",
    "CloneInterruptedError",
    "CommitInfo",
    "DetachedHeadError",
    "DirectoryNotEmptyError",
    "DivergedError",
    "EntryNotFoundError",
    "FetchResult",
    "HfGitError",
    "IgnoredPathError",
    "InsecureTransportError",
    "InvalidArgumentError",
    "LfsError",
    "LfsExtensionError",
    "LfsFileChangedError",
    "LfsObjectMissingError",
    "LfsObjectRejectedError",
    "LfsPruneResult",
    "LfsPullResult",
    "LfsStoreError",
    "LfsTrackingError",
    "LfsTransferError",
    "LfsVerificationError",
    "LocalChangesError",
    "LocalIOError",
    "NestedRepositoryError",
    "NetworkError",
    "NotARepositoryError",
    "NothingToCommitError",
    "OfflineModeError",
    "PathspecError",
    "Progress",
    "ProxyError",
    "PullRequestForbiddenError",
    "PullRequestNotFoundError",
    "PullResult",
    "PushRejectedError",
    "PushResult",
    "RateLimitedError",
    "RefUpdate",
    "Repository",
    "RepositoryExistsError",
    "RepositoryLockedError",
    "RepositoryNotFoundError",
    "RevisionExistsError",
    "RevisionNotFoundError",
    "SnapshotOverwrittenError",
    "StatusEntry",
    "StatusResult",
    "TagInfo",
    "UnmergedBranchError",
    "WritePermissionError",
    "__version__",
    "clone",
    "commit",
    "create_repo",
    "init",
    "push",
    "whoami",
]
