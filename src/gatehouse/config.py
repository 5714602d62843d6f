"""Typed settings, read once from the environment (prefix ``GATEHOUSE_``).

Defaults are the embedded ones: SQLite in ``./var/gatehouse.db``, the simulated
phone network, keys under ``./var/keys``. Secrets are redacted in ``repr``.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GATEHOUSE_", extra="ignore")

    data_dir: Path = Path("var")
    database_url: str = ""
    master_key_file: Path | None = None
    default_region: str = "GB"
    engine: str = Field(default="simulated", pattern="^(simulated|sip)$")
    session_secret: SecretStr = SecretStr("")
    host: str = "127.0.0.1"
    port: int = 8000
    # Cookies are marked Secure unless explicitly disabled for plain-HTTP loopback dev.
    secure_cookies: bool = True

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'gatehouse.db').as_posix()}"

    def resolved_master_key_file(self) -> Path:
        return self.master_key_file or (self.data_dir / "keys" / "master.key")


def get_settings() -> Settings:
    return Settings()
