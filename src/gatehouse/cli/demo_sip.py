"""``gatehouse demo --engine sip``: the demo's calls over real SIP on loopback.

The runtime, desk and pages are the demo's own; only the phone network differs. A PSTN peer
(``gatehouse pstn-peer``, this project's test far end, a separate process with its own SIP
stack) answers every number: most as people, a seeded share of the demo contacts busy, not
answering or as an answering machine, and it also plays the agents' headsets (bots and the
human agent login). The SIP engine (its own media worker process) dials it with numbers
resolved from the vault at dial time, records every connected call encrypted under the
demo client's key, and the catalogue registers each recording for the security officer.

``SipLine`` is one more background service of the web app, started before the runtime host
and stopped after it: peer up and ready, then the engine started on the server's loop; on
shutdown the engine is closed (its worker hangs up what is left) and the peer stopped.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from gatehouse.telephony import tts
from gatehouse.telephony.sip.engine import SipEngine, free_loopback_port

#: Share of the demo contacts the peer answers other than as a person (seeded, fixed).
BUSY_SHARE = 0.06
NO_ANSWER_SHARE = 0.12
MACHINE_SHARE = 0.10
#: A person talks for this long at most, then hangs up (the bots finish sooner).
PERSON_HANGUP_S = 75.0
#: An agent's headset stays up for a long shift (the peer's maximum); reopened after.
HEADSET_HANGUP_S = 600.0
PEER_READY_TIMEOUT_S = 40.0


def missing_for_sip() -> str | None:
    """Why ``--engine sip`` cannot run here, or None."""
    missing = []
    if not tts.available():
        missing.append("espeak-ng and sox (apt-get install espeak-ng sox, or scripts/setup --test)")
    if importlib.util.find_spec("baresip") is None:
        missing.append("baresip-python (pip install -e '.[sip]' in the project's venv)")
    if not missing:
        return None
    return "--engine sip needs " + " and ".join(missing) + "; the simulated demo needs neither."


def peer_numbers(
    contact_numbers: Iterable[str], agent_ids: Iterable[str], *, seed: int = 2026
) -> dict[str, dict[str, object]]:
    """Per-number behaviours for the peer: a seeded share of the contacts busy, unanswered
    or a machine (everyone else gets the default, a person); every agent id a headset."""
    rng = random.Random(seed)
    numbers: dict[str, dict[str, object]] = {}
    for number in contact_numbers:
        u = rng.random()
        if u < BUSY_SHARE:
            numbers[number] = {"behaviour": "busy"}
        elif u < BUSY_SHARE + NO_ANSWER_SHARE:
            numbers[number] = {"behaviour": "no_answer"}
        elif u < BUSY_SHARE + NO_ANSWER_SHARE + MACHINE_SHARE:
            numbers[number] = {
                "behaviour": "machine",
                "ring_s": round(rng.uniform(2.0, 6.0), 1),
                "hangup_after_s": 20,
            }
    for agent in agent_ids:
        numbers[agent] = {
            "behaviour": "person",
            "ring_s": 0.1,
            "greeting": "Agent ready.",
            "reply": "Good evening, this is Northfield Research with a short survey.",
            "hangup_after_s": HEADSET_HANGUP_S,
        }
    return numbers


@dataclass
class DemoPeer:
    """The PSTN peer as a child process of the demo (its own session: a terminal's Ctrl-C
    reaches the demo, which stops the peer only after the engine has closed)."""

    base: Path
    numbers: dict[str, dict[str, object]]
    listen: str = field(default_factory=lambda: f"127.0.0.1:{free_loopback_port()}")
    proc: subprocess.Popen[bytes] | None = None

    @property
    def config_file(self) -> Path:
        return self.base / "pstn-peer.yaml"

    @property
    def log(self) -> Path:
        return self.base / "pstn-peer.jsonl"

    @property
    def err(self) -> Path:
        return self.base / "pstn-peer.err"

    def write_config(self) -> Path:
        config = {
            "listen": self.listen,
            "log": str(self.log),
            "record_dir": str(self.base / "pstn-peer-heard"),
            "default": {
                "behaviour": "person",
                "ring_s": 2.5,
                "hangup_after_s": PERSON_HANGUP_S,
            },
            "numbers": self.numbers,
            "record_heard": False,  # hours of demo: no WAV per call of what the peer heard
        }
        self.config_file.write_text(yaml.safe_dump(config), encoding="utf-8")
        return self.config_file

    def events(self) -> list[dict[str, Any]]:
        from gatehouse.telephony.sip.pstn_peer import read_log

        return read_log(self.log)

    async def start(self) -> None:
        config = str(self.write_config())
        with self.err.open("ab") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "gatehouse.cli.main", "pstn-peer", "--config", config],
                stdout=subprocess.DEVNULL,
                stderr=err,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
                start_new_session=True,
            )
        deadline = time.monotonic() + PEER_READY_TIMEOUT_S
        while not any(e["event"] == "ready" for e in self.events()):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                tail = self.err.read_text(encoding="utf-8", errors="replace")[-1500:]
                raise RuntimeError(f"the PSTN peer did not start on {self.listen}: {tail}")
            await asyncio.sleep(0.1)

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


@dataclass
class SipLine:
    """A web-app background service: the peer and the SIP engine, around the runtime host."""

    peer: DemoPeer
    engine: SipEngine

    async def start(self) -> None:
        await self.peer.start()
        try:
            await self.engine.start()
        except BaseException:
            self.peer.stop()
            raise

    async def stop(self) -> None:
        try:
            await self.engine.close()
        finally:
            self.peer.stop()

    def child_pids(self) -> list[int]:
        """Processes this line started that are still running (for a clean-stop check)."""
        pids = [self.engine.worker_pid]
        if self.peer.proc is not None and self.peer.proc.poll() is None:
            pids.append(self.peer.proc.pid)
        return [pid for pid in pids if pid is not None]


def contact_numbers(count: int) -> list[str]:
    """The E.164 numbers of the demo's generated contacts (as the vault stores them)."""
    from gatehouse.cli.demo_data import drama_numbers
    from gatehouse.domain.contacts import to_e164

    return [to_e164(n)[0] for n in drama_numbers(count)]
