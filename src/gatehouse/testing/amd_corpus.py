"""A labelled corpus of call openings for measuring answering-machine detection.

Made at run time with Debian's ``espeak-ng`` (several voices and speeds) and ``sox`` (8 kHz
mono 16-bit, a leading gap, line noise, a beep, trailing silence), cached under a directory.
Humans say a short greeting and wait; machines play a long greeting, with or without a beep.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gatehouse.telephony import tts

RATE = 8000

HUMAN_GREETINGS = [
    "Hello?",
    "Yes, speaking.",
    "Hello, who is this?",
    "Hi.",
    "Yeah?",
    "Hello, Smith residence.",
    "Good evening.",
    "Hello, can I help you?",
]
MACHINE_GREETINGS = [
    "Hi, you have reached the Smith family. We can't come to the phone right now, please "
    "leave a message after the tone.",
    "Hello, this is Sam. I'm not available at the moment. Leave your name and number and "
    "I'll call you back.",
    "The person you are calling is not available. Please leave a message after the tone. "
    "When you have finished recording, you may hang up.",
    "Thanks for calling. Sorry we missed you. Please leave a message.",
]
VOICES = ["en", "en+f3", "en-us", "en+m3"]
SPEEDS = [140, 175, 200]


@dataclass(frozen=True, slots=True)
class Sample:
    label: str  # "human" | "machine"
    pcm: bytes  # s16le mono 8 kHz, starting at the answer
    description: str


def tools_available() -> bool:
    return tts.available()


def _speak(text: str, voice: str, speed: int, cache: Path) -> np.ndarray:
    return np.frombuffer(tts.speak(text, cache, voice=voice, speed=speed), dtype="<i2")


def _silence(seconds: float) -> np.ndarray:
    return np.zeros(int(RATE * seconds), dtype=np.int16)


def _beep(seconds: float = 0.5, freq: float = 1000.0) -> np.ndarray:
    t = np.arange(int(RATE * seconds)) / RATE
    return (6000 * np.sin(2 * np.pi * freq * t)).astype(np.int16)


def _with_noise(signal: np.ndarray, level: float, rng: np.random.Generator) -> np.ndarray:
    noise = rng.normal(0.0, level, size=len(signal))
    return np.clip(signal.astype(np.float64) + noise, -32768, 32767).astype(np.int16)


def build(cache: Path, *, size: str = "full", seed: int = 7) -> list[Sample]:
    """The corpus; ``size="small"`` is a quick subset for CI."""
    cache.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    samples: list[Sample] = []
    voices = VOICES if size == "full" else VOICES[:2]
    speeds = SPEEDS if size == "full" else [175]
    humans = HUMAN_GREETINGS if size == "full" else HUMAN_GREETINGS[:4]
    machines = MACHINE_GREETINGS if size == "full" else MACHINE_GREETINGS[:2]
    for text, voice, speed in itertools.product(humans, voices, speeds):
        speech = _speak(text, voice, speed, cache)
        gap = float(rng.uniform(0.1, 0.6))
        audio = np.concatenate([_silence(gap), speech, _silence(3.0)])
        noisy = bool(rng.integers(0, 2))
        if noisy:
            audio = _with_noise(audio, 60.0, rng)
        samples.append(
            Sample(
                "human", audio.tobytes(), f"{text!r} {voice} {speed}wpm{' noise' if noisy else ''}"
            )
        )
    for (i, text), voice, speed in itertools.product(enumerate(machines), voices, speeds):
        speech = _speak(text, voice, speed, cache)
        gap = float(rng.uniform(0.2, 0.8))
        beep = i % 2 == 0
        parts = (
            [_silence(gap), speech, _silence(0.3)] + ([_beep()] if beep else []) + [_silence(2.0)]
        )
        audio = np.concatenate(parts)
        if rng.integers(0, 2):
            audio = _with_noise(audio, 60.0, rng)
        samples.append(
            Sample(
                "machine",
                audio.tobytes(),
                f"machine {i} {voice} {speed}wpm{' beep' if beep else ''}",
            )
        )
    # Dead air after the answer behaves like a machine waiting (or a fault), never a person.
    samples.append(
        Sample(
            "machine", _with_noise(_silence(4.0), 40.0, rng).tobytes(), "silence with line noise"
        )
    )
    return samples
