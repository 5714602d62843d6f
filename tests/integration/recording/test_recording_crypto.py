"""Recordings are encrypted while written; damage is detected; a kill loses at most a chunk."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from gatehouse.adapters.crypto.recording import (
    AesGcmKeyWrapper,
    RecordingDamaged,
    RecordingWriter,
    decrypt,
    read_header,
)

TENANT_KEY = bytes(range(32))
RATE = 8000


def _tone(freq: float, seconds: float) -> np.ndarray:
    t = np.arange(int(RATE * seconds)) / RATE
    return (8000 * np.sin(2 * np.pi * freq * t)).astype("<i2")


def _stereo(left: np.ndarray, right: np.ndarray) -> bytes:
    return np.column_stack([left, right]).astype("<i2").tobytes()


def _write(path: Path, pcm: bytes, chunk_ms: int = 200) -> None:
    wrapper = AesGcmKeyWrapper(TENANT_KEY, "tenant-1/v1")
    with RecordingWriter(
        path, recording_id="rec-1", tenant="t1", wrapper=wrapper, chunk_ms=chunk_ms
    ) as w:
        for i in range(0, len(pcm), 640):
            w.write(pcm[i : i + 640])


def test_round_trip_keeps_both_voices(tmp_path: Path) -> None:
    pcm = _stereo(_tone(440, 1.0), _tone(1000, 1.0))
    path = tmp_path / "r.ghrec"
    _write(path, pcm)
    rec = decrypt(path, AesGcmKeyWrapper(TENANT_KEY, "tenant-1/v1"))
    assert rec.complete and rec.pcm == pcm
    frames = np.frombuffer(rec.pcm, "<i2").reshape(-1, 2)
    spectrum_left = np.abs(np.fft.rfft(frames[:, 0]))
    spectrum_right = np.abs(np.fft.rfft(frames[:, 1]))
    freqs = np.fft.rfftfreq(len(frames), 1 / RATE)
    assert abs(freqs[spectrum_left.argmax()] - 440) < 5
    assert abs(freqs[spectrum_right.argmax()] - 1000) < 5
    assert rec.wav_bytes()[:4] == b"RIFF"


def test_no_plain_audio_on_disk(tmp_path: Path) -> None:
    pcm = _stereo(_tone(440, 0.5), _tone(440, 0.5))
    path = tmp_path / "r.ghrec"
    _write(path, pcm)
    data = path.read_bytes()
    assert pcm[1000:1064] not in data
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert [p.name for p in tmp_path.iterdir()] == ["r.ghrec"]  # no temporary files


def _chunk_offsets(path: Path) -> list[tuple[int, int]]:
    offsets = []
    with path.open("rb") as f:
        read_header(f)
        while True:
            start = f.tell()
            raw = f.read(4)
            if len(raw) < 4:
                break
            length = int.from_bytes(raw, "big")
            f.seek(length, os.SEEK_CUR)
            offsets.append((start, 4 + length))
    return offsets


def test_an_edited_chunk_is_named(tmp_path: Path) -> None:
    path = tmp_path / "r.ghrec"
    _write(path, _stereo(_tone(440, 1.0), _tone(500, 1.0)))
    start, _length = _chunk_offsets(path)[2]
    data = bytearray(path.read_bytes())
    data[start + 20] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(RecordingDamaged, match="chunk 2"):
        decrypt(path, AesGcmKeyWrapper(TENANT_KEY, "tenant-1/v1"))


def test_reordered_chunks_are_detected(tmp_path: Path) -> None:
    path = tmp_path / "r.ghrec"
    _write(path, _stereo(_tone(440, 1.0), _tone(500, 1.0)))
    (s1, l1), (s2, l2) = _chunk_offsets(path)[1:3]
    data = path.read_bytes()
    swapped = data[:s1] + data[s2 : s2 + l2] + data[s1 : s1 + l1] + data[s2 + l2 :]
    path.write_bytes(swapped)
    with pytest.raises(RecordingDamaged, match="chunk 1"):
        decrypt(path, AesGcmKeyWrapper(TENANT_KEY, "tenant-1/v1"))


def test_wrong_tenant_key_cannot_decrypt(tmp_path: Path) -> None:
    path = tmp_path / "r.ghrec"
    _write(path, _stereo(_tone(440, 0.3), _tone(500, 0.3)))
    with pytest.raises(RecordingDamaged):
        decrypt(path, AesGcmKeyWrapper(bytes(32), "other"))


def test_existing_recording_is_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "r.ghrec"
    _write(path, b"\x00\x00" * 100)
    with pytest.raises(FileExistsError):
        _write(path, b"\x00\x00" * 100)


def test_kill_minus_nine_loses_at_most_the_chunk_being_filled(tmp_path: Path) -> None:
    path = tmp_path / "killed.ghrec"
    progress = tmp_path / "progress"
    script = textwrap.dedent(
        f"""
        import sys, time
        from pathlib import Path
        from gatehouse.adapters.crypto.recording import AesGcmKeyWrapper, RecordingWriter
        w = RecordingWriter(Path({str(path)!r}), recording_id="rec-k", tenant="t1",
                            wrapper=AesGcmKeyWrapper(bytes(range(32)), "k"), chunk_ms=100)
        frame = 0
        while True:
            # 20 ms of stereo audio whose samples count frames, so loss is measurable
            w.write(b"".join(int(frame * 160 + i).to_bytes(4, "little") for i in range(160)))
            frame += 1
            Path({str(progress)!r}).write_text(str(frame))
            time.sleep(0.002)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.time() + 20
        while time.time() < deadline:
            if progress.exists() and progress.read_text() and int(progress.read_text()) > 60:
                break
            time.sleep(0.02)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    frames_written = int(progress.read_text())
    rec = decrypt(path, AesGcmKeyWrapper(TENANT_KEY, "k"))
    assert not rec.complete
    frames_recovered = len(rec.pcm) // (160 * 4)
    # chunk = 100 ms = 5 frames of 20 ms; at most the chunk being filled (+1 frame in flight)
    assert frames_written - frames_recovered <= 6
    samples = np.frombuffer(rec.pcm, "<u4")
    assert np.array_equal(samples, np.arange(len(samples), dtype="<u4"))
