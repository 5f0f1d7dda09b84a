"""Tunable policy of one deployment. Defaults are production values; tests lower costs explicitly."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any


@dataclass(frozen=True)
class Settings:
    # Password KDF (scrypt). N = 2**scrypt_log_n.
    scrypt_log_n: int = 17
    scrypt_r: int = 8
    scrypt_p: int = 1
    # Sign-in
    max_failed_logins: int = 5
    lockout_minutes: int = 15
    session_idle_seconds: int = 300
    idle_warning_seconds: int = 60
    # OTP
    otp_ttl_seconds: int = 300
    otp_max_tries: int = 3
    otp_resend_interval_seconds: int = 30
    otp_max_resends: int = 3
    otp_max_per_hour: int = 10  # codes issued to one member per hour, against guessing by re-requesting
    affiliation_window_seconds: int = 600
    # Delivery: "outbox" (embedded) or "http" (SMS gateway)
    otp_channel: str = "outbox"
    sms_gateway_url: str = ""
    sms_gateway_token: str = ""
    sms_timeout_seconds: float = 5.0
    # Transfers: limits in cents, per transaction and per day, by kind
    limit_propia_tx: int = 10_000_00
    limit_propia_daily: int = 20_000_00
    limit_terceros_tx: int = 2_000_00
    limit_terceros_daily: int = 5_000_00
    limit_interbancaria_tx: int = 1_500_00
    limit_interbancaria_daily: int = 3_000_00
    interbank_fee: int = 30  # cents, charged per interbank transfer
    refund_fee_on_return: bool = True
    # Clearing gateway: "simulated" (embedded) or "http"
    clearing_gateway: str = "simulated"
    clearing_url: str = ""
    clearing_token: str = ""
    clearing_timeout_seconds: float = 10.0
    clearing_settle_seconds: int = 30  # the simulated network settles this long after sending
    clearing_retry_seconds: int = 60
    # Files
    export_dir: str = ""

    def with_overrides(self, values: dict[str, Any]) -> "Settings":
        """Apply a dict of overrides (from TOML, env or flags), coercing to each field's type."""
        known = {f.name: f for f in fields(self)}
        changes: dict[str, Any] = {}
        for key, value in values.items():
            if key not in known:
                raise ValueError(f"opción de configuración desconocida: {key}")
            current = getattr(self, key)
            if isinstance(current, bool):
                changes[key] = value if isinstance(value, bool) else str(value).lower() in ("1", "true", "sí", "si", "yes")
            elif isinstance(current, int):
                changes[key] = int(value)
            elif isinstance(current, float):
                changes[key] = float(value)
            else:
                changes[key] = str(value)
        return replace(self, **changes)
