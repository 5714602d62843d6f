"""Run one dialler worker with simulated agents on the simulated network until stopped.

This is what ``gatehouse dialler run`` calls, and what the crash and multi-worker tests
start as a subprocess (``python -m gatehouse.services.dialler.worker``), so both exercise the
same code. SIGTERM/SIGINT stop cleanly; SIGKILL is the crash the tests inflict.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import structlog

from gatehouse.adapters.storage.db import make_engine, make_session_factory
from gatehouse.adapters.storage.dialler import DiallerStore
from gatehouse.domain.errors import GatehouseError
from gatehouse.services.dialler.clocks import AnchoredClock, run_virtual
from gatehouse.services.dialler.harness import build_runtime
from gatehouse.services.dialler.runtime import DiallerRuntime
from gatehouse.services.dialler.simnet import Population
from gatehouse.telephony.clock import Clock, RealClock

log = structlog.get_logger("gatehouse.dialler.worker")


@dataclass
class WorkerOptions:
    database_url: str
    campaign_id: str
    agents: int = 10
    speed: float = 1.0
    virtual: bool = False
    start: float | None = None  # clock time at ``anchor`` (accelerated runs)
    anchor: float | None = None  # wall time the accelerated timeline is anchored to
    duration_s: float | None = None  # stop after this much clock time
    call_log: Path | None = None
    worker_id: str | None = None
    seed: int = 1
    agent_prefix: str = "bot"
    metrics_port: int = 0
    talk_median_s: float = 90.0
    script_path: Path | None = None  # a script YAML the bots run through the interview runner
    #: real SIP instead of the simulated network: the trunk (host:port) that routes numbers
    sip_trunk: str | None = None
    organisation: str = "Gatehouse"  # named in the information message
    agent_phone: str = ""  # SIP URI template with {agent}, e.g. sip:{agent}@127.0.0.1:5080
    media_workers: int = 1  # SIP media worker processes (decision 0064)
    recordings_dir: Path = Path("var/recordings")
    master_key_file: Path = Path("var/keys/master.key")


def _clock(opts: WorkerOptions) -> Clock:
    if opts.speed == 1.0:
        return RealClock()
    anchor = opts.anchor if opts.anchor is not None else time.time()
    start = opts.start if opts.start is not None else time.time()
    return AnchoredClock(start, anchor, opts.speed)


async def _run_until_stopped(
    runtime: DiallerRuntime, clock: Clock, opts: WorkerOptions, label: str
) -> None:
    """Run until ``--duration`` or a signal: the first SIGTERM/SIGINT stops dialling and lets
    calls in progress end, a second stops at once."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: runtime.stop(at_once=runtime.stopping))
    print(f"started worker={runtime.worker_id}{label}", flush=True)  # the tests wait for this
    until = clock.now() + opts.duration_s if opts.duration_s is not None else None
    await runtime.run(until=until)


async def _run(opts: WorkerOptions, clock: Clock, store: DiallerStore) -> dict[str, int]:
    script = None
    if opts.script_path is not None:
        from gatehouse.domain.scripts.model import load_script

        script = load_script(opts.script_path.read_text(encoding="utf-8"))
    if opts.sip_trunk:
        return await _run_sip(opts, clock, store, script)
    runtime, network = build_runtime(
        store,
        clock,
        opts.campaign_id,
        agents=opts.agents,
        seed=opts.seed,
        call_log=opts.call_log,
        worker_id=opts.worker_id,
        population=Population(),
        talk_median_s=opts.talk_median_s,
        agent_prefix=opts.agent_prefix,
        script=script,
    )
    if opts.metrics_port:
        from gatehouse.services.dialler.metrics import serve_metrics

        serve_metrics(opts.metrics_port, [runtime])
    await _run_until_stopped(runtime, clock, opts, "")
    await network.close()
    return dict(runtime.stats.outcomes)


async def _run_sip(
    opts: WorkerOptions, clock: Clock, store: DiallerStore, script: object
) -> dict[str, int]:
    """The same runtime on the SIP engine: real calls, real time, encrypted recordings."""
    from gatehouse.adapters.crypto.keys import KeyRing
    from gatehouse.services.dialler import sipnet
    from gatehouse.services.dialler.harness import bot_ids, runtime_on_engine
    from gatehouse.services.dialler.vaultsync import vault_resolver

    if not isinstance(clock, RealClock):
        raise GatehouseError("the SIP engine runs in real time only (no --speed, no --virtual)")
    factory = store.session_factory
    keyring = KeyRing.from_file(opts.master_key_file)
    tenant = sipnet.campaign_tenant(factory, opts.campaign_id)
    resolver = (
        vault_resolver(factory, keyring) if tenant is not None else sipnet.synthetic_sip_resolver
    )
    agents = bot_ids(opts.agents, opts.agent_prefix)
    engine = sipnet.campaign_sip_engine(
        factory,
        keyring,
        store.campaign(opts.campaign_id).config,
        trunk=opts.sip_trunk or "",
        phones=sipnet.agent_phones(agents, opts.agent_phone),
        resolver=resolver,
        tenant=tenant or "default",
        organisation=opts.organisation,
        recordings_dir=opts.recordings_dir,
        prompts_dir=opts.recordings_dir.parent / "prompts",
        media_workers=opts.media_workers,
    )
    await engine.start()
    try:
        runtime = runtime_on_engine(
            store,
            clock,
            opts.campaign_id,
            engine,
            agents=opts.agents,
            seed=opts.seed,
            worker_id=opts.worker_id,
            talk_median_s=opts.talk_median_s,
            agent_prefix=opts.agent_prefix,
            script=script,
        )
        await _run_until_stopped(runtime, clock, opts, " engine=sip")
        return dict(runtime.stats.outcomes)
    finally:
        await engine.close()


def run_worker(opts: WorkerOptions) -> dict[str, int]:
    engine = make_engine(opts.database_url)
    store = DiallerStore(make_session_factory(engine))
    try:
        if opts.virtual:
            start = opts.start if opts.start is not None else time.time()
            return run_virtual(start, lambda clock: _run(opts, clock, store))  # type: ignore[no-any-return]
        return asyncio.run(_run(opts, _clock(opts), store))
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--db", required=True)
    p.add_argument("--campaign", required=True)
    p.add_argument("--agents", type=int, default=10)
    p.add_argument("--speed", type=float, default=1.0)
    p.add_argument("--virtual", action="store_true")
    p.add_argument("--start", type=float)
    p.add_argument("--anchor", type=float)
    p.add_argument("--duration", type=float)
    p.add_argument("--call-log", type=Path)
    p.add_argument("--worker-id")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--agent-prefix", default="bot")
    p.add_argument("--script", type=Path)
    p.add_argument("--talk-median", type=float, default=90.0)
    a = p.parse_args(argv)
    run_worker(
        WorkerOptions(
            database_url=a.db,
            campaign_id=a.campaign,
            agents=a.agents,
            speed=a.speed,
            virtual=a.virtual,
            start=a.start,
            anchor=a.anchor,
            duration_s=a.duration,
            call_log=a.call_log,
            worker_id=a.worker_id,
            seed=a.seed,
            agent_prefix=a.agent_prefix,
            script_path=a.script,
            talk_median_s=a.talk_median,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
