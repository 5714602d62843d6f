"""``gatehouse demo --engine sip``: the demo site with its calls over real SIP on loopback.

Built by the same ``build_demo`` the command uses, served by uvicorn on a free port: the
web app's start brings up the PSTN peer (a child process) and the SIP engine (its media
worker), the runtime dials through them, and a supervisor signed in over HTTP sees attempts
and connects on the wallboard. Stopping the server (what Ctrl-C does) leaves no child
process behind. Missing espeak-ng/sox or baresip is refused with exit 2.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from tests.e2e.web.conftest import serve_in_thread


def _children() -> set[int]:
    """Pids of this process's children still in the process table (zombies included)."""
    me = str(os.getpid())
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if stat.rsplit(")", 1)[1].split()[1] == me:
            found.add(int(entry.name))
    return found


def _sign_in(client: httpx.Client, username: str, password: str) -> None:
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token, page.text[:500]
    response = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text[:500]


@pytest.mark.sip
@pytest.mark.slow
@pytest.mark.timeout(120)
def test_demo_over_sip_shows_calls_flowing_and_stops_its_children(tmp_path: Path) -> None:
    pytest.importorskip("baresip")
    from gatehouse.cli.demo import CAMPAIGN_ID, build_demo
    from gatehouse.cli.demo_sip import missing_for_sip

    if missing_for_sip() is not None:
        pytest.skip(str(missing_for_sip()))
    before = _children()
    system = build_demo(tmp_path / "demo", contacts=300, bots=4, engine="sip")
    line = system.sip
    assert line is not None
    assert line.peer.proc is None, "nothing is started before the web app starts"
    supervisor, security = (
        next(login for login in system.logins if login.username == name)
        for name in ("supervisor", "security")
    )
    live = serve_in_thread(system.app())
    try:
        started = _children() - before
        assert line.peer.proc is not None and line.peer.proc.pid in started
        assert line.engine.worker_pid in started
        board: dict[str, Any] = {}
        with httpx.Client(base_url=live.url, timeout=10) as client:
            _sign_in(client, supervisor.username, supervisor.password)
            deadline = time.monotonic() + 45
            while time.monotonic() < deadline:
                board = client.get("/api/v1/supervisor/wallboard").json()
                (row,) = [c for c in board["campaigns"] if c["campaign_id"] == CAMPAIGN_ID]
                if row["attempts_24h"] >= 3 and row["connects_24h"] >= 1:
                    break
                time.sleep(1.0)
            else:
                raise AssertionError(f"no calls flowing on the wallboard: {board}")
            page = client.get("/supervisor")
            assert page.status_code == 200 and "Home insurance satisfaction 2026" in page.text
        # a finished call's recording is sealed, catalogued and listed for the security officer
        with httpx.Client(base_url=live.url, timeout=10) as client:
            _sign_in(client, security.username, security.password)
            listed: set[str] = set()
            deadline = time.monotonic() + 40
            while not listed and time.monotonic() < deadline:
                page = client.get("/security/recordings")
                assert page.status_code == 200
                listed = set(re.findall(r'href="/security/recordings/([0-9a-f]{32})"', page.text))
                time.sleep(1.0)
            assert listed, "no recording reached the Recordings page"
        on_disk = {p.stem for p in (tmp_path / "demo" / "recordings").glob("*.ghrec")}
        assert listed <= on_disk
        assert any(a["state"] in ("on_call", "wrap_up") for a in board["agents"]), board
        # the far end saw the calls: contacts dialled by E.164 number, the bots' headsets
        incoming = [e for e in line.peer.events() if e["event"] == "incoming"]
        dialled = [e["number"] for e in incoming if str(e["number"]).startswith("+44")]
        assert len(dialled) >= 3 and len(dialled) == len(set(dialled)), incoming
        assert any(str(e["number"]).startswith("sim-") for e in incoming), incoming
        assert any(e["event"] == "answered" for e in line.peer.events())
        assert not list((tmp_path / "demo").glob("pstn-peer-heard/*.wav")), "demo keeps no WAVs"
    finally:
        live.stop()
    assert not live.thread.is_alive()
    assert line.peer.proc is None and line.engine.worker_pid is None
    assert _children() - before == set(), "the peer or the media worker outlived the demo"


def test_demo_engine_sip_without_its_tools_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gatehouse.cli import main
    from gatehouse.telephony import tts

    monkeypatch.setattr(tts, "available", lambda: False)
    result = CliRunner().invoke(
        main.app, ["demo", "--engine", "sip", "--data-dir", str(tmp_path / "demo")]
    )
    assert result.exit_code == 2, result.output
    assert "espeak-ng and sox" in " ".join(result.output.split())
    assert not (tmp_path / "demo").exists(), "refused before anything was built"


def test_demo_peer_answers_a_realistic_mix_and_plays_every_agents_headset() -> None:
    from gatehouse.cli.demo_sip import contact_numbers, peer_numbers

    numbers = contact_numbers(10_000)
    assert len(set(numbers)) == 10_000 and all(n.startswith("+44") for n in numbers)
    config = peer_numbers(numbers, ["u-1", "sim-01"])
    kinds = [config[n]["behaviour"] if n in config else "person" for n in numbers]
    shares = {k: kinds.count(k) / len(kinds) for k in ("busy", "no_answer", "machine", "person")}
    assert 0.04 < shares["busy"] < 0.08 and 0.10 < shares["no_answer"] < 0.14, shares
    assert 0.08 < shares["machine"] < 0.12 and shares["person"] > 0.65, shares
    # the first hundred contacts already hold each kind (the mix shows from the start)
    assert {"busy", "no_answer", "machine", "person"} <= set(kinds[:100])
    for agent in ("u-1", "sim-01"):
        assert config[agent]["behaviour"] == "person"
        assert float(str(config[agent]["hangup_after_s"])) >= 600
    assert peer_numbers(numbers, []) == peer_numbers(numbers, [])  # seeded: same every start
