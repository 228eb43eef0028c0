"""The module-level functions: ``clone``, ``commit`` and ``push``."""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Literal, Union, overload

from . import _native
from .exceptions import InvalidArgumentError
from .progress import ProgressArg, progress_reporter
from .repository import Repository
from .results import LfsTransfer, PushResult, RefUpdate

PathArg = Union[str, "os.PathLike[str]"]
TokenArg = Union[str, bool, None]

_log = logging.getLogger("hfgit")
_background: ThreadPoolExecutor | None = None


def _background_pushes() -> ThreadPoolExecutor:
    """The threads that run ``push(..., blocking=False)``; created on first use."""
    global _background
    if _background is None:
        _background = ThreadPoolExecutor(max_workers=4, thread_name_prefix="hfgit-push")
    return _background


def clone(
    repo: str,
    local_dir: PathArg | None = None,
    *,
    token: TokenArg = None,
    repo_type: str | None = None,
    revision: str | None = None,
    depth: int | None = None,
    endpoint: str | None = None,
    progress: ProgressArg = None,
    lfs: bool | Sequence[str] | None = None,
    lfs_concurrency: int = 8,
    pull: bool = False,
) -> Repository:
    """Clone a Hub repository and return it as a :class:`Repository`.

    ``repo`` is ``"user/name"``, ``"datasets/user/name"``, ``"spaces/user/name"`` or a full
    ``https://`` URL; ``repo_type`` ("model", "dataset", "space") may say the same. ``local_dir``
    defaults to the repo's name in the current directory and must not hold files. The token is
    ``token=``, else ``HF_TOKEN``, else the token saved by ``hf auth login``; ``token=False`` clones
    anonymously. It is never written to disk. ``endpoint`` defaults to ``HF_ENDPOINT``, else
    https://huggingface.co. A failed or interrupted clone removes what it wrote.

    ``revision`` is a branch, a tag, a commit id, or a pull request's ``"refs/pr/N"``: that one is
    checked out on a local branch ``pr/N`` (the name the Hub's docs use) that tracks
    ``refs/pr/N``, so ``repo.push()`` adds commits to the pull request and ``repo.pull()`` brings
    its new ones. Raises :class:`RevisionNotFoundError` for a revision the repo does not have
    (:class:`PullRequestNotFoundError` for a missing ``refs/pr/N``), and
    :class:`OfflineModeError`, before anything is written, when ``HF_HUB_OFFLINE`` is set.

    Git LFS files are downloaded (up to ``lfs_concurrency`` at once, each verified against its
    SHA-256) and written over their pointers. ``lfs=None`` (the default) follows git-lfs's
    settings as ``git clone`` with git-lfs would (git-lfs-config(5)): ``GIT_LFS_SKIP_SMUDGE=1``
    leaves every LFS file a pointer, ``lfs.fetchinclude`` / ``lfs.fetchexclude`` from global or
    system git config or the cloned repo's ``.lfsconfig`` choose which files are downloaded, and
    ``lfs.url`` / ``remote.origin.lfsurl`` choose the LFS server (it gets the token only when it is
    on the remote's scheme, host and port). ``lfs=True`` downloads everything and ``lfs=False``
    nothing, whatever the settings; a list of git-lfs ``--include`` patterns
    (``["*.json", "model-0000*"]``) downloads only those. :meth:`Repository.lfs_pull` fetches the
    rest later. Raises :class:`LfsError` when a setting names an LFS server that is not an
    ``http(s)://`` URL.

    Running the same clone again (a notebook cell re-run) is not an error: when ``local_dir``
    already holds a finished clone of the same remote, it is opened as it is (an INFO log says
    so) and nothing is fetched, unless ``pull=True``, which fast-forwards its checked-out branch
    as :meth:`Repository.pull` does (raising what ``pull`` raises). ``revision`` and ``depth``
    are not applied to it (a log names a ``revision`` it is not at; :meth:`Repository.checkout`
    switches). A clone of another remote, or any other files, raise
    :class:`DirectoryNotEmptyError`; a clone that was interrupted is finished. A clone into a
    ``local_dir`` that another clone (another process or thread) is still writing raises
    :class:`RepositoryLockedError` at once, naming that process, and touches nothing: the lock
    is ``.<name>.hfgit-clone.lock`` beside ``local_dir``, removed when a clone ends and released
    by the system if its process dies.
    The network settings are the README's "Networks": proxies (``HTTPS_PROXY``, ``HTTP_PROXY``,
    ``ALL_PROXY``, ``NO_PROXY``, git config ``http.proxy``), the Hub's rate limits (a 429 is
    waited out as the Hub asks, up to ``HFGIT_RATE_LIMIT_MAX_WAIT`` seconds per request, default
    300) and timeouts (``HF_HUB_DOWNLOAD_TIMEOUT``, ``HF_HUB_ETAG_TIMEOUT``, in seconds). Raises
    :class:`ProxyError` when the proxy refuses or cannot be reached, :class:`RateLimitedError`
    when the Hub asks to wait longer than that cap, and :class:`NetworkError` for other network
    failures (a timeout included).
    """
    with progress_reporter(progress, "Opening") as callback:
        existing = _native.open_existing_clone(
            repo,
            local_dir,
            token=token,
            repo_type=repo_type,
            revision=revision,
            endpoint=endpoint,
            pull=pull,
            progress=callback,
        )
    if existing is not None:
        return Repository(existing)
    _log.info("cloning %s into %s", repo if "@" not in repo else "<url>", local_dir or ".")
    check_count("depth", depth, minimum=1)
    check_count("lfs_concurrency", lfs_concurrency, minimum=1, maximum=MAX_LFS_CONCURRENCY)
    with progress_reporter(progress, "Cloning") as callback:
        path = _native.clone(
            repo,
            local_dir,
            token=token,
            repo_type=repo_type,
            revision=revision,
            depth=depth,
            endpoint=endpoint,
            progress=callback,
            lfs=lfs if lfs is None or isinstance(lfs, bool) else list(lfs),
            lfs_concurrency=lfs_concurrency,
        )
    cloned = Repository(path)
    _log.info("cloned %s at %s", cloned.remote_url, cloned.head)
    return cloned


def _path_list(paths: PathArg | Iterable[PathArg] | None) -> list[PathArg] | None:
    """``paths`` as a list; one path given alone (``"config.json"``, a ``Path``) is one path,
    never the characters of its name."""
    if paths is None:
        return None
    if isinstance(paths, (str, os.PathLike)):
        return [paths]
    return list(paths)


def commit(
    local_dir: PathArg,
    message: str,
    *,
    paths: PathArg | Iterable[PathArg] | None = None,
    author: str | None = None,
    allow_empty: bool = False,
    lfs_auto_track: bool = True,
    progress: ProgressArg = None,
) -> str:
    """Stage every change in the work tree (or only ``paths``) and commit it; return the id.

    New, modified and deleted files are staged, ``.gitignore`` honoured. ``author`` is
    ``"Name <email>"`` and defaults to git config. Raises :class:`NothingToCommitError` when
    nothing changed, unless ``allow_empty=True``.

    ``paths`` (one path or several, relative to the work tree or absolute inside it) commits only
    those, like ``git commit -- <paths>``: changes staged elsewhere stay staged and out of the
    commit. A path that exists in the work tree or the index is that path and what is below it,
    even if its name holds ``*``, ``?``, ``[`` or ``\\``; only one that names nothing is a glob, as
    ``git add`` reads pathspecs. Raises :class:`PathspecError` for a path that matches no file
    (and for an empty list), :class:`IgnoredPathError` for one ``.gitignore`` excludes,
    :class:`InvalidArgumentError` for one outside the work tree or beyond a symbolic link, and
    :class:`NestedRepositoryError` when a nested git repository would be committed.

    Files that ``.gitattributes`` tracks with Git LFS are stored as LFS pointers, their content
    hashed into ``.git/lfs/objects`` exactly as git-lfs would. Files the Hub would refuse as plain
    git blobs (10 MiB or more, or binary and over 1 MB) are added to ``.gitattributes`` and stored
    in LFS too; with ``lfs_auto_track=False`` they raise :class:`LfsTrackingError` instead.
    """
    with progress_reporter(progress, "Committing") as callback:
        commit_id = _native.commit(
            local_dir,
            message,
            paths=_path_list(paths),
            author=author,
            allow_empty=allow_empty,
            lfs_auto_track=lfs_auto_track,
            progress=callback,
        )
    _log.info("committed %s in %s", commit_id[:12], os.fspath(local_dir))
    return commit_id


@overload
def push(
    local_dir: PathArg,
    *,
    token: TokenArg = ...,
    remote: str = ...,
    branch: str | None = ...,
    force: bool = ...,
    progress: ProgressArg = ...,
    lfs_concurrency: int = ...,
    rebase: bool = ...,
    create_pr: bool = ...,
    pr_title: str | None = ...,
    pr_description: str | None = ...,
    pr: int | None = ...,
    blocking: Literal[True] = ...,
    prune_lfs: bool = ...,
    lfs_transfer: LfsTransfer | None = ...,
) -> PushResult: ...
@overload
def push(
    local_dir: PathArg,
    *,
    token: TokenArg = ...,
    remote: str = ...,
    branch: str | None = ...,
    force: bool = ...,
    progress: ProgressArg = ...,
    lfs_concurrency: int = ...,
    rebase: bool = ...,
    create_pr: bool = ...,
    pr_title: str | None = ...,
    pr_description: str | None = ...,
    pr: int | None = ...,
    blocking: Literal[False],
    prune_lfs: bool = ...,
    lfs_transfer: LfsTransfer | None = ...,
) -> Future[PushResult]: ...
@overload
def push(
    local_dir: PathArg,
    *,
    token: TokenArg = ...,
    remote: str = ...,
    branch: str | None = ...,
    force: bool = ...,
    progress: ProgressArg = ...,
    lfs_concurrency: int = ...,
    rebase: bool = ...,
    create_pr: bool = ...,
    pr_title: str | None = ...,
    pr_description: str | None = ...,
    pr: int | None = ...,
    blocking: bool,
    prune_lfs: bool = ...,
    lfs_transfer: LfsTransfer | None = ...,
) -> PushResult | Future[PushResult]: ...
def push(
    local_dir: PathArg,
    *,
    token: TokenArg = None,
    remote: str = "origin",
    branch: str | None = None,
    force: bool = False,
    progress: ProgressArg = None,
    lfs_concurrency: int = 8,
    rebase: bool = False,
    create_pr: bool = False,
    pr_title: str | None = None,
    pr_description: str | None = None,
    pr: int | None = None,
    blocking: bool = True,
    prune_lfs: bool = False,
    lfs_transfer: LfsTransfer | None = None,
) -> PushResult | Future[PushResult]:
    """Push the current branch to its upstream (or to ``branch`` on the remote).

    Git LFS objects of the pushed commits are uploaded first (the Hub's batch API, ``basic`` or
    ``multipart`` transfers, ``lfs_concurrency`` at once, retried on server errors); the refs
    move only once every object is on the server. Raises :class:`PushRejectedError` when the
    server refuses a ref: a push never reports success unless every ref was accepted, and a
    failed push leaves local commits untouched.

    The objects go to the LFS server git-lfs's settings name for uploads, first found of
    ``lfs.pushurl``, ``lfs.url``, ``remote.<remote>.lfspushurl``, ``remote.<remote>.lfsurl``
    (git config, or the repo's ``.lfsconfig`` for all but ``lfspushurl``; git-lfs-config(5)),
    else to the remote's own. The token goes to that server only when it is on the remote's
    scheme, host and port; :class:`LfsError` is raised when a setting is not an ``http(s)://``
    URL.

    ``rebase=True`` keeps pushing when the remote moved on (the model card edited on the Hub
    website, another job's push): when the remote branch has commits the local one lacks, the
    unpushed local commits are replayed on top of them, oldest first, as ``git pull --rebase``
    does (author and message kept, committer time now), the work tree is updated like
    :meth:`Repository.pull` updates it (Git LFS files the remote brought are downloaded as
    git-lfs's settings select), and the push goes again, up to 3 times while the remote keeps
    moving. LFS objects already uploaded are not sent again. ``PushResult.rebased`` maps old
    commit ids to new ones. Raises :class:`DivergedError` (``paths`` names the files) when a
    commit cannot be replayed: both sides changed the same lines of a file, or changed the same
    binary file or LFS file at all (LFS pointers are never merged), or a file one side deleted,
    or a merge commit is among the unpushed ones; then nothing local was changed. Raises
    :class:`LocalChangesError` (naming them) when uncommitted edits are on files the remote
    changed, :class:`RepositoryLockedError` when another call is writing the index,
    :class:`DetachedHeadError` when no branch is checked out to rebase, and
    :class:`PushRejectedError` when the remote moved again after the third rebase (the rebased
    commits are kept; push again). A refusal for any other reason (a pre-receive rule, a
    read-only token) is raised as without ``rebase``. ``rebase=True`` together with
    ``force=True`` raises :class:`InvalidArgumentError`. Until a rebase has succeeded, only LFS
    uploads and the remote-tracking ref (``origin/main``) change; the rebase then moves the
    branch, index and work tree together (see :meth:`Repository.pull`).
    Pull requests, the Hub's way (a discussion whose commits live at ``refs/pr/N`` of the repo;
    huggingface_hub ``create_discussion``, ``Discussion.git_reference``): ``create_pr=True``
    opens one (``POST /api/{repo_type}s/{repo_id}/discussions`` with ``pullRequest: true``, as a
    draft) and pushes the commits to its ref, LFS objects first; ``pr_title`` defaults to the
    summary line of the pushed commit (3 to 200 characters) and ``pr_description`` to the rest of
    its message. ``pr=N`` pushes more commits to pull request N, which must exist
    (:class:`PullRequestNotFoundError` otherwise) and must fast-forward unless ``force=True``.
    Contributors without write access use these: a read token may open a pull request and push to
    it. ``PushResult.pr_num`` and ``.pr_url`` name the pull request. Neither combines with
    ``branch=``. If the push fails after the pull request was opened, the log says its number:
    push again with ``pr=N``.

    Raises :class:`WritePermissionError` (an :class:`AuthenticationError`) when the token may not
    write to the branch (the Hub's ``DENIED update refs/heads/main: forbidden``, or a 403 from
    its LFS API): ``create_pr=True`` is the way for such a token.
    :class:`PullRequestForbiddenError` when the Hub refuses to open a pull request (pull requests
    disabled on the repo, or not allowed to the token); :class:`OfflineModeError` when
    ``HF_HUB_OFFLINE`` is set (before any request).

    Proxies, rate limits and timeouts are as for :func:`clone`; a push rate-limited (429) before
    its refs were sent is sent again after the wait, but a pack the Hub refuses with 429 is not:
    that raises :class:`RateLimitedError` at once, with nothing applied on the server.

    ``blocking=False`` returns a :class:`concurrent.futures.Future` at once; it resolves to the
    :class:`PushResult`, and any error arrives through it.

    Xet: every Hub repository is Xet-backed, and the batch request offers ``xet`` after ``basic``
    and ``multipart``. When the Hub picks it, the new objects go to Xet storage through the Hub's
    own client crates, built into the wheel: files are cut into content-defined chunks and only
    the chunks storage does not have yet are sent, so a checkpoint that changed in part sends
    only what changed (``PushResult.lfs_bytes_sent``, ``.lfs_bytes_deduplicated``). Pointers in
    git stay ordinary LFS pointers. If Xet fails for a reason that is not yours (its storage
    unreachable after retries, an answer that cannot be used), the push sends the objects with
    ``basic``/``multipart`` instead and logs a WARNING; authentication and permission errors
    raise as for any upload; with the fallback open, the CAS gets 3 retries per request (1 s
    apart, doubling, at most 4 s each) rather than the crates' 5 from 3 s, unless the crates'
    ``HF_XET_CLIENT_RETRY_*`` variables are set. Before the Xet upload commits, each object's
    SHA-256 (computed while it is chunked) is checked against its pointer: a local object damaged
    since its commit raises :class:`LfsVerificationError` and no ref moves. ``lfs_transfer="xet"``
    forces Xet (no fallback; :class:`InvalidArgumentError` on a repository whose LFS server does
    not offer it), ``"basic"`` never offers it; the default (``None``) reads
    ``HFGIT_LFS_TRANSFER``, else ``"auto"``. The names are case-insensitive (``"multipart"`` and
    ``"lfs"`` also mean ``"basic"``).

    ``prune_lfs=True`` runs :meth:`Repository.lfs_prune` on ``remote`` after a successful push,
    so the local LFS store stops growing with every checkpoint (its rules say what goes: objects
    the remote has and nothing local needs). What it removed is ``PushResult.lfs_pruned``. A
    prune that fails does not fail the push: the error is logged as a warning on the ``hfgit``
    logger, ``lfs_pruned`` is ``None``, and the next prune catches up.
    """
    check_count("lfs_concurrency", lfs_concurrency, minimum=1, maximum=MAX_LFS_CONCURRENCY)
    check_count("pr", pr, minimum=1)
    if not blocking:
        return _background_pushes().submit(
            push,
            local_dir,
            token=token,
            remote=remote,
            branch=branch,
            force=force,
            progress=progress,
            lfs_concurrency=lfs_concurrency,
            rebase=rebase,
            create_pr=create_pr,
            pr_title=pr_title,
            pr_description=pr_description,
            pr=pr,
            prune_lfs=prune_lfs,
            lfs_transfer=lfs_transfer,
        )
    with progress_reporter(progress, "Pushing") as callback:
        raw = _native.push(
            local_dir,
            token=token,
            remote=remote,
            branch=branch,
            force=force,
            progress=callback,
            lfs_concurrency=lfs_concurrency,
            rebase=rebase,
            create_pr=create_pr,
            pr_title=pr_title,
            pr_description=pr_description,
            pr=pr,
            lfs_transfer=lfs_transfer,
        )
    result = PushResult(
        remote_url=raw["remote_url"],
        updates=tuple(RefUpdate(ref, old, new) for ref, old, new in raw["updates"]),
        lfs_objects_uploaded=raw["lfs_objects"],
        lfs_bytes_uploaded=raw["lfs_bytes"],
        lfs_bytes_sent=raw["lfs_bytes_sent"],
        lfs_bytes_deduplicated=raw["lfs_bytes_deduplicated"],
        rebased=tuple(raw["rebased"]),
        pr_num=raw["pr_num"],
        pr_url=raw["pr_url"],
    )
    if result.rebased:
        _log.info(
            "rebased %d local commit(s) onto the remote's new commits before pushing",
            len(result.rebased),
        )
    if result.pr_url is not None:
        _log.info("pull request #%d: %s", result.pr_num, result.pr_url)
    for update in result.updates:
        _log.info(
            "pushed %s: %s -> %s (%d LFS objects)",
            update.ref,
            (update.old or "new")[:12],
            update.new[:12],
            result.lfs_objects_uploaded,
        )
    if prune_lfs:
        result = _prune_after_push(local_dir, remote, result)
    return result


def _prune_after_push(local_dir: PathArg, remote: str, result: PushResult) -> PushResult:
    """``result`` with what a prune after it removed; a failed prune is a warning, never the
    push's failure."""
    try:
        pruned = Repository(local_dir).lfs_prune(remote=remote, progress=False)
    except Exception as error:
        _log.warning(
            "pushed, but pruning the local LFS store of %s failed (the push stands; the next "
            "prune catches up): %s",
            os.fspath(local_dir),
            error,
        )
        return result
    return dataclasses.replace(result, lfs_pruned=pruned)


#: The most LFS transfers at once (``lfs_concurrency``); the core refuses more.
MAX_LFS_CONCURRENCY = 256


def check_count(name: str, value: int | None, *, minimum: int, maximum: int | None = None) -> None:
    """Refuse a count the native layer cannot take (a negative one, a bool, one past `maximum`)
    with :class:`InvalidArgumentError` instead of Python's ``OverflowError``."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidArgumentError(
            f"{name} must be an integer of at least {minimum}, got {value!r}"
        )
    if maximum is not None and value > maximum:
        raise InvalidArgumentError(f"{name} must be from {minimum} to {maximum}, got {value!r}")
