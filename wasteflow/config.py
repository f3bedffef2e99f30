"""Settings, read once from the environment (prefix ``WASTEFLOW_``) or a ``.env`` file."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WASTEFLOW_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default="sqlite:///wasteflow.db",
        description="SQLAlchemy URL; postgresql+psycopg://… for PostgreSQL.",
    )
    host: str = "127.0.0.1"
    port: int = 8000
    # Where keys and other local state live when the database is SQLite (beside the file).
    state_dir: Path | None = None
    secret_key: str | None = Field(
        default=None,
        description="Encrypts QR signing keys at rest. Generated into state_dir when unset.",
    )
    qr_base_url: str = Field(
        default="https://wf.wulong.example",
        description="URL prefix printed in QR payloads (not signed: the domain may move).",
    )
    timezone: str = Field(
        default="Asia/Shanghai",
        description="Local time zone: a handover counts for the local day it was recorded.",
    )
    token_ttl_hours: int = 24 * 30
    # Password hashing cost (argon2id). Tests lower it; production keeps the defaults.
    argon2_time_cost: int = 2
    argon2_memory_kib: int = 19_456

    # Handover rules (issue 3): all configurable per deployment.
    scan_distance_flag_m: float = 500.0
    device_time_skew_s: int = 300
    device_time_window_days: int = 30
    receipt_tolerance: float = Field(
        default=0.05, description="Declared vs received mass difference flagged above this ratio."
    )
    batch_max_items: int = 5000
    # Password guesses (services/logins.py): free failures per account name and per client
    # address, then locks of 30 s doubling to at most login_max_lock_s.
    login_account_free_failures: int = 5
    login_address_free_failures: int = 20
    login_max_lock_s: int = 900
    login_forget_after_s: int = 900
    # Request bodies are refused above these sizes before they are read (api/guard.py).
    max_body_bytes: int = Field(default=1 << 20, description="Largest request body (bytes).")
    max_batch_body_bytes: int = Field(
        default=8 << 20, description="Largest outbox sent to POST /api/v1/handovers/batch."
    )
    max_import_body_bytes: int = Field(
        default=32 << 20,
        description="Largest ledger uploaded to POST /api/v1/imports (or the dashboard's "
        "import page): 100,000 rows of CSV fit in about 12 MB.",
    )
    cache_ttl_s: float = Field(
        default=30.0,
        description="How long a worker trusts cached sites, materials and account bindings.",
    )
    stock_dwell_days: int = 90
    # Signed checkpoints of the audit chain (services/checkpoints.py).
    audit_key_file: Path | None = Field(
        default=None,
        description="Ed25519 key (PEM) signing audit checkpoints; kept out of the database. "
        "Default: wasteflow-audit.key in state_dir, or beside the SQLite file.",
    )
    audit_checkpoint_every_s: int = Field(
        default=3600,
        description="The server signs a checkpoint this often while the chain grows (0: never).",
    )


@lru_cache
def get_settings() -> Settings:
    return Settings()
