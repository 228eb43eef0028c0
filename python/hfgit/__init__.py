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
    PathspecError,
    PushRejectedError,
    RepositoryLockedError,
    RepositoryNotFoundError,
    RevisionExistsError,
    RevisionNotFoundError,
    SnapshotOverwrittenError,
    UnmergedBranchError,
)
from .init_folder import init
from .progress import Progress
from .repository import Repository
from .results import (
    BranchInfo,
    CommitInfo,
    FetchResult,
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
    "PullResult",
    "PushRejectedError",
    "PushResult",
    "RefUpdate",
    "Repository",
    "RepositoryLockedError",
    "RepositoryNotFoundError",
    "RevisionExistsError",
    "RevisionNotFoundError",
    "SnapshotOverwrittenError",
    "StatusEntry",
    "StatusResult",
    "TagInfo",
    "UnmergedBranchError",
    "__version__",
    "clone",
    "commit",
    "init",
    "push",
]
