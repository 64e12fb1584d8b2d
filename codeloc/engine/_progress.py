"""A one-line progress display for runs on a terminal."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from codeloc._runs import Event, EventType

__all__ = ["Progress"]


class Progress:
    """Redraws ``[####----] 12/40 assets  step_name`` on one line of ``stream``."""

    def __init__(self, total: int, *, enabled: bool, stream: TextIO | None = None) -> None:
        self.total = total
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self.done = 0
        self.failed = 0
        self.current = ""
        self._last_draw = 0.0

    def update(self, event: Event) -> None:
        if event.type is EventType.ASSET_MATERIALIZATION:
            self.done += 1
        elif event.type is EventType.STEP_FAILURE:
            self.failed += 1
        elif event.type is EventType.STEP_START:
            self.current = event.step_key or ""
        else:
            return
        now = time.monotonic()
        # Redraw at most 20 times a second: a terminal is slower than the engine.
        if self.enabled and (now - self._last_draw > 0.05 or self.done == self.total):
            self._last_draw = now
            self._draw()

    def _draw(self) -> None:
        width = 30
        filled = int(width * self.done / self.total) if self.total else width
        bar = "#" * filled + "-" * (width - filled)
        failed = f"  {self.failed} failed" if self.failed else ""
        line = f"\r[{bar}] {self.done}/{self.total} assets{failed}  {self.current[:40]}"
        self.stream.write(line.ljust(100))
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self._draw()
            self.stream.write("\n")
            self.stream.flush()
