"""Tunable policy of one deployment. Defaults are production values; tests lower costs explicitly.

Settings check themselves when built (`__post_init__`): a wrong type, an unknown choice or a value out
of range is a `SettingsError` naming the key, at start-up rather than at the first SMS or settlement.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from typing import Any, TypeVar, dataclass_transform

TRUE_WORDS = ("1", "true", "sí", "si", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off")


class SettingsError(ValueError):
    """A configuration value that cannot work; the message names the key (Spanish, for the operator)."""


_T = TypeVar("_T")


@dataclass_transform(frozen_default=True)
def _policy(cls: type[_T]) -> type[_T]:
    """`@dataclass(frozen=True)` as the type checker and every caller see it, but its `__init__`, `__repr__`,
    `__eq__` and `__hash__` are the ones below, written once for any number of fields: the dataclass module
    writes and compiles them for ~90 fields at every start, a sixth of what the sign-in's own modules cost
    to import (start-up time). Every field has a plain default (no `field()`)."""
    cls = dataclass(frozen=True, init=False, repr=False, eq=False)(cls)
    defaults = tuple((f.name, f.default) for f in fields(cls))  # type: ignore[arg-type]
    names = tuple(name for name, _ in defaults)
    known = frozenset(names)
    put = object.__setattr__

    def __init__(self: Any, *args: Any, **values: Any) -> None:
        if len(args) > len(names):
            raise TypeError(f"{cls.__name__}.__init__() takes from 1 to {len(names) + 1} positional arguments "
                            f"but {len(args) + 1} were given")
        for name, value in zip(names, args):
            if name in values:
                raise TypeError(f"{cls.__name__}.__init__() got multiple values for argument '{name}'")
            values[name] = value
        for name in values:
            if name not in known:
                raise TypeError(f"{cls.__name__}.__init__() got an unexpected keyword argument '{name}'")
        for name, default in defaults:
            put(self, name, values.get(name, default))
        self.__post_init__()

    def __repr__(self: Any) -> str:
        return f"{cls.__qualname__}({', '.join(f'{name}={getattr(self, name)!r}' for name in names)})"

    def values(self: Any) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in names)

    def __eq__(self: Any, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return bool(values(self) == values(other))

    def __hash__(self: Any) -> int:
        return hash(values(self))

    for method in (__init__, __repr__, __eq__, __hash__):
        method.__qualname__ = f"{cls.__qualname__}.{method.__name__}"
        setattr(cls, method.__name__, method)
    return cls


@_policy
class Settings:
    """One deployment's policy (its own docstring also spares `dataclass` building one from the signature)."""

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
    # -- hardening: the co-op's time zone, outside systems, log file
    timezone: str = "America/Guayaquil"  # every time shown, printed or exported is in this zone
    clearing_max_attempts: int = 20  # unanswered this often, a transfer is flagged for staff
    delivery_max_attempts: int = 10  # same for a queued SMS to a member
    delivery_retry_seconds: int = 30  # first retry of a failed SMS; doubles each time (up to an hour)
    log_dir: str = ""  # default: the user log directory (platformdirs)
    # -- cajeros
    staff_idle_seconds: int = 180  # staff sessions end sooner than members' when left alone
    teller_approval_threshold: int = 2_000_00  # cash withdrawals above this wait for a supervisor
    till_max_opening: int = 50_000_00
    teller_max_operation: int = 100_000_00
    backoffice_approval_threshold: int = 10_000_00  # product requests above this need a second person
    # -- tarjetas: the card cycle, payments and deferrals
    card_due_days: int = 15  # fecha máxima de pago = fecha de corte + this many days
    card_minimum_share_bp: int = 1000  # pago mínimo: this share of the revolving capital (basis points) + cuotas + interest
    card_deferral_terms: str = "3,6,9,12,18,24,36"  # plazos offered for a diferido, in months
    card_deferral_min: int = 10_00  # cents: the smallest amount that can be deferred
    card_payment_tx: int = 5_000_00  # cents: the most one card payment can be
    card_other_bank_fee: int = 30  # cents, per payment of another institution's card (interbank clearing)
    card_cycle_seconds: int = 300  # the worker's background pass closes due card cycles this often
    # -- operations: how long a prepared operation waits for its code
    operation_ttl_seconds: int = 900
    # -- hardening: secrets, guessing budget
    secret_key_file: str = ""  # "" = COOPROGRESO_SECRET_KEY_FILE, else keys.json in the config directory
    affiliation_max_per_day: int = 3  # affiliation codes per cédula per 24 hours
    # -- servicios
    services_gateway: str = "simulated"  # recaudaciones: "simulated" (embedded) or "http"
    services_url: str = ""
    services_token: str = ""
    services_timeout_seconds: float = 8.0
    services_retries: int = 2  # extra tries of one request after a timeout or a 5xx
    services_retry_seconds: int = 300  # a payment with no answer is sent again (same key) after this
    services_presentment_minutes: int = 15  # a consulta de deuda is valid for this long
    limit_servicios_daily: int = 1_500_00  # cents a member may pay in services per day (by hand)
    scheduled_retries: int = 3  # insufficient funds: tries on the following business days
    scheduled_run_hour: int = 6  # scheduled payments run from this hour of their day
    scheduled_every_seconds: int = 60  # the worker's background pass
    scheduled_lease_seconds: int = 300  # a runner that dies leaves its claims for this long
    # -- contacto
    reclamo_response_days: int = 15  # the regulator's maximum time to answer a reclamo, calendar days
    contact_max_messages_per_day: int = 10  # «Escríbenos» messages one member may send per day
    loan_income_share_pct: int = 30  # a loan's cuota may take at most this share of declared monthly income
    deposit_insurance_ceiling: int = 32_000_00  # cents: the deposit-insurance (COSEDE) cover per depositor; a deployment confirms it
    # -- solicita tus productos
    card_limit_income_multiple: int = 3  # a credit card's cupo may be at most this many times declared monthly income
    # -- cajeros: declaración de licitud de fondos
    cash_declaration_threshold: int = 10_000_00  # cents: a member's cash deposits of a day from this amount declare their origin
    # -- atención al socio: registro (know your member)
    opening_deposit_min: int = 20_00  # cents: the smallest cash opening deposit (the co-op's own policy, not a legal figure)
    # -- cierre del día
    end_of_day_wait_seconds: int = 60  # the close waits this long for claimed work of its day, then refuses naming it
    # -- tasas máximas
    rate_table_max_age_days: int = 45  # the BCE publishes the caps monthly: a newest row older than this is warned
    # -- the background worker (`cooprogreso worker`, backend/core/worker_lease.py)
    worker_lease_seconds: int = 30  # a worker silent this long is presumed dead: a standby takes over
    settle_every_seconds: int = 15  # the worker's interbank settlement pass
    deliver_every_seconds: int = 5  # the worker's SMS delivery pass
    # -- sessions that end (issue 20)
    idle_exit_grace_seconds: int = 60  # the app exits when nobody typed for session_idle_seconds + this
    # -- guessing budget (README «Presupuesto de adivinanza de códigos»): guessing is limited, not use
    otp_window_seconds: int = 900  # the short window of the first limit
    otp_max_per_window: int = 12  # wrong codes typed + codes sent and not used, per member in the window
    otp_max_failures_per_day: int = 30  # wrong codes typed per member per 24 hours
    otp_max_unused_per_day: int = 60  # codes sent and not used per member per 24 hours (SMS to their phone)
    # -- papers (issue 22): statements and receipts as PDF
    coop_name: str = "Cooperativa de Ahorro y Crédito Cooprogreso"  # printed on every statement and paper receipt
    coop_ruc: str = ""  # the co-op's RUC (13 digits, checked): never invented here; unset, papers print no RUC
    print_command: str = "lp"  # CUPS' client; each agency's printer is `agencies.printer`
    # -- centro de seguridad (issue 22): how long sign-ins are kept (backend/security/security_center.py)
    sign_in_retention_days: int = 400  # members see their recent ones; auditors need a year: at least 366

    def __post_init__(self) -> None:
        validate(self)

    def with_overrides(self, values: dict[str, Any]) -> Settings:
        """Apply a dict of overrides (from TOML, env or flags), coercing to each field's type."""
        known = {f.name: f for f in fields(self)}
        changes: dict[str, Any] = {}
        for key, value in values.items():
            if key not in known:
                raise ValueError(f"opción de configuración desconocida: {key}")
            changes[key] = _coerce(key, getattr(self, key), value)
        return replace(self, **changes)


def _coerce(key: str, current: Any, value: Any) -> Any:
    """A TOML value, environment string or flag as the field's type; anything else names the key."""
    if isinstance(current, bool):
        if isinstance(value, bool):
            return value
        word = str(value).strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise SettingsError(f"{key}: «{value}» no es un valor sí/no (usa true o false)")
    if isinstance(current, (int, float)):
        kind = int if isinstance(current, int) else float
        if isinstance(value, bool) or (isinstance(value, float) and kind is int and not value.is_integer()):
            raise SettingsError(f"{key}: «{value}» no es un número {'entero' if kind is int else ''}".rstrip())
        try:
            number = kind(str(value).strip()) if isinstance(value, str) else kind(value)
        except (TypeError, ValueError):
            raise SettingsError(f"{key}: «{value}» no es un número{' entero' if kind is int else ''}") from None
        if not math.isfinite(number):  # «nan» compares false with both ends of any range, so no range refuses it
            raise SettingsError(f"{key}: «{value}» no es un número")
        return number
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise SettingsError(f"{key}: se esperaba un texto, no «{value}»")
    return str(value)


# Enumerated values; sections add their own entries next to their settings.
CHOICES: dict[str, tuple[str, ...]] = {
    "otp_channel": ("outbox", "http"),
    "clearing_gateway": ("simulated", "http"),
    "services_gateway": ("simulated", "http"),
}
# Inclusive (low, high); None is unbounded.
RANGES: dict[str, tuple[float | None, float | None]] = {
    "scrypt_log_n": (1, 24), "scrypt_r": (1, 64), "scrypt_p": (1, 16),
    "max_failed_logins": (1, 100), "lockout_minutes": (0, None),
    "session_idle_seconds": (1, None), "idle_warning_seconds": (0, None),
    "otp_ttl_seconds": (1, None), "otp_max_tries": (1, 10), "otp_resend_interval_seconds": (0, None),
    "otp_max_resends": (0, 100), "affiliation_window_seconds": (1, None),
    "sms_timeout_seconds": (0.01, 300), "clearing_timeout_seconds": (0.01, 300),
    "limit_propia_tx": (1, None), "limit_propia_daily": (1, None),
    "limit_terceros_tx": (1, None), "limit_terceros_daily": (1, None),
    "limit_interbancaria_tx": (1, None), "limit_interbancaria_daily": (1, None),
    "interbank_fee": (0, None), "clearing_settle_seconds": (0, None), "clearing_retry_seconds": (0, None),
    "clearing_max_attempts": (1, 10_000), "delivery_max_attempts": (1, 10_000),
    "delivery_retry_seconds": (0, None),
    "staff_idle_seconds": (1, None), "teller_approval_threshold": (1, None), "till_max_opening": (0, None),
    "teller_max_operation": (1, None), "backoffice_approval_threshold": (1, None), "opening_deposit_min": (1, None),
    "card_due_days": (1, 45), "card_minimum_share_bp": (1, 10000), "card_deferral_min": (1, None),
    "card_payment_tx": (1, None), "card_other_bank_fee": (0, None), "card_cycle_seconds": (1, None),
    "operation_ttl_seconds": (60, 86_400),
    "affiliation_max_per_day": (1, None),
    "services_timeout_seconds": (0.01, 300), "services_retries": (0, 10), "services_retry_seconds": (0, None),
    "services_presentment_minutes": (1, 24 * 60), "limit_servicios_daily": (1, None),
    "scheduled_retries": (0, 30), "scheduled_run_hour": (0, 23), "scheduled_every_seconds": (1, None),
    "scheduled_lease_seconds": (1, None),
    # contacto
    "reclamo_response_days": (1, 365), "contact_max_messages_per_day": (1, 1000), "loan_income_share_pct": (1, 100),
    "deposit_insurance_ceiling": (0, None),
    # solicita tus productos
    "card_limit_income_multiple": (1, 24),
    # cajeros: declaración de licitud de fondos
    "cash_declaration_threshold": (1, None),
    # cierre del día
    "end_of_day_wait_seconds": (0, 3600),
    # tasas máximas
    "rate_table_max_age_days": (1, 366),
    # el proceso de fondo
    "worker_lease_seconds": (2, 3600), "settle_every_seconds": (1, None), "deliver_every_seconds": (1, None),
    "idle_exit_grace_seconds": (0, None),
    # presupuesto de adivinanza
    "otp_window_seconds": (60, 86_400), "otp_max_per_window": (2, None), "otp_max_failures_per_day": (1, None),
    "otp_max_unused_per_day": (1, None),
    # centro de seguridad
    "sign_in_retention_days": (366, None),
}
# A gateway chosen without its address cannot work.
REQUIRES = {("otp_channel", "http"): "sms_gateway_url", ("clearing_gateway", "http"): "clearing_url",
            ("services_gateway", "http"): "services_url"}


def validate(s: Settings) -> None:
    for f in fields(s):
        value, default = getattr(s, f.name), f.default
        if isinstance(default, bool):
            ok = isinstance(value, bool)
        elif isinstance(default, int):
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif isinstance(default, float):
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        elif isinstance(default, str):
            ok = isinstance(value, str)
        else:
            ok = True
        if not ok:
            raise SettingsError(f"{f.name}: «{value}» no es del tipo esperado ({type(default).__name__})")
        if f.name in CHOICES and value not in CHOICES[f.name]:
            raise SettingsError(f"{f.name}: «{value}» no es válido; usa uno de: {', '.join(CHOICES[f.name])}")
        low, high = RANGES.get(f.name, (None, None))
        if (isinstance(value, float) and math.isnan(value)) or (low is not None and value < low) or \
                (high is not None and value > high):
            bounds = f"entre {low} y {high}" if high is not None else f"al menos {low}"
            raise SettingsError(f"{f.name}: {value} está fuera de rango (debe ser {bounds})")
    for (key, choice), needed in REQUIRES.items():
        if getattr(s, key) == choice and not getattr(s, needed):
            raise SettingsError(f"{key} = {choice} necesita también {needed}")
    if s.idle_warning_seconds >= s.session_idle_seconds and s.idle_warning_seconds:
        raise SettingsError("idle_warning_seconds debe ser menor que session_idle_seconds")
    _check_timezone(s.timezone)
    _check_terms(s.card_deferral_terms)
    _check_ruc(s.coop_ruc)


def _check_ruc(value: str) -> None:
    """The co-op's RUC as the SRI forms it (13 digits, its check digit): a typo would be printed on every paper."""
    if not value:
        return
    from stdnum.ec import ruc  # only when set: stdnum costs start-up time (backend/core/identity.py)

    if not (len(value) == 13 and value.isascii() and value.isdigit() and ruc.is_valid(value)):
        raise SettingsError(f"coop_ruc: «{value}» no es un RUC válido (13 dígitos con su dígito verificador, "
                            "como lo emite el SRI); déjalo vacío mientras la cooperativa no lo configure")


def deferral_terms(text: str) -> tuple[int, ...]:
    """«3,6,9,12» → (3, 6, 9, 12): the plazos a diferido offers, in order, each 1–60 months."""
    try:
        terms = tuple(sorted({int(part) for part in text.split(",") if part.strip()}))
    except ValueError:
        raise SettingsError(f"card_deferral_terms: «{text}» debe ser una lista de meses, p. ej. 3,6,12") from None
    if not terms or terms[0] < 1 or terms[-1] > 60:
        raise SettingsError(f"card_deferral_terms: «{text}» debe tener plazos entre 1 y 60 meses")
    return terms


def _check_terms(text: str) -> None:
    deferral_terms(text)


def _check_timezone(name: str) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(f"timezone: «{name}» no es una zona horaria conocida (p. ej. America/Guayaquil)") from None
