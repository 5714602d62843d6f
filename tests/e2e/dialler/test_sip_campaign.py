"""A campaign end to end over real SIP on loopback: runtime → SIP engine → PSTN peer → agent legs.

The same ``DiallerRuntime`` that runs on the simulated network dials a vault-backed campaign
through the SIP engine (its own media worker process); the far end is the PSTN peer, a
separate process with its own SIP stack, answering as people, an answering machine, a busy
line and a phone nobody picks up, and also playing the agents' headsets. Checked against
the peer's own log and the encrypted recordings on disk.
"""

from __future__ import annotations

import asyncio
import io
import time
import wave
from datetime import time as dtime
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from gatehouse.adapters.crypto.keys import KeyRing
from gatehouse.adapters.crypto.recording import MAGIC
from gatehouse.adapters.storage.db import transaction
from gatehouse.adapters.storage.dialler import DiallerStore
from gatehouse.adapters.storage.tables.platform import AuditLogRow
from gatehouse.domain.dialler.config import (
    CallOutcome,
    CampaignConfig,
    CampaignStatus,
    TimeRange,
)
from gatehouse.domain.permissions import Role
from gatehouse.services import recordings, vault
from gatehouse.services.dialler.harness import bot_ids, runtime_on_engine
from gatehouse.services.dialler.sipnet import (
    agent_phones,
    campaign_sip_engine,
)
from gatehouse.services.dialler.vaultsync import sync_contacts, vault_resolver
from gatehouse.telephony.clock import RealClock
from gatehouse.telephony.sip.engine import SipEngine
from tests.integration.sip.conftest import start_peer, stop_peer

pytestmark = [pytest.mark.sip, pytest.mark.slow, pytest.mark.timeout(180)]

PEOPLE = [f"+44161496020{i}" for i in range(1, 5)]
BUSY, NO_ANSWER, MACHINE = "+441614960205", "+441614960206", "+441614960207"
AGENTS = bot_ids(2, "sip")
ALL_DAY = dict.fromkeys(range(7), (TimeRange(start=dtime(0, 0), end=dtime(23, 59, 59)),))
HOUR = 3600.0


def _numbers() -> dict[str, dict[str, object]]:
    numbers: dict[str, dict[str, object]] = {
        n: {"behaviour": "person", "ring_s": 0.4 + 0.3 * i, "hangup_after_s": 25}
        for i, n in enumerate(PEOPLE)
    }
    numbers[BUSY] = {"behaviour": "busy"}
    numbers[NO_ANSWER] = {"behaviour": "no_answer"}
    numbers[MACHINE] = {"behaviour": "machine", "ring_s": 0.3, "hangup_after_s": 20}
    for agent in AGENTS:
        numbers[agent] = {
            "behaviour": "person",
            "ring_s": 0.1,
            "greeting": "Agent ready.",
            "reply": "Good evening, this is Northfield Research with a short survey.",
            "hangup_after_s": 600,
        }
    return numbers


def _vault_campaign(
    session_factory: sessionmaker[Session], tmp_path: Path, slug: str, numbers: list[str]
) -> tuple[KeyRing, DiallerStore, CampaignConfig]:
    """A running vault campaign of ``numbers`` (retry delays long enough that each number
    is dialled once in a test), its contacts synced to the dialler."""
    keyring = KeyRing.from_file(tmp_path / "master.key")
    with transaction(session_factory) as s:
        vault.create_campaign(s, slug=slug, name=f"SIP {slug}", tenant="client-a")
    csv_file = tmp_path / "contacts.csv"
    csv_file.write_text(
        "first_name,phone\n" + "".join(f"P{i},{n}\n" for i, n in enumerate(numbers)),
        encoding="utf-8",
    )
    vault.import_contacts(session_factory, keyring, csv_file, slug)
    store = DiallerStore(session_factory)
    now = time.time()
    retry = {outcome: 6 * HOUR for outcome in CallOutcome}
    retry[CallOutcome.ABANDONED] = 72 * HOUR
    config = CampaignConfig(
        windows=ALL_DAY,
        pacer="progressive",
        ring_timeout_s=15.0,
        wrap_up_s=1.0,
        retry_delay_s=retry,
    )
    store.create_campaign(slug, f"SIP {slug}", config, at=now)
    assert sync_contacts(store, session_factory, slug) == len(numbers)
    store.save_campaign(slug, at=now, status=CampaignStatus.RUNNING)
    return keyring, store, config


def _sip_engine(
    session_factory: sessionmaker[Session],
    keyring: KeyRing,
    config: CampaignConfig,
    peer_listen: str,
    agents: list[str],
    tmp_path: Path,
) -> SipEngine:
    return campaign_sip_engine(
        session_factory,
        keyring,
        config,
        trunk=peer_listen,
        phones=agent_phones(agents, f"sip:{{agent}}@{peer_listen}"),
        resolver=vault_resolver(session_factory, keyring),
        tenant="client-a",
        organisation="Northfield Research",
        recordings_dir=tmp_path / "recordings",
        prompts_dir=tmp_path / "tts",
    )


def test_campaign_over_real_sip_records_both_voices_and_dials_each_number_once(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    everyone = [*PEOPLE, BUSY, NO_ANSWER, MACHINE]
    keyring, store, config = _vault_campaign(session_factory, tmp_path, "sip1", everyone)
    (tmp_path / "peer").mkdir()
    proc, peer = start_peer(tmp_path / "peer", _numbers())
    try:
        peer.wait_for("ready", timeout=40)
        engine = _sip_engine(session_factory, keyring, config, peer.listen, AGENTS, tmp_path)

        async def main() -> dict[str, int]:
            await engine.start()
            try:
                runtime = runtime_on_engine(
                    store,
                    RealClock(),
                    "sip1",
                    engine,
                    agents=len(AGENTS),
                    talk_median_s=4.0,
                    wrap_s=1.0,
                    agent_prefix="sip",
                    tick_s=0.2,
                )

                async def stop_when_done() -> None:
                    while any(a.outcome is None for a in store.attempts("sip1")) or len(
                        store.attempts("sip1")
                    ) < len(everyone):
                        await asyncio.sleep(0.5)
                    runtime.stop()

                watcher = asyncio.ensure_future(stop_when_done())
                await runtime.run(until=time.time() + 90)
                watcher.cancel()
                assert runtime.stats.recording_failures == 0
                return dict(runtime.stats.outcomes)
            finally:
                await engine.close()

        outcomes = asyncio.run(main())
    finally:
        stop_peer(proc)

    attempts = store.attempts("sip1")
    assert sum(outcomes.values()) == len(everyone) == len(attempts), outcomes
    by_number = {}
    with session_factory() as s:
        from gatehouse.adapters.storage.vault import resolve_destination

        for a in attempts:
            by_number[resolve_destination(s, keyring, a.contact_ref)] = a
    # each number dialled exactly once, as the far end saw it (no double dial)
    incoming = [e["number"] for e in peer.events() if e["event"] == "incoming"]
    dialled = [n for n in incoming if n.startswith("+44")]
    assert sorted(dialled) == sorted(everyone), dialled
    assert sorted(n for n in incoming if not n.startswith("+44")) == sorted(AGENTS)
    # the network's answers became the right outcomes
    assert by_number[BUSY].outcome == CallOutcome.BUSY.value
    assert by_number[NO_ANSWER].outcome == CallOutcome.NO_ANSWER.value
    assert by_number[NO_ANSWER].ring_s is not None and by_number[NO_ANSWER].ring_s >= 15.0
    connected = [a for a in attempts if a.connected_at is not None]
    assert {by_number[n].attempt_id for n in [*PEOPLE, MACHINE]} == {
        a.attempt_id for a in connected
    }, "AMD is off by default: people and the machine go to an agent; nothing abandoned"
    for a in connected:
        assert a.agent_id in AGENTS
        assert a.connected_at is not None and a.answered_at is not None
        assert a.connected_at - a.answered_at < 1.0
    # every connected call is recorded, encrypted on disk, catalogued under its attempt id,
    # and opened only through the audited service (invariant 3)
    with session_factory() as s:
        catalogue = recordings.list_recordings(s, frozenset({Role.INVESTIGATOR}))
    assert {r.recording_id for r in catalogue} == {a.attempt_id for a in connected}
    both_voices = 0
    for a in connected:
        path = tmp_path / "recordings" / f"{a.attempt_id}.ghrec"
        assert path.read_bytes().startswith(MAGIC)
        audio = recordings.open_recording(
            session_factory,
            keyring,
            "investigator-1",
            frozenset({Role.INVESTIGATOR}),
            a.attempt_id,
            "Complaint reference 2026/114: check the call",
        )
        assert audio.complete
        with wave.open(io.BytesIO(audio.wav)) as wav:
            assert wav.getnchannels() == 2
            frames = np.frombuffer(wav.readframes(wav.getnframes()), "<i2").reshape(-1, 2)
        callee, agent_side = frames[:, 0].astype(float), frames[:, 1].astype(float)
        assert np.sqrt(np.mean(callee**2)) > 100, f"the callee is heard in {a.attempt_id}"
        both_voices += int(np.sqrt(np.mean(agent_side**2)) > 100)
    with session_factory() as s:
        accesses = s.scalar(
            select(func.count())
            .select_from(AuditLogRow)
            .where(AuditLogRow.action == "recording.play")
        )
    assert accesses == len(connected)
    # an agent headset replies once per shift (the peer's script): its first call has both
    assert both_voices >= 1


def test_dialler_run_engine_sip_from_the_command_line(db_url: str, tmp_path: Path) -> None:
    """`gatehouse dialler run --engine sip` as an operator runs it, with two media workers,
    stopped with SIGTERM."""
    import json
    import os
    import signal
    import subprocess
    import sys

    env = {**os.environ, "GATEHOUSE_DATABASE_URL": db_url, "GATEHOUSE_DATA_DIR": str(tmp_path)}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "gatehouse.cli.main", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    windows = {str(d): [{"start": "00:00:00", "end": "23:59:59"}] for d in range(7)}
    (tmp_path / "config.json").write_text(json.dumps({"windows": windows, "wrap_up_s": 1}))
    created = cli(
        "campaigns", "create", "k1", "--config", str(tmp_path / "config.json"),
        "--synthetic-contacts", "6",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    assert cli("campaigns", "start", "k1", "--without-script").returncode == 0
    refused = cli("dialler", "run", "--campaign", "k1", "--engine", "sip", "--duration", "5")
    assert refused.returncode == 2 and "--trunk" in refused.stdout

    (tmp_path / "peer").mkdir()
    proc, peer = start_peer(tmp_path / "peer", {})  # everyone answers as a person
    try:
        peer.wait_for("ready", timeout=40)
        command = [
            sys.executable, "-m", "gatehouse.cli.main", "dialler", "run",
            "--campaign", "k1", "--engine", "sip", "--agents", "2",
            "--trunk", peer.listen, "--agent-phone", f"sip:{{agent}}@{peer.listen}",
            "--organisation", "Northfield Research", "--talk-median", "3",
            "--media-workers", "2",  # two agent legs: one per worker, calls relayed across
        ]  # fmt: skip
        run = subprocess.Popen(
            command,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        peer.wait_for("answered", count=3, timeout=60)  # two agent phones and a callee
        time.sleep(3)
        # as a service manager or Ctrl-C does: the signal reaches the whole process group
        # (the media worker too); dialling stops, calls in progress finish and are recorded
        os.killpg(run.pid, signal.SIGTERM)
        out, err = run.communicate(timeout=90)
    finally:
        stop_peer(proc)
    assert run.returncode == 0, err[-2000:]
    outcomes = json.loads(out.strip().splitlines()[-1])
    assert sum(outcomes.values()) >= 1, out
    assert "network_failure" not in outcomes and "outcome_unknown" not in outcomes, outcomes
    recordings = sorted((tmp_path / "recordings").glob("*.ghrec"))
    assert recordings and all(p.read_bytes().startswith(MAGIC) for p in recordings)
    dialled = [e["number"] for e in peer.events() if e["event"] == "incoming"]
    numbers = [n for n in dialled if n.startswith("+447700900")]
    assert numbers and len(numbers) == len(set(numbers)), dialled  # nobody dialled twice


def test_campaign_survives_a_killed_media_worker_without_losing_an_outcome(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    """kill -9 of the media worker mid-conversation: the engine restarts it, the agent
    still gives that call its outcome (the line died, the record did not), the agent's
    phone leg is opened again, and the campaign dials on; nobody is dialled twice."""
    import os
    import signal

    keyring, store, config = _vault_campaign(session_factory, tmp_path, "sip2", PEOPLE)
    agent = AGENTS[0]
    (tmp_path / "peer").mkdir()
    proc, peer = start_peer(tmp_path / "peer", _numbers())
    try:
        peer.wait_for("ready", timeout=40)
        engine = _sip_engine(session_factory, keyring, config, peer.listen, [agent], tmp_path)

        async def main() -> str:
            await engine.start()
            try:
                runtime = runtime_on_engine(
                    store, RealClock(), "sip2", engine, agents=1, talk_median_s=4.0,
                    wrap_s=1.0, agent_prefix="sip", tick_s=0.2,
                )  # fmt: skip
                task = asyncio.ensure_future(runtime.run(until=time.time() + 120))
                while not any(a.connected_at for a in store.attempts("sip2")):
                    await asyncio.sleep(0.1)
                (killed,) = [a.attempt_id for a in store.attempts("sip2") if a.connected_at]
                worker = engine.worker_pid
                assert worker is not None
                os.kill(worker, signal.SIGKILL)
                while engine.worker_restarts == 0:
                    await asyncio.sleep(0.1)
                while len(store.attempts("sip2")) < len(PEOPLE) or any(
                    a.outcome is None for a in store.attempts("sip2")
                ):
                    await asyncio.sleep(0.3)
                runtime.stop()
                await task
                return killed
            finally:
                await engine.close()

        killed = asyncio.run(main())
    finally:
        stop_peer(proc)
    attempts = {a.attempt_id: a for a in store.attempts("sip2")}
    assert len(attempts) == len(PEOPLE)
    # the conversation the kill cut keeps the agent's outcome, not a network failure
    assert attempts[killed].outcome not in (
        CallOutcome.NETWORK_FAILURE.value,
        CallOutcome.UNKNOWN.value,
        None,
    ), attempts[killed].outcome
    # after the restart the campaign went on: later calls reached the agent again
    later = [a for a in attempts.values() if a.attempt_id != killed and a.connected_at]
    assert later, [a.outcome for a in attempts.values()]
    incoming = [e["number"] for e in peer.events() if e["event"] == "incoming"]
    assert incoming.count(agent) == 2  # the agent's phone leg was opened again
    dialled = [n for n in incoming if n.startswith("+44")]
    assert len(dialled) == len(set(dialled)) == len(PEOPLE)  # nobody dialled twice
