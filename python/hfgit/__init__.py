"""hfgit: clone, commit and push Hugging Face Hub repositories from Python.

A Rust extension on libgit2: no git CLI, tokens kept off disk, the GIL released during network
and disk work, Ctrl-C honoured.

>>> import hfgit
>>> repo = hfgit.clone("user/model", token="hf_...")        # doctest: +SKIP
>>> repo.commit("update weights"); repo.push()              # doctest: +SKIP
"""

from __future__ import annotations

from . import _native
from .api import clone, commit, push
from .checkpoint import CheckpointPusher
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

__version__: str = _native.__version__

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
