"""Adapters around the domain: storage, crypto, and (under gatehouse.telephony) engines."""
