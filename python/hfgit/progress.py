"""Progress reporting: a small event type, user callbacks, and an optional tqdm bar.

The native layer polls the running operation about ten times a second and calls back with the
latest figures only when they changed, so callbacks are throttled by construction and cheap.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Callable, Union


@dataclass(frozen=True)
class Progress:
    """One progress event.

    ``phase`` is one of ``"receiving"``, ``"resolving"``, ``"checkout"``, ``"packing"``,
    ``"sending"`` or ``"done"``; ``done`` of ``total`` counts objects or files in that phase;
    ``bytes`` is the number of bytes transferred so far.
    """

    phase: str
    done: int
    total: int
    bytes: int


ProgressCallback = Callable[[Progress], Any]
ProgressArg = Union[None, bool, ProgressCallback]
NativeCallback = Callable[[str, int, int, int], None]


@contextlib.contextmanager
def progress_reporter(progress: ProgressArg, description: str) -> Iterator[NativeCallback | None]:
    """Turn the user's ``progress=`` argument into the native callback, closing bars on exit."""
    if progress is None or progress is False:
        yield None
        return
    if progress is True:
        bar = _TqdmBar(description)
        try:
            yield bar.update
        finally:
            bar.close()
        return
    if not callable(progress):
        raise TypeError("progress must be None, True, False or a callable taking a Progress")
    user_callback = progress

    def forward(phase: str, done: int, total: int, transferred: int) -> None:
        user_callback(Progress(phase, done, total, transferred))

    yield forward


class _TqdmBar:
    """One ``tqdm.auto`` bar per phase: a widget in Jupyter, text in a terminal."""

    def __init__(self, description: str) -> None:
        try:
            from tqdm.auto import tqdm  # type: ignore[import-untyped]
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError(
                "progress=True needs tqdm: pip install 'hfgit-native[progress]'"
            ) from exc
        self._tqdm = tqdm
        self._description = description
        self._bar: Any | None = None
        self._phase: str | None = None

    def update(self, phase: str, done: int, total: int, transferred: int) -> None:
        if phase == "done":
            self.close()
            return
        if phase != self._phase:
            self.close()
            self._phase = phase
            self._bar = self._tqdm(
                total=total or None, desc=f"{self._description}: {phase}", unit="obj", leave=False
            )
        bar = self._bar
        if bar is None:
            return
        if total and bar.total != total:
            bar.total = total
        bar.n = done
        if transferred:
            bar.set_postfix_str(_human_bytes(transferred), refresh=False)
        bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def _human_bytes(count: int) -> str:
    size = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.1f} {unit}" if unit != "B" else f"{int(size)} B"
        size /= 1024
    return f"{size:.1f} GiB"
