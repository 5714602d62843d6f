"""Agent web API under load: N concurrent simulated agent sessions over loopback.

Each simulated agent signs in through ``/api/v1/auth/login``, signs on, goes ready, and
long-polls ``/api/v1/agent/desk/wait``; when a call appears it records the time from the
call being answered (``call.connected_at``, the runtime's clock, same machine) to its screen
showing it, answers every script question with the first valid option, sets the outcome and
goes ready again. Bounded in agents and seconds.

The server runs in a child process (a demo site with N agent logins, no simulated agents, on
the simulated network in real time), so client and server do not share one interpreter.
Sign-in (argon2, deliberately slow) happens before the measured window.

Baseline (same run): ``GET /healthz`` at the same concurrency, i.e. the HTTP stack alone; the
table prints the agent API's requests/s as a ratio of it.

    python bench/web.py                      # hosts its own demo (N agent accounts) and runs
    python bench/web.py --agents 200 --seconds 60
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

console = Console()


@dataclass
class Stats:
    latencies: list[float] = field(default_factory=list)
    requests: int = 0
    calls: int = 0
    errors: int = 0
    error_kinds: dict[str, int] = field(default_factory=dict)


def _answer_values(question: dict[str, Any]) -> list[str]:
    kind = question["kind"]
    options = [
        o for o in question.get("options", []) if not o.get("special") and not o.get("other")
    ]
    if kind in ("single", "yesno", "rating") and options:
        return [options[0]["code"]]
    if kind == "multi" and options:
        return [options[0]["code"]]
    if kind == "grid" and options:
        return [f"{item[0]}={options[0]['code']}" for item in question.get("items", [])]
    if kind == "numeric":
        low = question.get("minimum")
        return [str(int(low) if low is not None else 1)]
    if kind == "text":
        return ["It was fine"]
    return []


async def _post(client: httpx.AsyncClient, stats: Stats, path: str, body: Any = None) -> Any:
    stats.requests += 1
    response = await client.post(path, json=body if body is not None else {})
    if response.status_code >= 400:
        stats.errors += 1
        kind = (
            f"{response.status_code} {response.json().get('error', '')} {path.rsplit('/', 1)[-1]}"
        )
        stats.error_kinds[kind] = stats.error_kinds.get(kind, 0) + 1
        return None
    return response.json()


async def login(base: str, username: str, password: str, gate: asyncio.Semaphore) -> str:
    async with gate, httpx.AsyncClient(base_url=base, timeout=60) as client:
        response = await client.post(
            "/api/v1/auth/login", json={"username": username, "password": password}
        )
        response.raise_for_status()
        return str(response.json()["token"])


async def agent_session(base: str, token: str, deadline: float, stats: Stats) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        client.headers["Authorization"] = f"Bearer {token}"
        await _post(client, stats, "/api/v1/agent/sign-on")
        desk = await _post(client, stats, "/api/v1/agent/ready")
        seen: set[str] = set()
        version = desk["version"] if desk else 0
        while time.time() < deadline:
            stats.requests += 1
            response = await client.get("/api/v1/agent/desk/wait", params={"after": version})
            if response.status_code != 200:
                stats.errors += 1
                continue
            desk = response.json()
            version = desk["version"]
            call = desk.get("call")
            if call and call["call_ref"] not in seen:
                seen.add(call["call_ref"])
                stats.latencies.append(time.time() - call["connected_at"])
                stats.calls += 1
            if call:
                while call and not call["finished"] and call.get("question"):
                    q = call["question"]
                    desk = await _post(
                        client,
                        stats,
                        "/api/v1/agent/answer",
                        {
                            "call_ref": call["call_ref"],
                            "question_id": q["question_id"],
                            "values": _answer_values(q),
                        },
                    )
                    if desk is None:
                        break
                    call = desk.get("call")
                if call:
                    # the interview's own ending decides (a "no" to consent screens out)
                    outcome = call.get("suggested_outcome") or (
                        "complete" if call["finished"] else "partial"
                    )
                    desk = await _post(
                        client,
                        stats,
                        "/api/v1/agent/finish",
                        {"call_ref": call["call_ref"], "outcome": outcome},
                    )
            if desk and desk["state"] in ("wrap_up", "paused"):
                desk = await _post(client, stats, "/api/v1/agent/ready")
            if desk:
                version = desk["version"]


async def baseline(base: str, concurrency: int, seconds: float) -> float:
    count = 0
    deadline = time.time() + seconds

    async def worker() -> None:
        nonlocal count
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            while time.time() < deadline:
                (await client.get("/healthz")).raise_for_status()
                count += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return count / (time.perf_counter() - started)


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[k]


async def run(base: str, accounts: list[tuple[str, str]], seconds: float) -> None:
    stats = Stats()
    gate = asyncio.Semaphore(8)  # sign-in is argon2 work by design; not what we measure
    tokens = await asyncio.gather(*(login(base, u, p, gate) for u, p in accounts))
    console.print(f"{len(tokens)} agents signed in; working for {seconds:.0f} s")
    deadline = time.time() + seconds
    started = time.perf_counter()
    await asyncio.gather(*(agent_session(base, t, deadline, stats) for t in tokens))
    elapsed = time.perf_counter() - started
    base_rps = await baseline(base, len(accounts), min(10.0, seconds / 3))
    rps = stats.requests / elapsed
    table = Table(title=f"Agent web API, {len(accounts)} concurrent agents, {seconds:.0f} s")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row("calls shown to agents", str(stats.calls))
    table.add_row("answer -> screen p50 (ms)", f"{1000 * percentile(stats.latencies, 50):.1f}")
    table.add_row("answer -> screen p99 (ms)", f"{1000 * percentile(stats.latencies, 99):.1f}")
    table.add_row(
        "answer -> screen mean (ms)",
        f"{1000 * statistics.fmean(stats.latencies):.1f}" if stats.latencies else "n/a",
    )
    table.add_row("agent API requests/s", f"{rps:.0f}")
    table.add_row("baseline GET /healthz requests/s", f"{base_rps:.0f}")
    table.add_row("ratio agent API / baseline", f"{rps / base_rps:.2f}")
    table.add_row("errors", str(stats.errors))
    for kind, n in sorted(stats.error_kinds.items(), key=lambda kv: -kv[1])[:5]:
        table.add_row(f"  {kind}", str(n))
    console.print(table)
    p99 = percentile(stats.latencies, 99)
    verdict = "[green]PASS[/green]" if p99 < 0.25 else "[red]FAIL[/red]"
    console.print(f"target p99 < 250 ms: {verdict}")


def serve_only(agents: int, port: int, accounts_file: Path) -> None:
    """Child process: build a demo site with ``agents`` agent logins and serve it."""
    import tempfile

    import uvicorn

    from gatehouse.cli.demo import build_demo

    with tempfile.TemporaryDirectory(prefix="gatehouse-bench-") as tmp:
        system = build_demo(Path(tmp) / "site", contacts=13_000, bots=0, extra_agents=agents)
        logins = [(x.username, x.password) for x in system.agent_logins]
        accounts_file.write_text(json.dumps(logins))
        uvicorn.run(system.app(), host="127.0.0.1", port=port, log_level="warning")


def hosted(agents: int) -> tuple[subprocess.Popen[bytes], str, list[tuple[str, str]]]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    accounts_file = Path(tempfile.mkdtemp(prefix="gatehouse-bench-")) / "accounts.json"
    child = subprocess.Popen(
        [
            sys.executable,
            __file__,
            "--serve-only",
            "--agents",
            str(agents),
            "--port",
            str(port),
            "--accounts-file",
            str(accounts_file),
        ],
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while time.time() < deadline:
        if child.poll() is not None:
            raise SystemExit("the bench server exited")
        try:
            if accounts_file.exists() and httpx.get(url + "/healthz", timeout=2).status_code == 200:
                return child, url, [tuple(x) for x in json.loads(accounts_file.read_text())]
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    child.terminate()
    raise SystemExit("the bench server did not start in 120 s")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--url", default="", help="use a running server instead of hosting one")
    parser.add_argument("--user-prefix", default="benchagent")
    parser.add_argument("--password", default="")
    parser.add_argument("--serve-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--accounts-file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.agents > 500 or args.seconds > 300:
        parser.error("bounded: at most 500 agents and 300 s")
    if args.serve_only:
        serve_only(args.agents, args.port, args.accounts_file)
        return
    if args.url:
        accounts = [(f"{args.user_prefix}{i:03d}", args.password) for i in range(args.agents)]
        asyncio.run(run(args.url, accounts, args.seconds))
        return
    child, url, accounts = hosted(args.agents)
    try:
        asyncio.run(run(url, accounts, args.seconds))
    finally:
        child.send_signal(signal.SIGINT)
        try:
            child.wait(timeout=20)
        except subprocess.TimeoutExpired:
            child.kill()


if __name__ == "__main__":
    main()
