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

from collections.abc import Iterable
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from gatehouse.adapters.crypto.keys import KeyRing
from gatehouse.domain.dialler.config import CampaignConfig
from gatehouse.services import recordings
from gatehouse.telephony import tts
from gatehouse.telephony.port import DestinationResolver
from gatehouse.telephony.sip.engine import SipEngine, SipEngineConfig


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
    """Synthetic contacts over SIP: the simulated network's drama-range numbers, without its
    internal ``#n`` suffix (not a valid SIP user part)."""
    from gatehouse.services.dialler.harness import synthetic_resolver

    return synthetic_resolver(contact_ref).split("#", 1)[0]


def agent_phones(agent_ids: Iterable[str], template: str) -> dict[str, str]:
    """``template`` like ``sip:{agent}@127.0.0.1:5080``: one SIP URI per agent."""
    if "{agent}" not in template:
        raise ValueError("the agent phone template needs {agent}, e.g. sip:{agent}@host:port")
    return {agent: template.format(agent=agent) for agent in agent_ids}


def campaign_sip_engine(
    factory: sessionmaker[Session],
    keyring: KeyRing,
    config: CampaignConfig,
    *,
    trunk: str,
    phones: dict[str, str],
    resolver: DestinationResolver,
    tenant: str,
    organisation: str,
    recordings_dir: Path,
    prompts_dir: Path,
    media_workers: int = 1,
) -> SipEngine:
    """The SIP engine for one campaign: its information message spoken from the organisation
    and caller ID, recordings encrypted under the tenant's key and catalogued as each one is
    sealed (``services.recordings``)."""
    prompt = information_prompt(
        information_message_text(organisation, config.caller_id), prompts_dir
    )
    recordings_dir.mkdir(parents=True, exist_ok=True)
    engine = SipEngine(
        SipEngineConfig(
            trunk=trunk,
            prompts={config.information_prompt: prompt},
            recordings_dir=recordings_dir,
            tenant=tenant,
            agent_phones=phones,
            media_workers=media_workers,
        ),
        resolver=resolver,
        keys=recordings.engine_key_provider(factory, keyring),
    )
    engine.on_recording_finished(recordings.registrar(factory))
    return engine
