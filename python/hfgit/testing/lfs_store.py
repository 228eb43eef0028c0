"""LocalHub's Git LFS object storage: one content-addressed store plus a per-repo index.

Objects live once per hub at `<root>/lfs-objects/<oid[0:2]>/<oid[2:4]>/<oid>`, the same layout
as git-lfs's local store. Which repo may use an object is recorded separately: each bare repo
holds `localhub-lfs/<oid>`, an empty marker per object uploaded (or verified) for that repo. The
Hub keeps objects per repo, so a download batch, an "already uploaded" answer and the push
check for LFS pointers all look at the repo's index, not at the global store. The pre-receive
hook reads the same markers, which is why the index is on disk rather than in memory.

Uploads are streamed into `<root>/lfs-tmp/` while being hashed and renamed into place only when
size and SHA-256 match, so a reader never sees a partial or wrong object. Multipart uploads keep
their parts in `<root>/lfs-tmp/multipart/<upload id>/` until completion assembles them.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import queue
import re
import shutil
import tempfile
import threading
from collections.abc import Iterable, Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import IO, Callable

from .repos import RepoStore

__all__ = ["INDEX_DIR", "LfsStore", "StorageError", "is_oid", "part_count"]

INDEX_DIR = "localhub-lfs"
"""Directory inside each bare repo holding one empty file per LFS object of the repo."""

COPY_BLOCK = 1024 * 1024
_OID = re.compile(r"[0-9a-f]{64}")
_UPLOAD_ID = re.compile(r"[0-9a-f]{16,64}")


class _DigestThread:
    """A hash fed from a queue on its own thread.

    hashlib lets go of the GIL for large blocks, so an upload's hashing runs on one core while
    the request thread receives and writes on another: the hub then keeps up with a client
    sending at memory speed instead of hashing, reading and writing one after the other.
    """

    _QUEUED_BLOCKS = 8

    def __init__(self, digest: hashlib._Hash) -> None:
        self._digest = digest
        self._blocks: queue.Queue[bytes | None] = queue.Queue(self._QUEUED_BLOCKS)
        self._thread = threading.Thread(target=self._run, name="localhub-hash", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (block := self._blocks.get()) is not None:
            self._digest.update(block)

    def update(self, block: bytes) -> None:
        self._blocks.put(block)

    def hexdigest(self) -> str:
        self.close()
        return self._digest.hexdigest()

    def close(self) -> None:
        if self._thread.is_alive():
            self._blocks.put(None)
            self._thread.join()

    def __enter__(self) -> _DigestThread:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def is_oid(value: object) -> bool:
    """True for a SHA-256 object id as LFS writes it: 64 lowercase hex digits."""
    return isinstance(value, str) and _OID.fullmatch(value) is not None


def part_count(size: int, chunk_size: int) -> int:
    """Number of multipart parts for an object: ceil(size / chunk_size)."""
    return -(-size // chunk_size)


class StorageError(Exception):
    """An upload that cannot be stored; `status` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class LfsStore:
    """The hub's LFS objects on disk and which repos they belong to; safe across threads
    (every write is a rename or the creation of an empty marker)."""

    def __init__(self, root: Path, repos: RepoStore) -> None:
        self.objects_root = root / "lfs-objects"
        self.tmp_root = root / "lfs-tmp"
        self.multipart_root = self.tmp_root / "multipart"
        self.xet_root = root / "xet-files"
        """One file per object that arrived through Xet, named by its SHA-256, holding
        `<xet hash> <size>` (from the shard that declared it)."""
        self.reconstruct: Callable[[str, int, Path], None] | None = None
        """Set by the Xet side: writes a Xet file's bytes (hash, size) to a path."""
        self._bridge_lock = threading.Lock()
        """One reconstruction at a time: the parallel Range GETs of one download all wait for
        the same file, so they see one ETag (a second copy renamed over the first would change
        it between ranges)."""
        self._repos = repos
        for directory in (self.objects_root, self.tmp_root, self.multipart_root, self.xet_root):
            directory.mkdir(parents=True, exist_ok=True)

    # ------------------------------------------------------------------ objects and index

    def object_path(self, oid: str) -> Path:
        return self.objects_root / oid[0:2] / oid[2:4] / oid

    def has_object(self, oid: str) -> bool:
        """Stored as an LFS object, or uploaded through Xet."""
        return is_oid(oid) and (self.object_path(oid).is_file() or (self.xet_root / oid).is_file())

    def record_xet(self, repo_id: str, repo_type: str, oid: str, xet_hash: str, size: int) -> None:
        """A shard declared the file `xet_hash` with LFS SHA-256 `oid`, uploaded for a repo."""
        if not is_oid(oid):
            return
        with self._temp_file(f"{oid[:16]}-", ".xet") as (out, temp):
            out.write(f"{xet_hash} {size}\n".encode())
            out.close()
            os.replace(temp, self.xet_root / oid)
        self.add_to_repo(repo_id, repo_type, oid)

    def xet_file(self, oid: str) -> tuple[str, int] | None:
        """(Xet hash, size) of an object that arrived through Xet."""
        try:
            xet_hash, size = (self.xet_root / oid).read_text().split()
        except (OSError, ValueError):
            return None
        return xet_hash, int(size)

    def materialize(self, oid: str) -> None:
        """Make sure an object that arrived through Xet is in the LFS store (the bridge)."""
        if not is_oid(oid) or self.object_path(oid).is_file():
            return
        found = self.xet_file(oid)
        if found is None or self.reconstruct is None:
            return
        xet_hash, size = found
        with self._bridge_lock:
            if self.object_path(oid).is_file():
                return  # another request reconstructed it meanwhile
            with self._temp_file(f"{oid[:16]}-", ".bridge") as (out, temp):
                out.close()
                self.reconstruct(xet_hash, size, temp)
                self._install(temp, oid)

    def object_size(self, oid: str) -> int | None:
        try:
            return self.object_path(oid).stat().st_size
        except OSError:
            return None

    def index_dir(self, repo_id: str, repo_type: str) -> Path:
        return self._repos.path(repo_id, repo_type) / INDEX_DIR

    def in_repo(self, repo_id: str, repo_type: str, oid: str) -> bool:
        """True if the object is stored and was uploaded or verified for this repo."""
        return (self.index_dir(repo_id, repo_type) / oid).is_file() and self.has_object(oid)

    def add_to_repo(self, repo_id: str, repo_type: str, oid: str) -> None:
        """Record that the repo owns a stored object; a no-op if the repo is gone."""
        if not self._repos.exists(repo_id, repo_type):
            return
        index = self.index_dir(repo_id, repo_type)
        with contextlib.suppress(FileNotFoundError):  # the repo was deleted meanwhile
            index.mkdir(exist_ok=True)
            (index / oid).touch()

    def repo_objects(self, repo_id: str, repo_type: str) -> set[str]:
        index = self.index_dir(repo_id, repo_type)
        try:
            names = [entry.name for entry in index.iterdir()]
        except OSError:
            return set()
        return {name for name in names if self.has_object(name)}

    # ------------------------------------------------------------------ uploads

    def receive_object(self, body: Iterable[bytes], oid: str, size: int) -> None:
        """Stream a basic upload into the store, checking its size and SHA-256.

        Raises StorageError(400) on a mismatch; nothing is stored then.
        """
        with (
            self._temp_file(f"{oid[:16]}-", ".upload") as (out, temp),
            _DigestThread(hashlib.sha256()) as digest,
        ):
            received = 0
            for block in body:
                received += len(block)
                if received > size:
                    raise StorageError(400, f"body is longer than the object size {size}")
                digest.update(block)
                out.write(block)
            out.close()
            if received != size:
                raise StorageError(400, f"body has {received} bytes but the object size is {size}")
            received_oid = digest.hexdigest()
            if received_oid != oid:
                raise StorageError(
                    400, f"SHA-256 of the body is {received_oid}, not the object id {oid}"
                )
            self._install(temp, oid)

    def receive_part(
        self, upload_id: str, number: int, body: Iterable[bytes], expected_size: int
    ) -> str:
        """Store part `number` of a multipart upload; returns its ETag (quoted MD5 hex).

        Uploading a part again replaces it, as on S3.
        """
        directory = self._upload_dir(upload_id)
        directory.mkdir(exist_ok=True)
        hasher = _DigestThread(hashlib.md5(usedforsecurity=False))
        with (
            self._temp_file(f"part-{number}-", ".upload", directory) as (out, temp),
            hasher as digest,
        ):
            received = 0
            for block in body:
                received += len(block)
                if received > expected_size:
                    raise StorageError(
                        400, f"part {number} is longer than its expected {expected_size} bytes"
                    )
                digest.update(block)
                out.write(block)
            out.close()
            if received != expected_size:
                raise StorageError(
                    400,
                    f"part {number} has {received} bytes; it must have {expected_size} "
                    "(part i covers bytes [(i-1)*chunk_size, i*chunk_size) of the object)",
                )
            os.replace(temp, directory / f"{number:05d}")
            etag = digest.hexdigest()
        return f'"{etag}"'

    def complete_multipart(
        self,
        upload_id: str,
        oid: str,
        size: int,
        chunk_size: int,
        parts: Sequence[tuple[int, str]],
    ) -> None:
        """Assemble the parts listed by the client into the object, checking every ETag, the
        size and the SHA-256. Completing an upload whose object is already stored succeeds."""
        directory = self._upload_dir(upload_id)
        if not directory.is_dir() and self.object_size(oid) == size:
            return  # completed before (a retried completion)
        expected = part_count(size, chunk_size)
        numbers = [number for number, _ in parts]
        if sorted(numbers) != list(range(1, expected + 1)):
            raise StorageError(
                400,
                f"parts must list part numbers 1 to {expected} exactly once each "
                f"(got {len(numbers)} entries)",
            )
        for number in numbers:
            if not (directory / f"{number:05d}").is_file():
                raise StorageError(400, f"part {number} has not been uploaded")
        with self._temp_file(f"{oid[:16]}-", ".assemble") as (out, temp):
            digest = hashlib.sha256()
            for number, etag in sorted(parts):
                part_digest = hashlib.md5(usedforsecurity=False)
                with open(directory / f"{number:05d}", "rb") as part:
                    for block in iter(partial(part.read, COPY_BLOCK), b""):
                        part_digest.update(block)
                        digest.update(block)
                        out.write(block)
                if etag.strip().strip('"') != part_digest.hexdigest():
                    raise StorageError(
                        400, f"ETag {etag!r} of part {number} does not match the uploaded part"
                    )
            out.close()
            assembled = temp.stat().st_size
            if assembled != size:
                raise StorageError(400, f"parts add up to {assembled} bytes, not {size}")
            if digest.hexdigest() != oid:
                raise StorageError(
                    400, f"SHA-256 of the parts is {digest.hexdigest()}, not the object id {oid}"
                )
            self._install(temp, oid)
        shutil.rmtree(directory, ignore_errors=True)

    # ------------------------------------------------------------------ internals

    def _upload_dir(self, upload_id: str) -> Path:
        if not _UPLOAD_ID.fullmatch(upload_id):
            raise StorageError(400, "invalid multipart upload id")
        return self.multipart_root / upload_id

    def _install(self, temp: Path, oid: str) -> None:
        target = self.object_path(oid)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(temp, target)

    @contextlib.contextmanager
    def _temp_file(
        self, prefix: str, suffix: str, directory: Path | None = None
    ) -> Iterator[tuple[IO[bytes], Path]]:
        """A new temp file next to the store (so renames are atomic), removed on exit unless
        it was renamed away."""
        fd, name = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=directory or self.tmp_root)
        temp = Path(name)
        out = os.fdopen(fd, "wb")
        try:
            yield out, temp
        finally:
            out.close()
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()
