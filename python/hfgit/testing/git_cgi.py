"""Running git for LocalHub: finding it, a clean environment, and `git http-backend` as CGI.

Serving the real `git http-backend` means the smart-HTTP protocol (v0 and v2, gzip request
bodies, side-band, report-status) is exactly git's, not a re-implementation. This module owns
the process side of that: it streams the request body into the CGI's stdin from one thread while
another reads its stdout, so neither pipe can fill up and deadlock, and nothing is buffered whole.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Protocol

from .errors import LocalHubError

__all__ = [
    "CgiError",
    "CgiResult",
    "GitTools",
    "ProcessRegistry",
    "ResponseSink",
    "clean_git_env",
    "find_git_tools",
    "run_cgi",
]

BLOCK_SIZE = 64 * 1024
MAX_CGI_HEADER_BYTES = 64 * 1024
STDERR_TAIL_BYTES = 16 * 1024

# Variables copied from the parent environment; everything else (GIT_DIR, GIT_SSL_*, proxies...)
# is left out so neither the test runner's nor the user's setup leaks into the server.
_INHERITED_VARIABLES = (
    "PATH",
    "SYSTEMROOT",
    "TMPDIR",
    "TEMP",
    "TMP",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TZ",
)


def clean_git_env(home: Path) -> dict[str, str]:
    """Environment for server-side git processes, isolated from user and system config."""
    env = {name: os.environ[name] for name in _INHERITED_VARIABLES if name in os.environ}
    env.update(
        HOME=str(home),
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_ATTR_NOSYSTEM="1",
        GIT_TERMINAL_PROMPT="0",
    )
    return env


@dataclass(frozen=True)
class GitTools:
    """Absolute paths of the git executables LocalHub runs."""

    git: str
    http_backend: str

    def run(
        self,
        args: Sequence[str],
        env: Mapping[str, str],
        *,
        cwd: Path | None = None,
        input: bytes | None = None,
    ) -> bytes:
        """Run `git <args>` and return stdout; raise LocalHubError with git's stderr on failure."""
        completed = subprocess.run(
            [self.git, *args],
            env=dict(env),
            cwd=cwd,
            input=input,
            stdin=None if input is not None else subprocess.DEVNULL,
            capture_output=True,
            check=False,
        )
        if completed.returncode != 0:
            message = completed.stderr.decode("utf-8", "replace").strip()
            raise LocalHubError(f"git {args[0]} failed ({completed.returncode}): {message}")
        return completed.stdout


def find_git_tools() -> GitTools:
    """Locate `git` on PATH and `git-http-backend` in git's exec path."""
    git = shutil.which("git")
    if git is None:
        raise LocalHubError(
            "LocalHub needs git installed on this machine: no 'git' executable was found on "
            "PATH. Install git (it ships git-http-backend) and try again."
        )
    completed = subprocess.run(
        [git, "--exec-path"],
        env=clean_git_env(Path.home()),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        check=False,
    )
    exec_path = completed.stdout.decode("utf-8", "replace").strip()
    suffix = ".exe" if os.name == "nt" else ""
    backend = Path(exec_path) / f"git-http-backend{suffix}"
    if completed.returncode != 0 or not exec_path or not backend.is_file():
        raise LocalHubError(
            f"LocalHub needs git-http-backend, but it was not found next to {git} "
            f"(git --exec-path gave {exec_path!r}). Install a full git distribution."
        )
    return GitTools(git=git, http_backend=str(backend))


class ProcessRegistry:
    """The CGI processes currently running, so stopping the hub can kill stragglers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._processes: set[subprocess.Popen[bytes]] = set()

    def add(self, process: subprocess.Popen[bytes]) -> None:
        with self._lock:
            self._processes.add(process)

    def discard(self, process: subprocess.Popen[bytes]) -> None:
        with self._lock:
            self._processes.discard(process)

    def kill_all(self) -> None:
        with self._lock:
            processes = list(self._processes)
        for process in processes:
            kill_process_tree(process)


def kill_process_tree(process: subprocess.Popen[bytes]) -> None:
    """Kill a CGI and everything it started.

    git http-backend runs upload-pack/receive-pack (and they run pack-objects) as children that
    inherit its pipes; killing only http-backend would leave them streaming into the pipes. On
    POSIX each CGI leads its own process group, so the whole group goes at once.
    """
    if os.name == "posix":
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
    elif process.poll() is None:
        with contextlib.suppress(OSError):
            process.kill()


class ResponseSink(Protocol):
    """Where run_cgi sends the HTTP response; the HTTP handler implements the framing."""

    def start(self, status: int, reason: str, headers: list[tuple[str, str]]) -> None: ...

    def write(self, data: bytes) -> None: ...

    def finish(self) -> None: ...


class CgiError(LocalHubError):
    """The CGI program exited or misbehaved before producing a valid header block."""


@dataclass
class CgiResult:
    """What happened while serving one CGI request."""

    status: int = 0
    returncode: int | None = None
    body_complete: bool = True
    """False if the request body was not read to its end (the connection must then close)."""
    body_error: BaseException | None = None
    stderr_tail: bytes = b""
    _stderr_chunks: list[bytes] = field(default_factory=list, repr=False)


def _feed_stdin(stdin: IO[bytes], body: Iterable[bytes], result: CgiResult) -> None:
    """Copy the request body into the CGI's stdin, then close it so the CGI sees EOF."""
    result.body_complete = False
    try:
        for chunk in body:
            try:
                stdin.write(chunk)
            except OSError:  # the CGI exited or closed stdin early; stop reading the client
                return
        result.body_complete = True
    except Exception as exc:  # malformed chunking, client timeout or disconnect
        result.body_error = exc
    finally:
        with contextlib.suppress(OSError):
            stdin.close()


def _collect_stderr(stderr: IO[bytes], result: CgiResult) -> None:
    """Keep the tail of the CGI's stderr for debugging without letting it grow unbounded."""
    kept = 0
    with contextlib.suppress(OSError, ValueError):  # ValueError: pipe closed under us
        for chunk in iter(lambda: stderr.read(BLOCK_SIZE), b""):
            result._stderr_chunks.append(chunk)
            kept += len(chunk)
            while kept > STDERR_TAIL_BYTES and len(result._stderr_chunks) > 1:
                kept -= len(result._stderr_chunks.pop(0))


def _read_cgi_headers(stdout: _BufferedPipe) -> tuple[int, str, list[tuple[str, str]]]:
    """Parse the CGI header block (RFC 3875 section 6) up to the blank line."""
    status, reason = 200, "OK"
    headers: list[tuple[str, str]] = []
    consumed = 0
    while True:
        line = stdout.readline(MAX_CGI_HEADER_BYTES)
        consumed += len(line)
        if not line or consumed > MAX_CGI_HEADER_BYTES or not line.endswith(b"\n"):
            raise CgiError("the CGI program ended before finishing its response headers")
        text = line.decode("latin-1").rstrip("\r\n")
        if not text:
            break
        name, colon, value = text.partition(":")
        if not colon:
            raise CgiError(f"malformed CGI header line {text!r}")
        name, value = name.strip(), value.strip()
        if name.lower() == "status":
            code, _, reason_text = value.partition(" ")
            if not code.isdigit():
                raise CgiError(f"malformed CGI Status header {value!r}")
            status, reason = int(code), reason_text or reason
        else:
            headers.append((name, value))
    if status == 200 and any(name.lower() == "location" for name, _ in headers):
        status, reason = 302, "Found"
    return status, reason, headers


def run_cgi(
    program: str,
    env: Mapping[str, str],
    body: Iterable[bytes] | None,
    sink: ResponseSink,
    *,
    cwd: Path | None = None,
    registry: ProcessRegistry | None = None,
) -> CgiResult:
    """Run `program` as a CGI script for one request and stream its response into `sink`.

    `body` yields the decoded request body (None for no body). The response is not started
    until the whole request body has been handed to the CGI: HTTP clients send the body before
    reading, and this keeps the client socket strictly half-duplex (concurrent read and write
    on one TLS connection is not safe). Output the CGI produces before that point is held in
    memory; for git that is only its header block.

    Raises CgiError if the program produced no valid header block; nothing has been sent to
    the client then, so the caller can still answer with an error.
    """
    result = CgiResult()
    process = subprocess.Popen(
        [program],
        env=dict(env),
        cwd=cwd,
        stdin=subprocess.PIPE if body is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        bufsize=0,
        start_new_session=os.name == "posix",  # a process group to kill as a whole
    )
    if registry is not None:
        registry.add(process)
    assert process.stdout is not None and process.stderr is not None
    stdout = process.stdout
    threads = [
        threading.Thread(
            target=_collect_stderr, args=(process.stderr, result), name="localhub-cgi-stderr"
        )
    ]
    if body is not None:
        assert process.stdin is not None
        threads.append(
            threading.Thread(
                target=_feed_stdin, args=(process.stdin, body, result), name="localhub-cgi-stdin"
            )
        )
    for thread in threads:
        thread.daemon = True
        thread.start()
    feeder = threads[1] if body is not None else None
    finished = False
    try:
        reader = _BufferedPipe(stdout)
        status, reason, headers = _read_cgi_headers(reader)
        result.status = status
        pending: list[bytes] = []
        started = False
        while True:
            chunk = reader.read1(BLOCK_SIZE)
            if not started and (feeder is None or not feeder.is_alive()):
                sink.start(status, reason, headers)
                started = True
                for held in pending:
                    sink.write(held)
                pending.clear()
            if not chunk:
                break
            if started:
                sink.write(chunk)
            else:
                pending.append(chunk)
        if feeder is not None:
            feeder.join()
        if not started:
            sink.start(status, reason, headers)
            for held in pending:
                sink.write(held)
        sink.finish()
        result.returncode = process.wait()
        finished = True
        return result
    finally:
        if not finished:  # client gone, hub stopping, or a bad CGI: take down its children too
            kill_process_tree(process)
        process.wait()
        # The feeder owns stdin and closes it itself; the stderr reader ends at EOF.
        for thread in threads:
            thread.join(timeout=5)
        for pipe in (process.stdout, process.stderr):
            with contextlib.suppress(OSError):
                pipe.close()
        result.stderr_tail = b"".join(result._stderr_chunks)[-STDERR_TAIL_BYTES:]
        if registry is not None:
            registry.discard(process)


class _BufferedPipe:
    """Minimal line/chunk reader over an unbuffered pipe.

    `bufsize=0` keeps stdin writes unbuffered (each body chunk reaches the CGI at once); stdout
    then needs its own small buffer for the header lines, and `read1` must return as soon as
    any bytes are available so progress output streams to the client.
    """

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self._buffer = b""

    def readline(self, limit: int) -> bytes:
        while b"\n" not in self._buffer and len(self._buffer) < limit:
            data = self._raw.read(BLOCK_SIZE)
            if not data:
                break
            self._buffer += data
        end = self._buffer.find(b"\n")
        cut = min(limit, len(self._buffer)) if end < 0 else min(limit, end + 1)
        line, self._buffer = self._buffer[:cut], self._buffer[cut:]
        return line

    def read1(self, size: int) -> bytes:
        if self._buffer:
            data, self._buffer = self._buffer[:size], self._buffer[size:]
            return data
        return self._raw.read(size)
