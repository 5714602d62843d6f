"""The key hierarchy: a master key file, and per-tenant keys wrapped by it in the database.

- The master key (32 random bytes) lives in a file created at setup with mode 0600, outside
  the database, so a copy of the database alone decrypts nothing.
- Each tenant (client organisation) has a data key (AES-256-GCM, for contact PII and for
  wrapping recording keys) and an HMAC key (for matching numbers against suppressions and
  duplicates without storing them in clear), both wrapped by the master key.
Rotation is described in docs/vault.md.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import select
from sqlalchemy.orm import Session

from gatehouse.adapters.storage.tables.vault import TenantKey
from gatehouse.domain.errors import GatehouseError


class KeyError_(GatehouseError):
    error_id = "key-error"


def ensure_master_key(path: Path) -> bytes:
    """Read the master key, creating it (mode 0600, never overwritten) on first use."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process created it first: read theirs
        else:
            with os.fdopen(fd, "wb") as f:
                f.write(secrets.token_bytes(32))
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise KeyError_(
            f"master key file {path} is readable by others (mode {oct(mode)}); chmod 600 it"
        )
    key = path.read_bytes()
    if len(key) != 32:
        raise KeyError_(f"master key file {path} is not a 32-byte key")
    return key


def seal(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    return Sealer(key).seal(plaintext, aad)


class Sealer:
    """``seal`` under one key, many times (an import seals a blob per row): the AES-GCM
    key schedule is set up once. Each blob still gets its own random 96-bit nonce."""

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def seal(self, plaintext: bytes, aad: bytes) -> bytes:
        nonce = secrets.token_bytes(12)
        return nonce + self._aead.encrypt(nonce, plaintext, aad)


def unseal(key: bytes, blob: bytes, aad: bytes) -> bytes:
    try:
        return AESGCM(key).decrypt(blob[:12], blob[12:], aad)
    except InvalidTag:
        raise KeyError_("ciphertext does not authenticate (wrong key or tampered data)") from None


class KeyRing:
    """Per-tenant keys, unwrapped on demand and cached for this process."""

    def __init__(self, master_key: bytes) -> None:
        self._master = master_key
        self._cache: dict[tuple[str, str], bytes] = {}

    @classmethod
    def from_file(cls, path: Path) -> KeyRing:
        return cls(ensure_master_key(path))

    def _keys(self, session: Session, tenant: str) -> TenantKey:
        row = session.scalars(select(TenantKey).where(TenantKey.tenant == tenant)).one_or_none()
        if row is None:
            row = TenantKey(
                tenant=tenant,
                version=1,
                wrapped_data_key=seal(
                    self._master, secrets.token_bytes(32), f"data|{tenant}|1".encode()
                ),
                wrapped_hmac_key=seal(
                    self._master, secrets.token_bytes(32), f"hmac|{tenant}|1".encode()
                ),
            )
            session.add(row)
            session.flush()
        return row

    def data_key(self, session: Session, tenant: str) -> bytes:
        if (tenant, "data") not in self._cache:
            row = self._keys(session, tenant)
            self._cache[(tenant, "data")] = unseal(
                self._master, row.wrapped_data_key, f"data|{tenant}|{row.version}".encode()
            )
        return self._cache[(tenant, "data")]

    def hmac_key(self, session: Session, tenant: str) -> bytes:
        if (tenant, "hmac") not in self._cache:
            row = self._keys(session, tenant)
            self._cache[(tenant, "hmac")] = unseal(
                self._master, row.wrapped_hmac_key, f"hmac|{tenant}|{row.version}".encode()
            )
        return self._cache[(tenant, "hmac")]
