"""Assembling the SIP engine for a dialler campaign: prompts, agent phones and recording keys.

The runtime is the same as on the simulated network (``harness.build_runtime`` takes any
engine); only the engine differs. What a SIP campaign needs on top:

- the information message as audio: generated once from the campaign's text with espeak-ng
  (``telephony.tts``) and cached as 8 kHz mono PCM, the format the media worker plays;
- each agent's phone (a SIP URI the engine calls once and keeps for the shift);
- the tenant key that wraps each recording's own data key (recordings are encrypted while
  they are written; see ``adapters.crypto.recording``), and the recordings catalogue that
  registers each file once the media worker has sealed it (``services.recordings``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from gatehouse.telephony import tts
from gatehouse.telephony.port import DestinationResolver
from gatehouse.telephony.sip.engine import (
    KeyProvider,
    RecordingListener,
    SipEngine,
    SipEngineConfig,
)


def information_message_text(organisation: str, callback_number: str) -> str:
    """Ofcom: who called, and a number to call back or opt out (the presented caller ID)."""
    spoken = " ".join(callback_number.replace("+44", "0"))
    return (
        f"Hello, this is {organisation}. We called you for a short survey and are sorry we "
        f"could not speak to you just now. We will not call you again today. To stop further "
        f"calls, please call {spoken}. Thank you, goodbye."
    )


def information_prompt(text: str, cache: Path) -> Path:
    """The message as a raw 8 kHz s16 file the media worker can play."""
    if not tts.available():
        raise RuntimeError("espeak-ng and sox are needed to speak the information message")
    pcm = tts.speak(text, cache)
    path = cache / "information-message.raw"
    path.write_bytes(pcm)
    return path


def campaign_tenant(factory: sessionmaker[Session], campaign_id: str) -> str | None:
    """The client organisation of a vault-backed campaign (None: synthetic contacts)."""
    from gatehouse.adapters.storage.tables.vault import VaultCampaign

    with factory() as session:
        row = session.get(VaultCampaign, campaign_id)
        return row.tenant if row is not None else None


def synthetic_sip_resolver(contact_ref: str) -> str:
    """Synthetic contacts over SIP: Ofcom drama-range mobiles, routed by the test trunk."""
    n = int(contact_ref.rsplit("-", 1)[-1])
    return f"+447700{900000 + n % 1000:06d}"


def agent_phones(agent_ids: Iterable[str], template: str) -> dict[str, str]:
    """``template`` like ``sip:{agent}@127.0.0.1:5080``: one SIP URI per agent."""
    if "{agent}" not in template:
        raise ValueError("the agent phone template needs {agent}, e.g. sip:{agent}@host:port")
    return {agent: template.format(agent=agent) for agent in agent_ids}


def build_sip_engine(
    *,
    trunk: str,
    phones: dict[str, str],
    resolver: DestinationResolver,
    keys: KeyProvider,
    recordings_dir: Path,
    tenant: str,
    prompt_id: str,
    prompt_file: Path,
    on_recording: RecordingListener | None = None,
    clock_now: Callable[[], float] | None = None,
) -> SipEngine:
    config = SipEngineConfig(
        trunk=trunk,
        prompts={prompt_id: prompt_file},
        recordings_dir=recordings_dir,
        tenant=tenant,
        agent_phones=phones,
    )
    recordings_dir.mkdir(parents=True, exist_ok=True)
    engine = (
        SipEngine(config, resolver=resolver, keys=keys)
        if clock_now is None
        else SipEngine(config, resolver=resolver, keys=keys, clock_now=clock_now)
    )
    if on_recording is not None:
        engine.on_recording_finished(on_recording)
    return engine
