"""Loopback SIP fixtures: a PSTN peer process and a SIP engine (its own worker process)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from gatehouse.telephony.sip.engine import free_loopback_port
from gatehouse.telephony.sip.pstn_peer import read_log, speech

pytest.importorskip("baresip")

NUMBERS = {
    "+441614960101": {"behaviour": "person", "ring_s": 0.3},
    "+441614960102": {"behaviour": "busy"},
    "+441614960103": {"behaviour": "no_answer"},
    "+441614960104": {"behaviour": "machine", "ring_s": 0.2},
    "agent-1": {
        "behaviour": "person",
        "ring_s": 0.1,
        "greeting": "Agent one ready.",
        "reply": "Thank you, this is Northfield Research.",
        "hangup_after_s": 120,
    },
}


@dataclass
class Peer:
    listen: str
    log: Path
    record_dir: Path

    def events(self) -> list[dict[str, object]]:
        return read_log(self.log)

    def wait_for(
        self, event: str, count: int = 1, timeout: float = 20.0
    ) -> list[dict[str, object]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [e for e in self.events() if e["event"] == event]
            if len(found) >= count:
                return found
            time.sleep(0.05)
        raise AssertionError(f"peer never logged {count} x {event}: {self.events()}")


def start_peer(
    base: Path, numbers: dict[str, dict[str, object]] | None = None
) -> tuple[subprocess.Popen[bytes], Peer]:
    listen = f"127.0.0.1:{free_loopback_port()}"
    log = base / f"peer-{listen.rsplit(':', 1)[1]}.jsonl"
    config = {
        "listen": listen,
        "log": str(log),
        "record_dir": str(base / "heard"),
        "numbers": NUMBERS if numbers is None else numbers,
    }
    path = base / "peer.yaml"
    path.write_text(yaml.safe_dump(config))
    with (base / "peer.err").open("ab") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gatehouse.cli.main", "pstn-peer", "--config", str(path)],
            stdout=subprocess.DEVNULL,
            stderr=err,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    return proc, Peer(listen, log, base / "heard")


def stop_peer(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


@pytest.fixture(scope="session")
def pstn_peer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Peer]:
    """One peer for the session; a start that does not come up (a port taken between our
    probe and its bind, a loaded machine) is retried on a new port, bounded."""
    base = tmp_path_factory.mktemp("peer")
    for _attempt in range(3):
        proc, peer = start_peer(base)
        try:
            peer.wait_for("ready", timeout=40)
        except AssertionError:
            stop_peer(proc)
            continue
        try:
            yield peer
        finally:
            stop_peer(proc)
        return
    raise AssertionError("the PSTN peer did not start: " + (base / "peer.err").read_text()[-2000:])


@pytest.fixture(scope="session")
def info_prompt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("prompts")
    pcm = speech(
        "This is Northfield Research calling for a survey. Sorry we missed you. "
        "To opt out, call 0161 496 0000.",
        base,
    )
    path = base / "info.raw"
    path.write_bytes(pcm)
    return path


def run(coro: object) -> object:
    return asyncio.run(coro)  # type: ignore[arg-type]
