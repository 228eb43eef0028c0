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
    CertificateError,
    CloneInterruptedError,
    DetachedHeadError,
    DirectoryNotEmptyError,
    DivergedError,
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
    PathspecError,
    ProxyError,
    PushRejectedError,
    RateLimitedError,
    RepositoryLockedError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
    SnapshotOverwrittenError,
)
from .progress import Progress
from .repository import Repository
from .results import (
    CommitInfo,
    LfsPullResult,
    PullResult,
    PushResult,
    RefUpdate,
    StatusEntry,
    StatusResult,
)

__version__: str = _native.__version__

__all__ = [
    "AuthenticationError",
    "CertificateError",
    "CheckpointPusher",
    "CloneInterruptedError",
    "CommitInfo",
    "DetachedHeadError",
    "DirectoryNotEmptyError",
    "DivergedError",
    "HfGitError",
    "IgnoredPathError",
    "InsecureTransportError",
    "InvalidArgumentError",
    "LfsError",
    "LfsExtensionError",
    "LfsFileChangedError",
    "LfsObjectMissingError",
    "LfsObjectRejectedError",
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
    "PathspecError",
    "Progress",
    "ProxyError",
    "PullResult",
    "PushRejectedError",
    "PushResult",
    "RateLimitedError",
    "RefUpdate",
    "Repository",
    "RepositoryLockedError",
    "RepositoryNotFoundError",
    "RevisionNotFoundError",
    "SnapshotOverwrittenError",
    "StatusEntry",
    "StatusResult",
    "__version__",
    "clone",
    "commit",
    "push",
]
