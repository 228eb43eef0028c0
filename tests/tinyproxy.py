"""A real forward proxy for the tests: Debian's tinyproxy, started on 127.0.0.1 in a directory.

scripts/check.sh installs it (apt-get install tinyproxy). Each instance gets a free port, a config
file written from the arguments, and a log at level Connect, which records one line per request:
``Request (file descriptor 7): GET http://127.0.0.1:4242/alice/model/info/refs?... HTTP/1.1`` for a
plain-http request sent to the proxy, ``Request (...): CONNECT 127.0.0.1:4243 HTTP/1.1`` for a
tunnel. The log is how a test proves traffic went through the proxy.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType
from urllib.parse import quote

# Debian's /etc/tinyproxy/tinyproxy.conf allows CONNECT to these ports only (as squid's SSL_ports).
DEBIAN_CONNECT_PORTS = (443, 563)
_REQUEST_LINE = re.compile(r"Request \(file descriptor \d+\): (.+)$")


def tinyproxy_binary() -> str | None:
    return shutil.which("tinyproxy") or next(
        (path for path in ("/usr/bin/tinyproxy", "/usr/sbin/tinyproxy") if Path(path).exists()),
        None,
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Tinyproxy:
    """One tinyproxy process. `connect_ports` are the ports CONNECT may reach (Debian's default:
    443 and 563, so a tunnel to any LocalHub port is refused with 403); `credentials` turns on
    Basic authentication (a 407 for requests without them)."""

    def __init__(
        self,
        directory: Path,
        *,
        connect_ports: tuple[int, ...] = DEBIAN_CONNECT_PORTS,
        credentials: tuple[str, str] | None = None,
    ) -> None:
        binary = tinyproxy_binary()
        if binary is None:
            raise RuntimeError("tinyproxy is not installed (apt-get install tinyproxy)")
        self._binary = binary
        self.directory = directory
        self.port = _free_port()
        self.credentials = credentials
        self.log_file = directory / "tinyproxy.log"
        lines = [
            f"Port {self.port}",
            "Listen 127.0.0.1",
            "Timeout 120",
            f'LogFile "{self.log_file}"',
            "LogLevel Connect",
            "MaxClients 64",
            "Allow 127.0.0.1",
            *(f"ConnectPort {port}" for port in connect_ports),
        ]
        if credentials is not None:
            lines.append(f"BasicAuth {credentials[0]} {credentials[1]}")
        self.config_file = directory / "tinyproxy.conf"
        self.config_file.write_text("\n".join(lines) + "\n")
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> Tinyproxy:
        with (self.directory / "stdout.txt").open("wb") as output:
            self._process = subprocess.Popen(
                [self._binary, "-d", "-c", str(self.config_file)],
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                output = (self.directory / "stdout.txt").read_text(errors="replace")
                raise RuntimeError(f"tinyproxy exited at start: {output}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("tinyproxy did not start listening within 10 s")

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)

    def __enter__(self) -> Tinyproxy:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """`http://127.0.0.1:<port>`, without credentials."""
        return f"http://127.0.0.1:{self.port}"

    def url_with(self, user: str, password: str) -> str:
        """The proxy URL with credentials, percent-encoded as a URL wants them."""
        return f"http://{quote(user, safe='')}:{quote(password, safe='')}@127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""

    def requests(self) -> list[str]:
        """The request lines the proxy received, oldest first ("GET http://... HTTP/1.1")."""
        found = (_REQUEST_LINE.search(line) for line in self.log().splitlines())
        return [match.group(1) for match in found if match]

    def forwarded(self) -> list[str]:
        """The absolute URLs of the plain-http requests it forwarded, `METHOD url`."""
        return [
            " ".join(line.split()[:2])
            for line in self.requests()
            if not line.startswith("CONNECT ")
        ]

    def tunnels(self) -> list[str]:
        """The `host:port` of every CONNECT it was asked for."""
        return [line.split()[1] for line in self.requests() if line.startswith("CONNECT ")]
