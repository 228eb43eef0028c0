"""Progress reporting: a small event type, user callbacks, and ``tqdm.auto`` bars.

The native layer polls the running operation about ten times a second and calls back with the
latest figures only when they changed (plus the final figures of every phase that ended in
between), so callbacks are throttled by construction and cheap.

``progress=None`` (the default) shows bars, widgets in Jupyter and text in a terminal, unless
``HF_HUB_DISABLE_PROGRESS_BARS`` is set or tqdm is not installed; ``False`` shows nothing; ``True``
insists on bars; a callable receives every :class:`Progress` event instead.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Callable, Union


@dataclass(frozen=True)
class Progress:
    """One progress event.

    ``phase`` is one of ``"receiving"``, ``"resolving"``, ``"checkout"``, ``"lfs-clean"``,
    ``"lfs-upload"``, ``"lfs-download"``, ``"lfs-verify"``, ``"packing"``, ``"sending"``,
    ``"rate-limited"`` or
    ``"done"``; ``done`` of ``total`` counts objects or files in that phase; ``bytes`` is how many
    bytes the phase has moved so far. ``"rate-limited"`` is a wait the Hub asked for (HTTP 429):
    ``done`` of ``total`` counts its seconds, and the phase that was interrupted comes back when
    it ends. ``deduplicated`` (bytes, ``"lfs-upload"`` through Xet only, else 0) is how much of
    ``bytes`` the Hub's storage already had, so it was not sent; it is known once a Xet upload
    session has finished its files.
    """

    phase: str
    done: int
    total: int
    bytes: int
    deduplicated: int = 0


ProgressCallback = Callable[[Progress], Any]
ProgressArg = Union[None, bool, ProgressCallback]
NativeCallback = Callable[[str, int, int, int, int], None]

# What each phase's bar says, and whether it counts bytes (else items).
_PHASES: dict[str, tuple[str, bool]] = {
    "receiving": ("Receiving objects", False),
    "resolving": ("Resolving deltas", False),
    "checkout": ("Checking out files", False),
    "lfs-clean": ("Hashing LFS files", True),
    "lfs-upload": ("Uploading LFS files", True),
    "lfs-download": ("Downloading LFS files", True),
    "lfs-verify": ("Checking LFS objects on the server", False),
    "packing": ("Packing objects", False),
    "sending": ("Sending objects", False),
    "rate-limited": ("Rate limited by the Hub, waiting", False),
}
# Item phases that count seconds rather than objects.
_SECONDS_PHASES = frozenset({"rate-limited"})


def bars_disabled() -> bool:
    """huggingface_hub's switch: any value other than empty, 0 or false turns bars off."""
    value = os.environ.get("HF_HUB_DISABLE_PROGRESS_BARS", "")
    return value.strip().lower() not in ("", "0", "false", "no", "off")


@contextlib.contextmanager
def progress_reporter(progress: ProgressArg, description: str) -> Iterator[NativeCallback | None]:
    """Turn a ``progress=`` argument into the native callback; bars are closed on any exit."""
    if progress is False or (progress is None and bars_disabled()):
        yield None
        return
    if progress is None or progress is True:
        bars = _TqdmBars.create(description, required=progress is True)
        if bars is None:
            yield None
            return
        try:
            yield bars.update
        finally:
            bars.close()
        return
    if not callable(progress):
        raise TypeError("progress must be None, True, False or a callable taking a Progress")
    user_callback = progress

    def forward(phase: str, done: int, total: int, transferred: int, deduplicated: int = 0) -> None:
        user_callback(Progress(phase, done, total, transferred, deduplicated))

    yield forward


class _TqdmBars:
    """One bar per phase; byte phases show size and rate, item phases a count."""

    def __init__(self, tqdm: Any, description: str) -> None:
        self._tqdm = tqdm
        self._description = description
        self._bar: Any | None = None
        self._phase: str | None = None

    @classmethod
    def create(cls, description: str, *, required: bool) -> _TqdmBars | None:
        try:
            from tqdm.auto import tqdm  # type: ignore[import-untyped]
        except ImportError:
            if required:
                raise ImportError(
                    "progress=True needs tqdm: pip install 'hfgit-native[progress]'"
                ) from None
            return None
        return cls(tqdm, description)

    def update(
        self, phase: str, done: int, total: int, transferred: int, deduplicated: int = 0
    ) -> None:
        label, counts_bytes = _PHASES.get(phase, ("", False))
        if not label:
            self.close()
            return
        if phase != self._phase:
            self.close()
            self._phase = phase
            self._bar = self._tqdm(
                desc=f"{self._description}: {label}",
                total=None if counts_bytes else (total or None),
                unit="B" if counts_bytes else (" s" if phase in _SECONDS_PHASES else " obj"),
                unit_scale=counts_bytes,
                unit_divisor=1024 if counts_bytes else 1000,
                leave=False,
            )
        bar = self._bar
        if bar is None:
            return
        if counts_bytes:
            bar.update(transferred - bar.n)
            postfix = [f"{done}/{total} files"] if total else []
            if deduplicated:
                postfix.append(f"{_mb(deduplicated)} already on the Hub")
            if postfix:
                bar.set_postfix_str(", ".join(postfix), refresh=False)
        else:
            if total and bar.total != total:
                bar.total = total
            bar.update(done - bar.n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
            self._phase = None


def _mb(count: int) -> str:
    """Bytes in binary multiples, as the bars show sizes."""
    size = float(count)
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1024:
            return f"{count} B" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TB"
