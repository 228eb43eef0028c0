"""The exceptions hfgit raises, all rooted at :class:`HfGitError`.

Where a built-in exception means the same thing, the class inherits it too, so code that already
catches ``PermissionError`` or ``ConnectionError`` keeps working. Messages never contain a token
or URL credentials. The Rust core maps each of its error kinds to exactly one class here.
"""

from __future__ import annotations

# typing.TYPE_CHECKING without importing typing or collections: `import hfgit` loads this module.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence


class HfGitError(Exception):
    """Base class of every error raised by hfgit."""


class AuthenticationError(HfGitError, PermissionError):
    """The server rejected the token, or the operation needs one and none was found."""


class WritePermissionError(AuthenticationError):
    """The token is valid but may not write to this ref: a read token, or no write access.

    The Hub answers such a push with ``DENIED update refs/heads/main: forbidden``. Push with
    ``create_pr=True`` to open a pull request with the commits instead (a read token may), or use
    a token with write access. ``ref`` names the refused ref and ``reason`` is what the Hub said;
    the local commits are untouched.
    """

    def __init__(self, message: str, *, ref: str | None = None, reason: str | None = None) -> None:
        super().__init__(message)
        self.ref = ref
        self.reason = reason


class PullRequestForbiddenError(AuthenticationError):
    """The Hub refused to open a pull request (HTTP 403).

    Pull requests and discussions may be turned off in the repo's settings, or the token may not
    open them; the message carries the Hub's own words.
    """


class OfflineModeError(HfGitError, ConnectionError):
    """``HF_HUB_OFFLINE`` is set and the call needs the network; nothing was sent.

    Local calls (commit, status, log) work offline. Not a :class:`NetworkError`: retrying does not
    help until the variable is unset.
    """


class RepositoryNotFoundError(HfGitError, FileNotFoundError):
    """The repository does not exist, or the token cannot see it."""


class RepositoryExistsError(HfGitError, FileExistsError):
    """``create_repo`` of a repository that already exists (the Hub answered 409).

    Pass ``exist_ok=True`` to treat an existing repo as created.
    """


class RevisionNotFoundError(HfGitError, LookupError):
    """A branch, tag or commit the repository does not have."""

    def __init__(self, message: str, *, revision: str | None = None) -> None:
        super().__init__(message)
        self.revision = revision


class PullRequestNotFoundError(RevisionNotFoundError):
    """``push(pr=N)`` or ``revision="refs/pr/N"`` where the repo has no pull request N.

    ``num`` is N and ``revision`` is ``"refs/pr/N"``.
    """

    def __init__(
        self, message: str, *, revision: str | None = None, num: int | None = None
    ) -> None:
        super().__init__(message, revision=revision)
        self.num = num


class PushRejectedError(HfGitError):
    """The server (or the fast-forward check) refused to update a ref.

    ``ref`` names the remote ref, ``reason`` is the server's explanation. The local commit and
    branch are untouched.
    """

    def __init__(self, message: str, *, ref: str | None = None, reason: str | None = None) -> None:
        super().__init__(message)
        self.ref = ref
        self.reason = reason


class NetworkError(HfGitError, ConnectionError):
    """The connection failed, timed out, or the server answered with an error status."""


class CertificateError(NetworkError):
    """The server's TLS certificate is not trusted (see SSL_CERT_FILE / REQUESTS_CA_BUNDLE)."""


class ProxyError(NetworkError):
    """The proxy, not the Hub, failed the request.

    It refused it (403 to a tunnel, 407 for credentials it did not get or did not accept) or could
    not be reached. ``proxy`` names it as ``scheme://host:port`` (never with credentials), and the
    message says which setting chose it (``HTTPS_PROXY``, ``HTTP_PROXY``, ``ALL_PROXY``, git config
    ``http.proxy``) and what to do. The README's "Networks" section has the rules.
    """

    def __init__(self, message: str, *, proxy: str | None = None) -> None:
        super().__init__(message)
        self.proxy = proxy


class RateLimitedError(NetworkError):
    """The Hub kept answering 429 Too Many Requests for longer than hfgit may wait.

    The Hub counts requests in 5-minute windows. hfgit waits as long as the server asks (its
    ``RateLimit`` header, else ``Retry-After``), up to ``HFGIT_RATE_LIMIT_MAX_WAIT`` seconds for one
    request (default 300; 0: never wait), and raises this error when a wait would go past that.
    ``retry_after`` is how many seconds to wait, as the server said: ``Retry-After``, or the
    ``RateLimit`` header's ``t`` (seconds until the window resets) plus one, so that a retry lands
    in the new window; None when it did not say.
    A push whose pack was refused with 429 raises it without waiting (nothing was applied).
    Requests made with a token get higher limits.
    """

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class NothingToCommitError(HfGitError):
    """The work tree matches HEAD; pass ``allow_empty=True`` to commit anyway."""


class NotARepositoryError(HfGitError):
    """The path is not the top of a git work tree."""


class DirectoryNotEmptyError(HfGitError, FileExistsError):
    """A clone target that already holds files, or a git work tree of another remote (for
    ``clone`` and ``init``); nothing was written to it.

    Cloning again into a finished clone of the same remote is not an error: ``clone`` opens it.
    """


class RevisionExistsError(HfGitError):
    """A branch or tag was created under a name that is taken; nothing was changed.

    ``revision`` is the name. Pass ``exist_ok=True`` to keep the existing one instead.
    """

    def __init__(self, message: str, *, revision: str | None = None) -> None:
        super().__init__(message)
        self.revision = revision


class EntryNotFoundError(HfGitError, FileNotFoundError):
    """A path that the given revision does not hold (``Repository.show``).

    ``path`` and ``revision`` say which; the name follows huggingface_hub's error of that meaning.
    """

    def __init__(
        self, message: str, *, path: str | None = None, revision: str | None = None
    ) -> None:
        super().__init__(message)
        self.path = path
        self.revision = revision

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else super().__str__()


class BranchCheckedOutError(HfGitError):
    """The branch to delete is checked out; check out another one first. Nothing was deleted."""


class UnmergedBranchError(HfGitError):
    """Deleting the branch would lose commits no other branch or remote branch has.

    Nothing was deleted. Push or merge them first, or delete with ``force=True``.
    """


class DetachedHeadError(HfGitError):
    """HEAD is not on a branch and no ``branch=`` was given."""


class DivergedError(HfGitError):
    """Local and remote history both moved on and hfgit did not combine them.

    Raised by ``pull()`` (which only fast-forwards unless ``rebase=True``), and with
    ``rebase=True`` by ``pull`` and ``push`` when a local commit cannot be replayed on the
    remote's: ``paths`` then names the files both sides changed (overlapping edits, or any change
    to the same binary or Git LFS file); it is empty for other reasons (a merge commit among the
    unpushed ones, no shared history). Nothing local was changed.
    """

    def __init__(self, message: str, *, paths: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.paths: tuple[str, ...] = tuple(paths)


class LocalChangesError(HfGitError):
    """Uncommitted local changes would be overwritten."""


class InsecureTransportError(HfGitError, ValueError):
    """A token would be sent over plain ``http://`` to a host other than this machine."""


class InvalidArgumentError(HfGitError, ValueError):
    """A malformed repo id, URL, path or option."""


class IgnoredPathError(InvalidArgumentError):
    """A path given to ``commit(paths=...)`` is excluded by ``.gitignore``; nothing was committed.

    ``git add`` refuses such a path too (without ``-f``).
    """


class PathspecError(InvalidArgumentError):
    """A path given to ``commit(paths=...)`` or ``restore(paths)`` matches no file; nothing was
    committed or restored.

    ``git add`` and ``git restore`` refuse such a pathspec too ("did not match any files").
    """


class NestedRepositoryError(HfGitError):
    """A directory of the work tree is a git repository of its own; nothing was committed.

    git would record it as a gitlink (a pointer to a commit of the other repository) without its
    files. Move it out, ignore it, or delete its ``.git`` to commit its files.
    """


class SnapshotOverwrittenError(HfGitError):
    """Files of a :meth:`CheckpointPusher.submit` were rewritten in place before they were read.

    Nothing was committed for that submission; the next one carries the new content. Raised only
    inside the pusher, which logs it and counts it in ``submissions_superseded``.
    """


class CloneInterruptedError(HfGitError):
    """The directory holds a clone that was killed before it finished.

    Its history or LFS files may be incomplete. Clone into the same directory again to finish it
    (LFS objects already downloaded are kept), or run :meth:`Repository.lfs_pull` there when only
    LFS files are missing. ``Repository(path)`` opens such a directory with a warning, so that
    ``lfs_pull`` can be called; every other operation raises this error until it is finished.

    Also raised for a folder whose :func:`hfgit.init` was killed before it finished: run ``init``
    on it again (its files are never changed by ``init``).
    """


class _FileSystemError(OSError):
    """An ``OSError`` whose text is hfgit's message, with ``errno`` and ``filename`` when known."""

    def __init__(
        self, message: str, *, errno: int | None = None, filename: str | None = None
    ) -> None:
        super().__init__(message)
        if errno is not None:
            self.errno = errno
        if filename is not None:
            self.filename = filename

    def __str__(self) -> str:
        # OSError would render "[Errno n] strerror: filename" once filename is set.
        return str(self.args[0]) if self.args else super().__str__()


class LocalIOError(HfGitError, _FileSystemError):
    """A local file-system operation failed; ``errno`` and ``filename`` say which and where."""


class RepositoryLockedError(LocalIOError):
    """Another writer holds this repository's index or refs, or changed them under this call.

    Nothing was changed by the call that raised it; run it again once the other one is done.
    ``filename`` is the lock file. An hfgit lock is released by the kernel when its holder exits;
    a git ``index.lock`` left by a killed git process must be deleted by hand (the message says
    which file).
    """


class LfsError(HfGitError):
    """A Git LFS failure: a pointer, the local object store, the batch API or a transfer."""


class LfsTrackingError(LfsError, ValueError):
    """Files the Hub would refuse as plain git blobs, with ``lfs_auto_track=False``.

    Nothing was committed; track them in ``.gitattributes`` or commit with auto-tracking on.
    """


class LfsObjectMissingError(LfsError):
    """An LFS object that is not in ``.git/lfs/objects`` where it is needed.

    Raised by a push whose pointer's object is neither on the server nor local (nothing was
    pushed; fetch the object with ``lfs_pull`` or re-add the file), and by
    :meth:`Repository.show` for an LFS file whose content was never downloaded (``show`` does
    not download: check that revision out first).
    """


class LfsObjectRejectedError(LfsError):
    """The LFS server refused one object (its batch answer carried an error code)."""


class LfsTransferError(LfsError, NetworkError):
    """An LFS transfer failed after retries: server errors, dropped connections, bad answers."""


class LfsVerificationError(LfsError):
    """An LFS object's content does not match its pointer (size or SHA-256); it was not kept."""


class LfsFileChangedError(LfsError):
    """A file changed while it was being hashed; nothing was committed. Try again."""


class LfsExtensionError(LfsError):
    """A pointer names a git-lfs extension (an ``ext-N-name`` line) that hfgit does not run.

    Nothing is written for it. To fetch the other files, clone with ``lfs=False`` and call
    ``Repository.lfs_pull(exclude=[path])``. git-lfs without the extension configured fails the
    checkout the same way.
    """


class LfsStoreError(LfsError, _FileSystemError):
    """Reading or writing ``.git/lfs`` (or a file being cleaned into it) failed.

    ``errno`` and ``filename`` say why and where (``errno.ENOSPC`` for a full disk).
    """


__all__ = [
    "AuthenticationError",
    "BranchCheckedOutError",
    "CertificateError",
    "CloneInterruptedError",
    "DetachedHeadError",
    "DirectoryNotEmptyError",
    "DivergedError",
    "EntryNotFoundError",
    "HfGitError",
    "IgnoredPathError",
    "InsecureTransportError",
    "InvalidArgumentError",
    "LfsError",
    "LfsExtensionError",
    "LfsFileChangedError",
    "LfsObjectMissingError",
    "LfsObjectRejectedError",
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
    "ProxyError",
    "PullRequestForbiddenError",
    "PullRequestNotFoundError",
    "PushRejectedError",
    "RateLimitedError",
    "RepositoryExistsError",
    "RepositoryLockedError",
    "RepositoryNotFoundError",
    "RevisionExistsError",
    "RevisionNotFoundError",
    "SnapshotOverwrittenError",
    "UnmergedBranchError",
    "WritePermissionError",
]
