"""Generated speech for prompts, the test PSTN peer and the AMD corpus (espeak-ng + sox).

Returns 8 kHz mono signed 16-bit PCM, cached by (text, voice, speed) under ``cache``.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

RATE = 8000


def available() -> bool:
    return bool(shutil.which("espeak-ng") and shutil.which("sox"))


def speak(text: str, cache: Path, *, voice: str = "en", speed: int = 175) -> bytes:
    cache.mkdir(parents=True, exist_ok=True)
    key = hashlib.sha256(f"{text}|{voice}|{speed}".encode()).hexdigest()[:16]
    raw = cache / f"{key}.raw"
    if not raw.exists():
        wav = cache / f"{key}.wav"
        subprocess.run(
            ["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(wav), text],
            check=True,
            capture_output=True,
            timeout=30,
        )
        subprocess.run(
            [
                "sox",
                str(wav),
                "-r",
                str(RATE),
                "-c",
                "1",
                "-b",
                "16",
                "-e",
                "signed-integer",
                "-t",
                "raw",
                str(raw),
            ],
            check=True,
            capture_output=True,
            timeout=30,
        )
        wav.unlink()
    return raw.read_bytes()
