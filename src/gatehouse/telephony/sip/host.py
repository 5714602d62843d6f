"""One baresip-python runtime in this process, with the event tracker the library needs.

Contract: exactly one :class:`SipHost` per process (libre is process-global and a dead
runtime poisons its process, so the engine runs hosts in worker processes it can restart).
Answer detection never uses ``Call.wait_established`` (it can miss a fast answer and then
hangs up an answered call, ../shared/reference/baresip.md §2.5): a runtime-level tracker
records ESTABLISHED/CLOSED per call handle before the ``Call`` object exists.
All methods run on the asyncio loop that called :meth:`start`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

# baresip is imported lazily so ``import gatehouse`` works where it is not installed.

FRAME_MS = 20
TX_QUEUE_CAP_BYTES = 960  # 60 ms at 8 kHz mono s16: keeps prompt/bridge latency bounded


@dataclass
class TrackedCall:
    call: Any
    handle: int
    established_at: float | None = None  # time.monotonic()
    closed_reason: str | None = None
    closed_at: float | None = None
    ringing_at: float | None = None
    final_stats: Any = None  # baresip.CallStats from the CALL_CLOSED event (None: no media)


class SipHost:
    def __init__(
        self,
        listen: str,
        *,
        user: str = "gatehouse",
        max_calls: int = 200,
        catch_all: bool = False,
        expose_headers: tuple[str, ...] = (),
    ) -> None:
        self.expose_headers = expose_headers
        self.listen = listen  # "127.0.0.1:5070"
        self.user = user
        self.max_calls = max_calls
        self.catch_all = catch_all  # answer any request URI (a trunk-side peer), not only ``user``
        self.runtime: Any = None
        self.ua: Any = None
        self.by_handle: dict[int, TrackedCall] = {}
        self._early: dict[int, list[Any]] = {}
        self.listeners: list[Callable[[str, TrackedCall], None]] = []

    async def start(self) -> None:
        import baresip

        host, _, _port = self.listen.partition(":")
        config = baresip.Config(
            net_interface=host,
            max_concurrent_calls=self.max_calls,
            rtp_timeout=30,
            expose_headers=self.expose_headers,
            extra_config_text=(
                f"sip_listen {self.listen}\n"
                "audio_jitter_buffer_type fixed\n"
                "audio_jitter_buffer_ms 20-60\n"
                "audio_buffer 20-60\n"
            ),
        )
        self.runtime = baresip.Runtime(command_timeout=5.0)
        await self.runtime.start(config)
        self.runtime.subscribe(self._on_event)
        self.ua = await baresip.UserAgent.create(
            self.runtime,
            baresip.Account(
                user=self.user,
                password="",
                domain=self.listen,
                reg_interval=0,
                extra_params=("catchall=yes",) if self.catch_all else (),
            ),
        )

    def _on_event(self, event: Any) -> None:
        import baresip

        if not event.call:
            return
        tracked = self.by_handle.get(event.call)
        if tracked is None:
            # The event beat the Call object (fast answer): keep it for when it is tracked.
            self._early.setdefault(event.call, []).append(event)
            return
        self._apply(tracked, event, baresip.Event)

    def _apply(self, tracked: TrackedCall, event: Any, kinds: Any) -> None:
        now = time.monotonic()
        if event.event in (kinds.CALL_RINGING, kinds.CALL_PROGRESS) and tracked.ringing_at is None:
            tracked.ringing_at = now
            self._emit("ringing", tracked)
        elif event.event is kinds.CALL_ESTABLISHED and tracked.established_at is None:
            tracked.established_at = now
            self._emit("established", tracked)
        elif event.event is kinds.CALL_CLOSED and tracked.closed_at is None:
            tracked.closed_at = now
            tracked.closed_reason = event.text or ""
            # The closing media report rides the CLOSED event itself (StackEvent.stats). Read
            # it here rather than from ``Call.final_stats``: the Call's own listener runs after
            # this one, and never sees a CLOSED that beat the Call object.
            if event.stats:
                tracked.final_stats = call_stats(event.stats)
            self.by_handle.pop(tracked.handle, None)  # handles are reused after close
            self._emit("closed", tracked)

    def _emit(self, what: str, tracked: TrackedCall) -> None:
        for listener in list(self.listeners):
            listener(what, tracked)

    def track(self, call: Any) -> TrackedCall:
        import baresip

        tracked = TrackedCall(call=call, handle=call.handle)
        self.by_handle[call.handle] = tracked
        for event in self._early.pop(call.handle, []):
            self._apply(tracked, event, baresip.Event)
        return tracked

    async def dial(self, uri: str, headers: dict[str, str] | None = None) -> TrackedCall:
        call = await self.ua.dial(uri, headers=headers or None)
        return self.track(call)

    async def close(self) -> None:
        if self.runtime is None:
            return
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.runtime.drain(), 5)
        with contextlib.suppress(Exception):
            await self.runtime.close()


def call_stats(payload: dict[str, Any]) -> Any:
    """The typed view (``baresip.CallStats``) of a CLOSED/RTCP event's ``stats`` payload.

    The library builds it with ``CallStats._from_payload``; it has no public constructor
    for it in 0.5.2a3 (pinned), so this is the one place that relies on that name.
    """
    import baresip

    return baresip.CallStats._from_payload(payload)


def audio_stats(call: Any) -> Any:
    """A live ``baresip.AudioStats`` snapshot, or None when the call has no audio.

    Taken while the call is up because the closing ``CallStats`` of 0.5.2a3 reports its
    ``audio_*`` counters as 0 (measured: a call with 151 silence frames and 1 starved frame
    live closed with all four at 0); its RTP and jitter-buffer counters are real.
    """
    import baresip

    try:
        return call.audio.stats()
    except (baresip.AudioNotActive, baresip.AudioRestarted, baresip.StaleHandleError):
        return None


def read_audio(call: Any, max_bytes: int = 3200) -> bytes:
    """Read what has arrived; b"" before media or after teardown (never raises)."""
    import baresip

    try:
        data: bytes = call.audio.read(max_bytes)
        return data
    except (baresip.AudioNotActive, baresip.AudioRestarted, baresip.StaleHandleError):
        return b""


def write_audio(call: Any, pcm: bytes) -> int:
    """Queue PCM for sending, never more than the cap ahead; returns bytes accepted."""
    import baresip

    try:
        if call.audio.info().tx_buffered >= TX_QUEUE_CAP_BYTES:
            return 0
        accepted: int = call.audio.write(pcm)
        return accepted
    except (baresip.AudioNotActive, baresip.AudioRestarted, baresip.StaleHandleError):
        return 0


def rms(pcm: bytes) -> float:
    if len(pcm) < 2:
        return 0.0
    samples = np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype="<i2").astype(np.float64)
    return float(np.sqrt(np.mean(samples**2)))
