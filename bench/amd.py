"""Answering-machine detection on a generated corpus: confusion matrix and decision time.

Baseline in the same run: Asterisk app_amd's shipped defaults (amd.conf.sample), which the
UK rules cannot use as shipped (up to 5 s of analysis while a person hears silence).

    python bench/amd.py [--size full|small]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

from rich.console import Console
from rich.table import Table

from gatehouse.telephony.amd import AmdParameters, classify
from gatehouse.testing import amd_corpus

ASTERISK_DEFAULTS = AmdParameters(
    initial_silence_ms=2500,
    greeting_ms=1500,
    after_greeting_silence_ms=800,
    total_analysis_time_ms=5000,
    min_word_length_ms=100,
    between_words_silence_ms=50,
    maximum_number_of_words=3,
    maximum_word_length_ms=5000,
    silence_threshold=256,
)


def measure(corpus: list[amd_corpus.Sample], params: AmdParameters) -> dict[str, float]:
    counts: Counter[tuple[str, str]] = Counter()
    human_ms, machine_ms = [], []
    started = time.perf_counter()
    for sample in corpus:
        d = classify(sample.pcm, params)
        counts[(sample.label, d.verdict.value)] += 1
        (human_ms if sample.label == "human" else machine_ms).append(d.decided_after_ms)
    elapsed = time.perf_counter() - started
    humans = sum(v for (lab, _), v in counts.items() if lab == "human")
    machines = len(corpus) - humans
    return {
        "human→human": counts[("human", "human")],
        "human→machine": counts[("human", "machine")],
        "human→not sure": counts[("human", "not_sure")],
        "machine→machine": counts[("machine", "machine")],
        "machine→human": counts[("machine", "human")],
        "machine→not sure": counts[("machine", "not_sure")],
        "human-as-machine rate": counts[("human", "machine")] / humans,
        "machine detection rate": counts[("machine", "machine")] / machines,
        "mean decision ms (humans)": statistics.mean(human_ms),
        "p95 decision ms (humans)": sorted(human_ms)[int(0.95 * (len(human_ms) - 1))],
        "mean decision ms (machines)": statistics.mean(machine_ms),
        "audio seconds analysed per CPU second": sum(len(s.pcm) / 16000 for s in corpus) / elapsed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", choices=["full", "small"], default="full")
    args = parser.parse_args()
    console = Console()
    with tempfile.TemporaryDirectory() as cache:
        with console.status("generating the corpus with espeak-ng and sox"):
            corpus = amd_corpus.build(Path(cache), size=args.size)
        ours = measure(corpus, AmdParameters())
        baseline = measure(corpus, ASTERISK_DEFAULTS)
    humans = sum(1 for s in corpus if s.label == "human")
    machines = len(corpus) - humans
    table = Table(
        title=f"AMD on {len(corpus)} generated openings ({humans} human, {machines} machine)"
    )
    table.add_column("measure")
    table.add_column("Gatehouse defaults", justify="right")
    table.add_column("Asterisk defaults", justify="right")
    for key in ours:
        fmt = "{:.3f}" if isinstance(ours[key], float) and ours[key] < 10 else "{:.0f}"
        table.add_row(key, fmt.format(ours[key]), fmt.format(baseline[key]))
    console.print(table)


if __name__ == "__main__":
    main()
