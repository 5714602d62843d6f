"""Telephony: one engine port (``port``), a clock (``clock``), and the engines behind it.

``simulated`` is a phone network in virtual time; ``sip`` is real SIP/RTP on baresip-python.
Everything above the port (runtime, pacers, compliance) runs unchanged on either.
"""
