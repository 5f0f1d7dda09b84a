"""The one object a front end holds: every section's service over one database."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date, datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from backend import upgrades
from backend.core.clock import Clock, iso, system_clock
from backend.core.context import Context
from backend.core.database import open_database
from backend.core.db import DatabaseUrl
from backend.core.settings import Settings

if TYPE_CHECKING:  # built on first use (see `_core`): the login screen is drawn before any of them is needed
    from backend.core.invariants import Books
    from backend.bill_payments.bill_gateway import Recaudacion
    from backend.bill_payments.scheduled import ScheduledService
    from backend.bill_payments.scheduled_runner import Runner
    from backend.bill_payments.services import ServicesService
    from backend.branch.approvals import ApprovalsService
    from backend.branch.audit_views import AuditViewsService
    from backend.branch.backoffice import BackofficeService
    from backend.branch.counter import CounterService
    from backend.branch.end_of_day import EndOfDayService
    from backend.branch.tills import TillsService
    from backend.branch.uafe import UafeService
    from backend.cards.card_cycle import CycleService
    from backend.cards.card_statement_doc import CardStatements
    from backend.cards.cards import CardsService
    from backend.cards.deferrals import DeferralsService
    from backend.contact.contact import ContactService
    from backend.contact.contact_staff import ContactStaffService
    from backend.core.business_days import CalendarService
    from backend.core.notice_delivery import NoticeDelivery
    from backend.core.rates import RatesService
    from backend.core.worker_lease import Heartbeat
    from backend.products.account_statement import AccountStatements
    from backend.products.maturities import CollectionReport, MaturityReport
    from backend.products.position import ProductsService
    from backend.products.product_approvals import ProductApprovalsService
    from backend.products.product_requests import ProductRequestsService
    from backend.security.auth import AuthService
    from backend.security.operations import OperationsService
    from backend.security.otp import OtpService
    from backend.security.security_center import SecurityCenterService
    from backend.transfers.beneficiaries import BeneficiariesService
    from backend.transfers.clearing import ClearingService
    from backend.transfers.transfers import TransfersService
    from backend.service_records import AuditEntry, PhoneMessage, Rotation


class Backend:
    def __init__(self, db_path: str | Path | DatabaseUrl, settings: Settings | None = None, clock: Clock | None = None,
                 *, create: bool = True, migrate: bool | None = None, readonly: bool = False):
        """`readonly`: an auditor's copy (backend/core/db.py `Database`): the keys are read, never filed, and an older
        database's data upgrades wait for a writable open (they seal data in place); what reads works as on the
        original, every service call that writes refuses in one Spanish line."""
        from backend.core import keys

        settings = settings or Settings()
        key_file = keys.key_file_path(settings.secret_key_file)
        # an older database is migrated only once its key file is known to be its own (nothing written if not)
        self.db = open_database(db_path, create=create, migrate=migrate,
                                before_migrate=lambda db: keys.verify(db, key_file), readonly=readonly)
        meta = self.db.get_metas((*keys.META_KEYS, *upgrades.MARKS))  # one query (one round trip) for the open
        self.ctx = Context(self.db, settings, clock or system_clock(settings.timezone), meta)
        if not readonly:
            upgrades.run(self.ctx, meta)  # an older database's data upgrades (sealing what it kept in the clear), once
        self._core_lock = threading.Lock()
        self._core_services: tuple[OtpService, AuthService, OperationsService] | None = None

    def _core(self) -> tuple[OtpService, AuthService, OperationsService]:
        """OTP, sign-in and the authorised-operation flow, built together on first use (start-up time: their
        modules are not imported before the first screen is drawn). Under a lock, so two worker threads asking
        at once get the same three: every section registers its kinds on the one `ops` later calls use."""
        core = self._core_services
        if core is None:
            with self._core_lock:
                core = self._core_services
                if core is None:
                    from backend.security.auth import AuthService
                    from backend.security.operations import OperationsService
                    from backend.security.otp import OtpService

                    otp = OtpService(self.ctx)
                    auth = AuthService(self.ctx, otp)
                    core = self._core_services = (otp, auth, OperationsService(self.ctx, auth, otp,
                                                                                loader=self._load_operation))
        return core

    @property
    def otp(self) -> OtpService:
        return self._core()[0]

    @property
    def auth(self) -> AuthService:
        return self._core()[1]

    @property
    def ops(self) -> OperationsService:
        return self._core()[2]

    # Which section books each kind of authorised operation (built on demand, e.g. for a replay).
    OPERATION_OWNERS = {"transferencia": "transfers", "beneficiario": "beneficiaries",
                        "registro_tarjeta": "cards", "pago_tarjeta": "cards", "diferido": "deferrals",
                        "registro_servicio": "services", "pago_servicio": "services", "pago_programado": "scheduled",
                        "solicitud_producto": "product_requests", "cambio_contrasena": "security_center"}

    def _load_operation(self, kind: str) -> None:
        owner = self.OPERATION_OWNERS.get(kind)
        if owner:
            getattr(self, owner)

    # Sections are built on first use: the login screen needs none of them (start-up time).
    @cached_property
    def products(self) -> ProductsService:
        from backend.products.position import ProductsService

        return ProductsService(self.ctx, self.auth)

    @cached_property
    def beneficiaries(self) -> BeneficiariesService:
        from backend.core import institutions
        from backend.transfers.beneficiaries import BeneficiariesService

        institutions.ensure_loaded(self.db)
        return BeneficiariesService(self.ctx, self.auth, self.ops)

    @cached_property
    def transfers(self) -> TransfersService:
        from backend.core import institutions
        from backend.transfers.transfers import TransfersService

        institutions.ensure_loaded(self.db)
        return TransfersService(self.ctx, self.auth, self.ops)

    @cached_property
    def notices(self) -> NoticeDelivery:
        from backend.core.notice_delivery import NoticeDelivery

        return NoticeDelivery(self.ctx)

    @cached_property
    def clearing(self) -> ClearingService:
        from backend.transfers.clearing import ClearingService

        return ClearingService(self.ctx)

    @cached_property
    def cards(self) -> CardsService:
        from backend.cards.card_payments import CardPaymentHandler, CardRegistrationHandler
        from backend.cards.cards import CardsService

        service = CardsService(self.ctx, self.auth, self.ops)
        self.ops.register(CardRegistrationHandler(self.ctx))
        self.ops.register(CardPaymentHandler(self.ctx))
        return service

    @cached_property
    def deferrals(self) -> DeferralsService:
        from backend.cards.deferrals import DeferralsService

        return DeferralsService(self.ctx, self.auth, self.ops)

    @cached_property
    def card_cycle(self) -> CycleService:
        from backend.cards.card_cycle import CycleService

        return CycleService(self.ctx)

    # -- estados de cuenta (issue 22): savings accounts and cards, as PDF or CSV
    @cached_property
    def account_statements(self) -> AccountStatements:
        from backend.products.account_statement import AccountStatements

        return AccountStatements(self.ctx, self.auth)

    @cached_property
    def card_statements(self) -> CardStatements:
        from backend.cards.card_statement_doc import CardStatements

        return CardStatements(self.ctx, self.auth)

    # -- cajeros: staff services (each method declares its roles with @staff_only)
    @cached_property
    def tills(self) -> TillsService:
        from backend.branch.tills import TillsService

        return TillsService(self.ctx, self.auth)

    @cached_property
    def counter(self) -> CounterService:
        from backend.branch.counter import CounterService

        return CounterService(self.ctx, self.auth)

    @cached_property
    def approvals(self) -> ApprovalsService:
        from backend.branch.approvals import ApprovalsService

        return ApprovalsService(self.ctx, self.auth)

    @cached_property
    def backoffice(self) -> BackofficeService:
        from backend.branch.backoffice import BackofficeService

        return BackofficeService(self.ctx, self.auth)

    @cached_property
    def end_of_day(self) -> EndOfDayService:
        from backend.branch.end_of_day import EndOfDayService

        return EndOfDayService(self.ctx, self.auth, self)

    @cached_property
    def audit_views(self) -> AuditViewsService:
        from backend.branch.audit_views import AuditViewsService

        return AuditViewsService(self.ctx, self.auth)

    @cached_property
    def uafe(self) -> UafeService:
        """The UAFE's RESU (cash operations at or above the threshold), for the auditor."""
        from backend.branch.uafe import UafeService

        return UafeService(self.ctx, self.auth)

    @cached_property
    def bill_gateway(self) -> Recaudacion:
        """The recaudación network (simulated or http), shared by payments and the scheduled runner."""
        from backend.bill_payments import billers
        from backend.bill_payments.bill_gateway import gateway_for

        billers.ensure_loaded(self.db)
        return gateway_for(self.ctx)

    @cached_property
    def services(self) -> ServicesService:
        from backend.bill_payments.services import ServicesService

        return ServicesService(self.ctx, self.auth, self.ops, self.bill_gateway)

    @cached_property
    def scheduled(self) -> ScheduledService:
        from backend.bill_payments.scheduled import ScheduledService

        self.services  # noqa: B018 - builds the catalogue and the handlers it shares
        return ScheduledService(self.ctx, self.auth, self.ops)

    def scheduled_runner(self, crash: Callable[[str], None] | None = None, label: str = "pagos programados") -> Runner:
        """One runner of Pagos Programados (`run_pass`); several may run at once, here or elsewhere. `label` says
        who runs it in its claims (the close names who holds the day's work)."""
        from backend.bill_payments.scheduled_runner import Runner

        return Runner(self.ctx, self.bill_gateway, crash=crash, label=label)

    @cached_property
    def calendar(self) -> CalendarService:
        """The co-op calendar for members (Ayuda · Feriados)."""
        from backend.core.business_days import CalendarService

        return CalendarService(self.ctx, self.auth)

    @cached_property
    def rates(self) -> RatesService:
        """The legal rate caps in force, for members (Ayuda · Tasas máximas)."""
        from backend.core.rates import RatesService

        return RatesService(self.ctx, self.auth)

    # -- contacto
    @cached_property
    def contact(self) -> ContactService:
        from backend.contact import contact

        contact.ensure_loaded(self.db)
        return contact.ContactService(self.ctx, self.auth)

    @cached_property
    def contact_staff(self) -> ContactStaffService:
        from backend.contact.contact_staff import ContactStaffService

        return ContactStaffService(self.ctx, self.auth)

    # -- centro de seguridad (member) and the sign-ins the atención staff read
    @cached_property
    def security_center(self) -> SecurityCenterService:
        from backend.contact.contact import file_claim
        from backend.security.security_center import SecurityCenterService

        return SecurityCenterService(self.ctx, self.auth, self.ops, file_claim)

    # -- solicitudes: the back office approves or rejects what members ask for
    @cached_property
    def product_approvals(self) -> ProductApprovalsService:
        from backend.products.product_approvals import ProductApprovalsService

        return ProductApprovalsService(self.ctx, self.auth)

    # -- solicita tus productos (member side)
    @cached_property
    def product_requests(self) -> ProductRequestsService:
        from backend.products.product_requests import ProductRequestsService

        return ProductRequestsService(self.ctx, self.auth, self.ops)

    @property
    def settings(self) -> Settings:
        return self.ctx.settings

    @property
    def is_demo(self) -> bool:
        return self.ctx.is_demo

    def now(self) -> datetime:
        return self.ctx.now()

    def check(self) -> list[str]:
        """`cooprogreso check`: every area's invariants over every row (backend/audit_books.py)."""
        with self.db.read() as conn:
            return self.books.check(conn)

    @property
    def books(self) -> Books:
        """The books audit composed from every area (the end of day checks what came since its checkpoint)."""
        from backend import audit_books

        return audit_books

    def mature_deposits(self, day: date) -> MaturityReport:
        """The day's plazos fijos that mature (backend/products/maturities.py), for the end of day."""
        from backend.products import maturities

        return maturities.mature_deposits(self.ctx, day)

    def collect_instalments(self, day: date) -> CollectionReport:
        """The day's loan cuotas due (backend/products/maturities.py), for the end of day."""
        from backend.products import maturities

        return maturities.collect_instalments(self.ctx, day)

    def calendar_warnings(self) -> list[str]:
        """The co-op calendar's gaps for this year and next (backend/core/business_days.py), for `check`."""
        from backend.core import business_days

        with self.db.read() as conn:
            return business_days.current(conn).warnings(self.ctx.now().date())

    def regulatory_warnings(self) -> list[str]:
        """Regulatory data still unverified against the official text (backend/core/regulatory_data.py)."""
        from backend.core import regulatory_data

        return regulatory_data.warnings()

    def rate_warnings(self) -> list[str]:
        """A stale or unverified table of legal rate caps, and offers above a cap (backend/core/rates.py), for
        `check` and the staff."""
        from backend.core import rates

        with self.db.read() as conn:
            book = rates.current_book(conn, self.product_requests.book)
        return book.warnings(self.ctx.now().date(), self.ctx.settings.rate_table_max_age_days)

    def mask_expired_codes(self) -> int:
        """Mask the codes of the outbox whose time ran out (the worker's pass; `outbox` does it first too)."""
        from backend.core import redaction
        from backend.core.clock import iso

        expired_before = iso(self.ctx.now() - timedelta(seconds=self.ctx.settings.otp_ttl_seconds))
        if not redaction.pending(self.db.conn, expired_before):
            return 0
        with self.db.write() as conn:
            return redaction.sweep(conn, expired_before)

    def finish_scrubs(self) -> bool:
        """The worker's pass: a masked code whose checkpoint a reader held back leaves the disk now (SQLite,
        `SqliteDatabase.empty_log`); False while someone still reads (the next pass tries again)."""
        return self.db.empty_log()

    def worker_heartbeat(self, token: str) -> Heartbeat | None:
        """The background worker's last sign of life (`worker_lease.Heartbeat`, None if none ever ran), for
        staff: members are refused."""
        from backend.core import worker_lease

        self.auth.staff(token)
        return worker_lease.heartbeat(self.db)

    def outbox(self, last: int = 20, after_id: int = 0) -> list[PhoneMessage]:
        """The newest messages of the embedded channel; codes that expired are masked first (a database opened
        read-only is not changed: they are masked in what is shown)."""
        from backend.core import redaction

        hidden: set[int] = set()
        if self.db.readonly:
            expired_before = iso(self.ctx.now() - timedelta(seconds=self.ctx.settings.otp_ttl_seconds))
            hidden = redaction.expired(self.db.conn, expired_before)
        else:
            self.mask_expired_codes()
        rows = self.db.conn.execute(
            "SELECT * FROM (SELECT * FROM outbox WHERE id > ? ORDER BY id DESC LIMIT ?) AS o ORDER BY id",
            (after_id, last)).fetchall()
        from backend.service_records import PhoneMessage

        return [PhoneMessage(r["id"], r["created_at"], r["recipient"],
                             redaction.masked(r["body"]) if r["id"] in hidden else r["body"]) for r in rows]

    def audit_log(self, last: int = 50, actor: str | None = None) -> list[AuditEntry]:
        """For the co-op's auditors (CLI), oldest first among the last `last` entries."""
        sql = "SELECT id, at, actor, action, outcome, details FROM audit_log"
        params: list = []
        if actor:
            sql += " WHERE actor = ?"
            params.append(actor)
        rows = self.db.conn.execute(f"SELECT * FROM ({sql} ORDER BY id DESC LIMIT ?) AS a ORDER BY id",
                                    (*params, last)).fetchall()
        from backend.service_records import AuditEntry

        return [AuditEntry(*r[1:]) for r in rows]

    def demo_phone(self, after_id: int, *, token: str = "", challenge_id: str = "") -> tuple[list[PhoneMessage], int]:
        """(messages sent since `after_id` to this person's phone, the last id read), so one person can play
        member and phone. Only the phone of the signed-in member (`token`) or the one a code was sent to
        (`challenge_id`, before sign-in): never another member's SMS. Demo databases only."""
        if not self.is_demo:
            return [], after_id
        from backend.security.auth import token_hash

        phones = set()
        if token:
            row = self.db.conn.execute(
                "SELECT m.mobile FROM sessions s JOIN users u ON u.id = s.user_id JOIN members m ON m.id = u.member_id"
                " WHERE s.token_hash = ? AND s.ended_at IS NULL", (token_hash(token),)).fetchone()
            phones.add(row[0] if row else None)
        if challenge_id:
            row = self.db.conn.execute("SELECT phone FROM otp_challenges WHERE id = ?", (challenge_id,)).fetchone()
            phones.add(row[0] if row else None)
        phones.discard(None)
        messages = self.outbox(last=20, after_id=after_id)
        last = max((m.id for m in messages), default=after_id)
        return [m for m in messages if m.recipient in phones], last

    def last_outbox_id(self) -> int:
        return self.db.conn.execute("SELECT COALESCE(MAX(id), 0) FROM outbox").fetchone()[0]

    def close(self) -> None:
        self.db.close()


def rotate_keys(backend: Backend) -> Rotation:
    """`cooprogreso keys rotate`: new keys for this database, every secret re-sealed under them in one
    transaction that also records their fingerprint (backend/core/keys.py keeps the old keys filed until it
    commits). Receipts signed before stay verifiable; codes sent before and not yet used stop working.
    Refused while the worker's lease is live or a member or staff session is open: a process still holding
    the old keys would go on sealing with them (checked again inside the transaction, under its write lock)."""
    from backend.security import card_numbers
    from backend.core import keys
    from backend.security import staff_secrets
    from backend.service_records import Rotation

    path = keys.key_file_path(backend.ctx.settings.secret_key_file)
    _refuse_while_running(backend, backend.db.conn)
    with keys.rotation(backend.db, path) as (current, new):
        old_pepper, new_pepper = bytes.fromhex(current["otp_pepper"]), bytes.fromhex(new["otp_pepper"])
        with keys.scrubbing_write(backend.db) as tx:  # the old sealed values are overwritten on disk too
            _refuse_while_running(backend, tx)
            moved = tx.execute("UPDATE meta SET value = ? WHERE key = ? AND value = ?",
                               (keys.fingerprint(new), keys.FINGERPRINT_META, keys.fingerprint(current))).rowcount
            if moved != 1:  # another server rotated meanwhile, with its own copy of the key file
                raise keys.KeyFileError("Las claves de esta base cambiaron durante la rotación; no se rotó nada.")
            staff, staff_bad = staff_secrets.reseal_all(tx, old_pepper, new_pepper)
            cards, cards_bad = card_numbers.reseal_all(tx, old_pepper, new_pepper)
            backend.ctx.audit(tx, "cli", "claves.rotadas", "ok", secretos_personal=staff, numeros_tarjeta=cards,
                              ilegibles=staff_bad + cards_bad, huella=keys.fingerprint(new))
    return Rotation(keys.fingerprint(new), staff, cards, staff_bad + cards_bad)


def _refuse_while_running(backend: Backend, conn: Any) -> None:
    """A Spanish KeyFileError while the worker's lease is live or sessions are open (not idle out)."""
    import time

    from backend.core import keys, worker_lease

    settings, now = backend.ctx.settings, backend.ctx.now()
    busy = []
    row = conn.execute("SELECT holder, heartbeat_ms, expires_ms, released FROM worker_lease WHERE name = ?",
                       (worker_lease.NAME,)).fetchone()
    if row is not None and not row[3] and row[2] > int(time.time() * 1000):
        busy.append(f"el proceso de fondo está activo ({row[0]})")
    for table, idle, who in (("sessions", settings.session_idle_seconds, "de socios"),
                             ("staff_sessions", settings.staff_idle_seconds, "del personal")):
        since = iso(now - timedelta(seconds=idle))
        count = conn.execute(f"SELECT COUNT(*) FROM {table} WHERE ended_at IS NULL AND last_seen_at > ?",
                             (since,)).fetchone()[0]
        if count:
            busy.append(f"hay {count} {'sesión abierta' if count == 1 else 'sesiones abiertas'} {who}")
    if busy:
        raise keys.KeyFileError("No se rotaron las claves: " + " y ".join(busy) + ". Detén la aplicación y el "
                                "proceso de fondo (o espera a que las sesiones se cierren) y vuelve a intentarlo; "
                                "no se modificó nada.")
