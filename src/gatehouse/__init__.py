"""Gatehouse: a secure contact-centre and telephony platform for prisons."""

__version__ = "0.1.0"
