"""The SIP/RTP engine on baresip-python (supervised worker processes)."""
