"""A network namespace whose loopback is slow, lossy and far away, for tests and benchmarks.

Everything a test starts inside it (a LocalHub, hfgit, git) talks over the namespace's own
`lo`, so no packet reaches another address, and the faults are real packets lost and delayed by
the kernel, not a simulation in the client. The kernel here has no `sch_netem`, so each fault
uses what it has:

* rate: `tc qdisc add dev lo root tbf rate ...` (one bucket: both directions share it);
* loss: `iptables -A INPUT -m statistic --mode random --probability p -j DROP`, every packet
  (data, ACKs, SYNs) in either direction;
* delay: every packet leaving through `OUTPUT` goes to an NFQUEUE, where a helper process
  (`python -m hfgit.testing.netns delay`, on libnetfilter-queue through ctypes) holds it for the
  one-way delay and then accepts it; with `--queue-bypass`, packets flow undelayed if the helper
  is gone. A loopback packet crosses OUTPUT once, so the round trip is twice the delay.

The figures obtained are measured, not assumed: `measure()` times TCP round trips through the
shaped loopback and reads the drop rule's counters. Creating a namespace needs root, `ip`,
`tc`, `iptables` and `libnetfilter_queue.so.1`; `unavailable()` says which is missing, for a
pytest skip reason.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import select
import shutil
import socket
import statistics
import struct
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType

__all__ = [
    "LinkFigures",
    "LinkShape",
    "ShapedNamespace",
    "counters_inside",
    "round_trips_inside",
    "unavailable",
]

_NFQUEUE_LIB = "libnetfilter_queue.so.1"
_NF_ACCEPT = 1
_NFQNL_COPY_META = 1
_QUEUE_MAXLEN = 1 << 16


@dataclass(frozen=True)
class LinkShape:
    """What to do to the loopback: `rate_mbit` (None: unlimited), `loss` (0 to 1, per packet),
    `rtt_ms` (round trip added), `mtu` (None: the loopback's own, 64 KiB)."""

    rate_mbit: float | None = None
    loss: float = 0.0
    rtt_ms: float = 0.0
    mtu: int | None = None

    def describe(self) -> str:
        rate = f"{self.rate_mbit:g} Mbit/s" if self.rate_mbit else "no rate limit"
        mtu = f"MTU {self.mtu}" if self.mtu else "loopback MTU 65536"
        return f"{rate}, {self.loss:.1%} loss per packet, {self.rtt_ms:g} ms added RTT, {mtu}"


@dataclass(frozen=True)
class LinkFigures:
    """What the shaped link measured: median and worst TCP round trip over `samples` pings, and
    the share of packets the drop rule dropped (`dropped` of `packets`)."""

    rtt_ms: float
    rtt_max_ms: float
    samples: int
    packets: int
    dropped: int

    @property
    def loss(self) -> float:
        return self.dropped / self.packets if self.packets else 0.0

    def describe(self) -> str:
        return (
            f"measured RTT {self.rtt_ms:.0f} ms (median of {self.samples}, max "
            f"{self.rtt_max_ms:.0f}), loss {self.loss:.2%} ({self.dropped} of {self.packets} "
            "packets)"
        )


def unavailable() -> str | None:
    """Why a shaped namespace cannot be made here, or None if it can."""
    if sys.platform != "linux":
        return "network namespaces are Linux only"
    if os.geteuid() != 0:
        return "making a network namespace (ip netns add) needs root"
    for tool in ("ip", "tc", "iptables"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (apt-get install iproute2 iptables)"
    try:
        ctypes.CDLL(_NFQUEUE_LIB)
    except OSError:
        return f"{_NFQUEUE_LIB} is missing (apt-get install libnetfilter-queue1)"
    probe = f"hfgit-probe-{os.getpid()}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if made.returncode != 0:
        return f"ip netns add failed: {made.stderr.strip()}"
    try:
        # What the kernel must offer (modules sch_tbf, xt_statistic, xt_NFQUEUE): tried here,
        # so a kernel without one is a skip with its reason, not a failing test.
        for what, command in (
            ("tc qdisc tbf", "tc qdisc add dev lo root tbf rate 1gbit burst 140000 latency 50ms"),
            (
                "iptables -m statistic",
                "iptables -A INPUT -m statistic --mode random --probability 0.5 -j DROP",
            ),
            (
                "iptables -j NFQUEUE",
                "iptables -A OUTPUT -j NFQUEUE --queue-num 0 --queue-bypass",
            ),
        ):
            tried = subprocess.run(
                ["ip", "netns", "exec", probe, *command.split()], capture_output=True, text=True
            )
            if tried.returncode != 0:
                return f"{what} is refused in a network namespace: {tried.stderr.strip()}"
    finally:
        subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


class ShapedNamespace:
    """A network namespace with a shaped loopback; a context manager that removes it on exit.

    `argv(command)` wraps a command to run inside (`ip netns exec`); processes started that way
    see only the namespace's loopback. The namespace and the delay helper are removed on exit,
    and every process still inside is killed.
    """

    _count = 0

    def __init__(self, shape: LinkShape, name: str | None = None) -> None:
        ShapedNamespace._count += 1
        self.shape = shape
        self.name = name or f"hfgit-{os.getpid()}-{ShapedNamespace._count}"
        self._delayer: subprocess.Popen[str] | None = None
        self._made = False

    def __enter__(self) -> ShapedNamespace:
        try:
            self._make()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def argv(self, command: Sequence[str]) -> list[str]:
        return ["ip", "netns", "exec", self.name, *command]

    def run(self, *command: str) -> str:
        """Run a command inside; its stdout. Raises RuntimeError with its output on failure."""
        result = subprocess.run(self.argv(command), capture_output=True, text=True, timeout=60)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed in {self.name}: {result.stderr}")
        return result.stdout

    def _make(self) -> None:
        subprocess.run(["ip", "netns", "add", self.name], check=True, capture_output=True)
        self._made = True
        self.run("ip", "link", "set", "lo", "up")
        shape = self.shape
        if shape.mtu:
            self.run("ip", "link", "set", "lo", "mtu", str(shape.mtu))
        if shape.rate_mbit:
            mtu = shape.mtu or 65536
            burst = max(2 * mtu + 1024, int(shape.rate_mbit * 1e6 / 8 / 100))  # >= 10 ms
            self.run(
                *("tc", "qdisc", "add", "dev", "lo", "root", "tbf"),
                *("rate", f"{shape.rate_mbit}mbit", "burst", str(burst), "latency", "500ms"),
            )
        # Counted first, so the drop rule's share of all packets is the loss obtained.
        self.run("iptables", "-A", "INPUT")
        if shape.loss > 0:
            self.run(
                *("iptables", "-A", "INPUT", "-m", "statistic", "--mode", "random"),
                *("--probability", f"{shape.loss}", "-j", "DROP"),
            )
        if shape.rtt_ms > 0:
            self._start_delayer(shape.rtt_ms / 2)
            self.run(
                *("iptables", "-A", "OUTPUT", "-j", "NFQUEUE"),
                *("--queue-num", "0", "--queue-bypass"),
            )

    def _start_delayer(self, one_way_ms: float) -> None:
        command = [sys.executable, "-m", "hfgit.testing.netns", "delay", f"{one_way_ms}"]
        delayer = subprocess.Popen(
            self.argv(command), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self._delayer = delayer
        assert delayer.stdout is not None
        ready = delayer.stdout.readline().strip()
        if ready != "ready":
            delayer.kill()
            _, errors = delayer.communicate(timeout=10)
            raise RuntimeError(f"the delay helper did not start: {ready} {errors}")

    def counters(self) -> tuple[int, int]:
        """(all packets received, packets dropped) since the namespace was made."""
        return _parse_counters(self.run("iptables", "-L", "INPUT", "-v", "-x", "-n"))

    def measure(self, pings: int = 20) -> LinkFigures:
        """Time `pings` small TCP round trips through the loopback, and read the loss counters."""
        script = (
            "from hfgit.testing.netns import round_trips_inside as r; "
            f"print(' '.join('%.6f' % t for t in r({pings})))"
        )
        out = self.run(sys.executable, "-c", script)
        times = [float(value) * 1000 for value in out.split()]
        packets, dropped = self.counters()
        return LinkFigures(
            rtt_ms=statistics.median(times),
            rtt_max_ms=max(times),
            samples=len(times),
            packets=packets,
            dropped=dropped,
        )

    def close(self) -> None:
        if self._delayer is not None:
            self._delayer.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._delayer.communicate(timeout=10)
            self._delayer = None
        if not self._made:
            return
        pids = subprocess.run(["ip", "netns", "pids", self.name], capture_output=True, text=True)
        for pid in pids.stdout.split():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid), 9)
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True)
        self._made = False


def counters_inside() -> tuple[int, int]:
    """`ShapedNamespace.counters`, from a process running inside the namespace."""
    listing = subprocess.run(
        ["iptables", "-L", "INPUT", "-v", "-x", "-n"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return _parse_counters(listing.stdout)


def _parse_counters(listing: str) -> tuple[int, int]:
    # After two header lines: "pkts bytes target ...". The counting rule has no target.
    rows = [line.split() for line in listing.splitlines()[2:] if line.strip()]
    counting = [row for row in rows if "DROP" not in row and "REJECT" not in row]
    packets = int(counting[0][0]) if counting else 0
    dropped = sum(int(row[0]) for row in rows if "DROP" in row)
    return packets, dropped


def round_trips_inside(count: int) -> list[float]:
    """Seconds per one-byte TCP round trip on 127.0.0.1, from a process inside the namespace."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()

    def echo() -> None:
        peer, _ = server.accept()
        peer.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with peer:
            while data := peer.recv(64):
                peer.sendall(data)

    threading.Thread(target=echo, daemon=True).start()
    times = []
    with socket.create_connection(server.getsockname(), timeout=30) as client:
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for _ in range(count):
            started = time.monotonic()
            client.sendall(b"x")
            client.recv(1)
            times.append(time.monotonic() - started)
    server.close()
    return times


# ---------------------------------------------------------------------- the delay helper


def _delay(one_way_ms: float, queue: int = 0) -> None:
    """Accept every packet of NFQUEUE `queue` `one_way_ms` after it arrived, in order."""
    lib = ctypes.CDLL(_NFQUEUE_LIB, use_errno=True)
    pointer = ctypes.c_void_p
    lib.nfq_open.restype = pointer
    lib.nfq_unbind_pf.argtypes = [pointer, ctypes.c_uint16]
    lib.nfq_bind_pf.argtypes = [pointer, ctypes.c_uint16]
    lib.nfq_create_queue.restype = pointer
    lib.nfq_create_queue.argtypes = [pointer, ctypes.c_uint16, pointer, pointer]
    lib.nfq_set_mode.argtypes = [pointer, ctypes.c_uint8, ctypes.c_uint32]
    lib.nfq_set_queue_maxlen.argtypes = [pointer, ctypes.c_uint32]
    lib.nfq_fd.argtypes = [pointer]
    lib.nfq_handle_packet.argtypes = [pointer, ctypes.c_char_p, ctypes.c_int]
    lib.nfq_get_msg_packet_hdr.restype = pointer
    lib.nfq_get_msg_packet_hdr.argtypes = [pointer]
    lib.nfq_set_verdict.argtypes = [pointer, ctypes.c_uint32, ctypes.c_uint32, ctypes.c_uint32]
    lib.nfq_set_verdict.argtypes += [pointer]

    delay = one_way_ms / 1000
    held: deque[tuple[float, int]] = deque()
    callback_type = ctypes.CFUNCTYPE(ctypes.c_int, pointer, pointer, pointer, pointer)

    def arrived(queue_handle: int, message: int, data: int, user: int) -> int:
        header = lib.nfq_get_msg_packet_hdr(data)
        (packet_id,) = struct.unpack("!I", ctypes.string_at(header, 4))
        held.append((time.monotonic() + delay, packet_id))
        return 0

    callback = callback_type(arrived)
    handle = lib.nfq_open()
    if not handle:
        raise OSError(ctypes.get_errno(), "nfq_open failed")
    lib.nfq_unbind_pf(handle, socket.AF_INET)
    lib.nfq_bind_pf(handle, socket.AF_INET)
    queue_handle = lib.nfq_create_queue(handle, queue, callback, None)
    if not queue_handle:
        raise OSError(ctypes.get_errno(), f"nfq_create_queue({queue}) failed")
    lib.nfq_set_mode(queue_handle, _NFQNL_COPY_META, 0)
    lib.nfq_set_queue_maxlen(queue_handle, _QUEUE_MAXLEN)
    netlink = socket.socket(fileno=lib.nfq_fd(handle))
    netlink.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 << 20)
    buffer = ctypes.create_string_buffer(1 << 16)
    print("ready", flush=True)
    while True:
        wait = max(0.0, held[0][0] - time.monotonic()) if held else 1.0
        readable, _, _ = select.select([netlink], [], [], wait)
        while readable:
            try:
                size = netlink.recv_into(buffer, len(buffer), socket.MSG_DONTWAIT)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:  # ENOBUFS: the kernel dropped queue messages; go on
                break
            lib.nfq_handle_packet(handle, buffer, size)
        now = time.monotonic()
        while held and held[0][0] <= now:
            _, packet_id = held.popleft()
            lib.nfq_set_verdict(queue_handle, packet_id, _NF_ACCEPT, 0, None)


def _main(argv: Sequence[str]) -> int:
    if len(argv) >= 2 and argv[0] == "delay":
        _delay(float(argv[1]))
        return 0
    print("usage: python -m hfgit.testing.netns delay ONE_WAY_MS", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
