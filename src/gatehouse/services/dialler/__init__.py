"""The dialler runtime (C3): runs a campaign against a telephony engine, in real or virtual
time. See ``docs/dialler.md``."""
