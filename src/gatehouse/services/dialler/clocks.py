"""Clocks the runtime needs beyond ``telephony.clock``.

- ``AnchoredClock``: accelerated real time anchored to a fixed wall instant, so a process
  that is killed and restarted continues the *same* timeline (crash tests need time to
  move forward across restarts, never back).
- ``VirtualLoop`` + ``LoopClock``: virtual time. The loop's selector never blocks: when
  nothing is ready it jumps the loop's clock to the next timer, so a run costs only the
  CPU of its events. Valid because nothing in the runtime waits on real sockets (the
  database calls are synchronous).
"""

from __future__ import annotations

import asyncio
import selectors
import time
from typing import Any


class AnchoredClock:
    """``now = start + (time.time() - wall_anchor) * speed``."""

    def __init__(self, start: float, wall_anchor: float, speed: float) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.start = start
        self.wall_anchor = wall_anchor
        self.speed = speed

    def now(self) -> float:
        return self.start + (time.time() - self.wall_anchor) * self.speed

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) / self.speed)


class _JumpingSelector(selectors.DefaultSelector):
    def __init__(self) -> None:
        super().__init__()
        self.loop: VirtualLoop | None = None

    def select(self, timeout: float | None = None) -> list[Any]:
        ready = super().select(0)
        if not ready and timeout and timeout > 0 and self.loop is not None:
            self.loop.advance(timeout)
        return ready


class VirtualLoop(asyncio.SelectorEventLoop):
    """An event loop whose time is virtual and jumps to the next timer when idle."""

    def __init__(self, start: float) -> None:
        selector = _JumpingSelector()
        super().__init__(selector=selector)
        selector.loop = self
        self._virtual_now = start
        # epoch-sized floats have ~1e-7 s resolution: a timer due "now" must count as due
        self._clock_resolution = 1e-6

    def time(self) -> float:
        return self._virtual_now

    def advance(self, seconds: float) -> None:
        self._virtual_now += seconds


class LoopClock:
    """A ``Clock`` over the running loop's time (virtual on a ``VirtualLoop``)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def now(self) -> float:
        return self._loop.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


def run_virtual(start: float, main: Any) -> Any:
    """Run ``main(clock)`` (a coroutine function) on a fresh virtual loop starting at ``start``."""
    loop = VirtualLoop(start)
    try:
        return loop.run_until_complete(main(LoopClock(loop)))
    finally:
        loop.close()
