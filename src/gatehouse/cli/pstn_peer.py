"""``gatehouse pstn-peer``: a test PSTN peer on loopback (see telephony/sip/pstn_peer.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="A test PSTN peer: answers SIP calls like the public would.")


@app.callback(invoke_without_command=True)
def run(
    config: Annotated[Path, typer.Option("--config", exists=True, dir_okay=False, help="YAML.")],
    listen: Annotated[str | None, typer.Option(help="Listen address, e.g. 127.0.0.1:5080.")] = None,
) -> None:
    """Answer calls until interrupted (SIGINT/SIGTERM)."""
    from gatehouse.telephony.sip.pstn_peer import PeerConfig, serve

    cfg = PeerConfig.load(config)
    if listen:
        cfg = cfg.model_copy(update={"listen": listen})
    if not cfg.listen.startswith(("127.", "localhost", "[::1]")):
        raise typer.BadParameter("the test peer listens on loopback only", param_hint="--listen")
    asyncio.run(serve(cfg))
