"""The relay leg's audio (decision 0064): datagrams in, frames out, bounded and measured."""

from __future__ import annotations

from typing import Any

from gatehouse.telephony.sip.worker import FRAME_BYTES, RELAY_HEADER, Worker


def test_a_relay_leg_sends_tagged_frames_and_plays_only_its_peers() -> None:
    sent: list[tuple[bytes, tuple[str, int]]] = []
    worker = Worker("127.0.0.1:1", relay_host="127.0.0.1")

    class _Socket:
        def sendto(self, data: bytes, addr: tuple[str, int]) -> None:
            sent.append((data, addr))

    worker.relay_sock = _Socket()  # type: ignore[assignment]
    worker._add_remote({"call": "sip-1", "stream": 7, "peer": "127.0.0.1:7001"})
    leg = worker.legs["sip-1"]
    assert leg.answered and leg.relay is not None
    frame = bytes(range(256)) + bytes(FRAME_BYTES - 256)
    assert leg.tracked.call.audio.write(frame) == FRAME_BYTES
    [(data, addr)] = sent
    assert addr == ("127.0.0.1", 7001) and RELAY_HEADER.unpack_from(data)[:2] == (7, 0)
    assert data[RELAY_HEADER.size :] == frame

    def datagram(seq: int, pcm: bytes, addr: Any = ("127.0.0.1", 7001), stream: int = 7) -> None:
        worker._relay_datagram(RELAY_HEADER.pack(stream, seq, 0.0) + pcm, addr)

    datagram(0, b"\x01" * FRAME_BYTES)
    datagram(1, b"\x02" * FRAME_BYTES, addr=("127.0.0.1", 9999))  # not the named peer
    datagram(1, b"\x03" * FRAME_BYTES, stream=8)  # not a stream here
    datagram(2, b"\x04" * FRAME_BYTES)  # seq 1 lost
    assert leg.relay.read(FRAME_BYTES * 4) == b"\x01" * FRAME_BYTES + b"\x04" * FRAME_BYTES
    for seq in range(3, 9):  # 6 frames queued: only the newest 60 ms are kept
        datagram(seq, bytes([seq]) * FRAME_BYTES)
    assert leg.relay.read(FRAME_BYTES * 4) == b"".join(bytes([s]) * FRAME_BYTES for s in (6, 7, 8))
    report = leg.relay.report()
    assert (report["received"], report["lost"], report["dropped_frames"]) == (8, 1, 3)
    reports: list[tuple[str, dict[str, Any]]] = []
    worker.emit = lambda ev, **fields: reports.append((ev, fields))  # type: ignore[method-assign]
    worker._drop_remote(leg)
    assert "sip-1" not in worker.legs and 7 not in worker.streams
    assert [(ev, f["call"], f["lost"]) for ev, f in reports] == [("relay_closed", "sip-1", 1)]
