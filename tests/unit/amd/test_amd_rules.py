"""The AMD rules on synthetic energy patterns (tone bursts stand in for words)."""

from __future__ import annotations

import numpy as np

from gatehouse.telephony.amd import AmdParameters, AmdVerdict, classify

RATE = 8000


def _burst(ms: int) -> np.ndarray:
    t = np.arange(RATE * ms // 1000) / RATE
    return (5000 * np.sin(2 * np.pi * 300 * t)).astype(np.int16)


def _gap(ms: int) -> np.ndarray:
    return np.zeros(RATE * ms // 1000, dtype=np.int16)


def _pcm(*parts: np.ndarray) -> bytes:
    return np.concatenate(parts).tobytes()


def test_short_hello_then_silence_is_human() -> None:
    decision = classify(_pcm(_gap(300), _burst(400), _gap(2000)))
    assert decision.verdict is AmdVerdict.HUMAN
    assert decision.decided_after_ms <= 300 + 400 + AmdParameters().after_greeting_silence_ms + 20


def test_long_greeting_is_machine() -> None:
    words = [np.concatenate([_burst(300), _gap(80)]) for _ in range(3)]
    decision = classify(_pcm(_gap(200), _burst(1900), *words))
    assert decision.verdict is AmdVerdict.MACHINE


def test_many_words_is_machine() -> None:
    words = [np.concatenate([_burst(200), _gap(100)]) for _ in range(6)]
    assert classify(_pcm(_gap(100), *words, _gap(1000))).reason == "too many words"


def test_dead_air_is_machine_before_two_seconds() -> None:
    decision = classify(_pcm(_gap(4000)))
    assert decision.verdict is AmdVerdict.MACHINE
    assert decision.decided_after_ms <= 2000


def test_undecided_within_the_analysis_time_is_not_sure() -> None:
    params = AmdParameters(total_analysis_time_ms=500, initial_silence_ms=2000)
    assert classify(_pcm(_gap(1000)), params).verdict is AmdVerdict.NOT_SURE


def test_steady_line_noise_is_not_speech() -> None:
    rng = np.random.default_rng(1)
    noise = rng.normal(0, 400, RATE * 3).astype(np.int16)
    hello = np.concatenate([_burst(400) + noise[:3200], noise[3200 : 3200 + RATE]])
    decision = classify(_pcm(noise[:2400], hello))
    assert decision.verdict is AmdVerdict.HUMAN
