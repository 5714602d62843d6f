"""Crypto adapter: master key file, per-tenant data keys, AES-GCM."""
