"""Section 6, Contacto: the co-op's channels and agencies (data), and «Escríbenos» cases with answers.

Channels and agencies load like the institutions: a bundled demo set (marked demo, so no member
mistakes a fictional phone for a real one) until a deployment loads its own CSV files, which
replace the demo rows. A reclamo carries the regulator's deadline (`reclamo_response_days`).
Staff read and answer cases through `contact_staff` (role-checked). A member may reply to an answered
case that is not closed: the reply reopens it («Recibido» again, back in the staff queue; a reclamo gets
a fresh regulator's deadline from the day of the reply).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from backend.core import notices
from backend.core.context import Context
from backend.core.errors import NotFound, ValidationError
from backend.core.files import MAX_CSV_BYTES, csv_rows, read_text_limited
from backend.core.text import clean_text
from backend.security.auth import AuthService

if TYPE_CHECKING:
    from backend.core.db import Connection, Database, Row

SUBJECTS = {"reclamo": "Reclamo", "consulta": "Consulta", "sugerencia": "Sugerencia"}
MAX_TEXT = 1000
MIN_TEXT = 10
CHANNEL_KINDS = {"call_center", "whatsapp", "email", "web", "otro"}
_CODE = re.compile(r"[A-Z0-9_-]{1,20}")


@dataclass(frozen=True)
class Channel:
    kind: str
    label: str
    value: str
    hours: str
    demo: bool


@dataclass(frozen=True)
class Agency:
    code: str
    name: str
    city: str
    address: str
    hours: str
    phone: str
    demo: bool


@dataclass(frozen=True)
class Reply:
    body: str
    created_at: str
    from_member: bool = False  # the member's own reply on an answered case (else the co-op's answer)


@dataclass(frozen=True)
class Case:
    id: int
    number: str
    subject: str
    body: str
    state: str  # Recibido | Respondido
    created_at: str
    due_on: date | None  # reclamos: the regulator's deadline
    days_left: int | None  # reclamos still open: days until the deadline (negative when late)
    replies: tuple[Reply, ...] = ()
    closed: bool = False

    @property
    def can_reply(self) -> bool:
        """Answered and not closed: the member may write back (reopening it)."""
        return self.state == "Respondido" and not self.closed

    @property
    def subject_label(self) -> str:
        return SUBJECTS[self.subject]

    @property
    def state_label(self) -> str:
        if self.days_left is not None and self.days_left < 0:
            return "Recibido · plazo vencido"
        return self.state


def case_number(case_id: int, created_at: str) -> str:
    return f"C-{created_at[:4]}-{case_id:06d}"


def parse_case_number(text: str) -> int:
    match = re.fullmatch(r"\s*C-\d{4}-(\d{1,9})\s*", text or "")
    if not match:
        raise ValidationError("Número de caso no válido (ejemplo: C-2026-000123).", field="case")
    return int(match.group(1))


# -- the directory ----------------------------------------------------------------------------------
def ensure_loaded(db: Database) -> None:
    """Load the bundled demo directory into an empty database."""
    conn = db.conn
    if conn.execute("SELECT 1 FROM contact_channels LIMIT 1").fetchone() or \
            conn.execute("SELECT 1 FROM agencies LIMIT 1").fetchone():
        return
    files = resources.files("backend").joinpath("data")
    channels = _channel_rows(files.joinpath("contact-channels.csv").read_text(encoding="utf-8"))
    agencies = _agency_rows(files.joinpath("agencies.csv").read_text(encoding="utf-8"))
    with db.write() as conn:
        if conn.execute("SELECT 1 FROM contact_channels LIMIT 1").fetchone():
            return  # another process loaded it first
        _insert(conn, channels, agencies)


def load_csv(db: Database, *, channels: str | Path | None = None, agencies: str | Path | None = None) -> tuple[int, int]:
    """A deployment's own directory: replaces the demo rows (and earlier rows of the same file). Each agency that
    stays keeps its printer (`cooprogreso printer`, not a column of the file): a reload must not stop the
    tellers' «Imprimir»."""
    channel_rows = _channel_rows(read_text_limited(channels, max_bytes=MAX_CSV_BYTES, what="El archivo de canales"),
                                 demo=0) if channels else None
    agency_rows = _agency_rows(read_text_limited(agencies, max_bytes=MAX_CSV_BYTES, what="El archivo de agencias"),
                               demo=0) if agencies else None
    with db.write() as conn:
        if channel_rows is not None:
            conn.execute("DELETE FROM contact_channels")
        printers: list[tuple[str, str]] = []
        if agency_rows is not None:
            printers = [(r[1], r[0]) for r in conn.execute("SELECT code, printer FROM agencies WHERE printer <> ''")]
            conn.execute("DELETE FROM agencies")
        _insert(conn, channel_rows or [], agency_rows or [])
        conn.executemany("UPDATE agencies SET printer = ? WHERE code = ?", printers)
    return len(channel_rows or []), len(agency_rows or [])


def _insert(conn: Connection, channels: list[tuple], agencies: list[tuple]) -> None:
    conn.executemany("INSERT INTO contact_channels (kind, label, value, hours, demo) VALUES (?, ?, ?, ?, ?)"
                     " ON CONFLICT (kind, value) DO NOTHING", channels)
    conn.executemany("INSERT INTO agencies (code, name, city, address, hours, phone, demo)"
                     " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (code) DO NOTHING", agencies)


def _field(row: dict, name: str, line: int, max_len: int = 120) -> str:
    return clean_text(row.get(name) or "", field=name, label=f"La columna «{name}» (fila {line})",
                      max_len=max_len, min_len=1)


def _demo_flag(row: dict, demo: int | None) -> int:
    if demo is not None:
        return demo
    return 1 if str(row.get("demo", "0")).strip() == "1" else 0


def _channel_rows(text: str, demo: int | None = None) -> list[tuple]:
    rows = []
    for line, row in csv_rows(text):
        kind = _field(row, "kind", line, 20)
        if kind not in CHANNEL_KINDS:
            raise ValidationError(f"Canal no válido en la fila {line}: «{kind}».", field="kind")
        rows.append((kind, _field(row, "label", line, 40), _field(row, "value", line),
                     _field(row, "hours", line), _demo_flag(row, demo)))
    return rows


def _agency_rows(text: str, demo: int | None = None) -> list[tuple]:
    rows = []
    for line, row in csv_rows(text):
        code = _field(row, "code", line, 20).upper()
        if not _CODE.fullmatch(code):
            raise ValidationError(f"Código de agencia no válido en la fila {line}: «{code}».", field="code")
        rows.append((code, _field(row, "name", line, 80), _field(row, "city", line, 40),
                     _field(row, "address", line), _field(row, "hours", line), _field(row, "phone", line, 40),
                     _demo_flag(row, demo)))
    return rows


def _sent_today(conn: Connection, user_id: int, today: str) -> int:
    """New messages and replies a member wrote today: one daily budget (`contact_max_messages_per_day`)."""
    cases = conn.execute("SELECT COUNT(*) FROM contact_cases WHERE user_id = ? AND created_at >= ?",
                         (user_id, today)).fetchone()[0]
    replies = conn.execute("SELECT COUNT(*) FROM contact_replies r JOIN contact_cases c ON c.id = r.case_id"
                           " WHERE c.user_id = ? AND r.from_member = 1 AND r.created_at >= ?",
                           (user_id, today)).fetchone()[0]
    return int(cases) + int(replies)


def file_claim(conn: Any, settings: Any, user_id: int, username: str, body: str, now: datetime) -> tuple[str, date]:
    """Open a reclamo for a member inside the caller's write transaction (the security centre's «No fui yo»,
    wired in backend/service.py): the same row, deadline and staff queue as one written in «Escríbenos», but
    outside the daily budget (it is the co-op's own doing). Returns (case number, deadline)."""
    at = now.strftime("%Y-%m-%d %H:%M:%S")
    due = now.date() + timedelta(days=settings.reclamo_response_days)
    case_id = conn.execute("INSERT INTO contact_cases (user_id, subject, body, state, created_at, due_on)"
                           " VALUES (?, 'reclamo', ?, 'Recibido', ?, ?) RETURNING id",
                           (user_id, body, at, due.isoformat())).fetchone()[0]
    return case_number(case_id, at), due


class ContactService:
    def __init__(self, ctx: Context, auth: AuthService):
        self.ctx = ctx
        self.auth = auth

    # -- channels and agencies ---------------------------------------------------------------------
    def channels(self, token: str) -> list[Channel]:
        self.auth.principal(token)
        return [Channel(r[0], r[1], r[2], r[3], bool(r[4])) for r in self.ctx.db.conn.execute(
            "SELECT kind, label, value, hours, demo FROM contact_channels ORDER BY id")]

    def cities(self, token: str) -> list[str]:
        self.auth.principal(token)
        return [r[0] for r in self.ctx.db.conn.execute("SELECT DISTINCT city FROM agencies ORDER BY city")]

    def agencies(self, token: str, city: str | None = None) -> list[Agency]:
        self.auth.principal(token)
        sql = "SELECT code, name, city, address, hours, phone, demo FROM agencies"
        params: tuple = ()
        if city:
            sql += " WHERE city = ?"
            params = (city,)
        rows = self.ctx.db.conn.execute(sql + " ORDER BY city, name", params)
        return [Agency(r[0], r[1], r[2], r[3], r[4], r[5], bool(r[6])) for r in rows]

    # -- «Escríbenos» ------------------------------------------------------------------------------
    def write(self, token: str, subject: str, text: str) -> Case:
        """Register the member's message and return its case (with a number to quote)."""
        who = self.auth.principal(token)
        if subject not in SUBJECTS:
            raise ValidationError("Elige el asunto: reclamo, consulta o sugerencia.", field="subject")
        body = clean_text(text, field="text", label="El mensaje", max_len=MAX_TEXT, min_len=MIN_TEXT,
                          multiline=True)
        now = self.ctx.now()
        at = now.strftime("%Y-%m-%d %H:%M:%S")
        due = (now.date() + timedelta(days=self.ctx.settings.reclamo_response_days)).isoformat() \
            if subject == "reclamo" else None
        limit = self.ctx.settings.contact_max_messages_per_day
        with self.auth.writing(who) as conn:
            if _sent_today(conn, who.user_id, now.date().isoformat()) >= limit:
                raise ValidationError(f"Puedes enviar hasta {limit} mensajes por día. Si es urgente, llama al "
                                      "Call Center.", code="contact_limit", field="text")
            case_id = conn.execute(
                "INSERT INTO contact_cases (user_id, subject, body, state, created_at, due_on)"
                " VALUES (?, ?, ?, 'Recibido', ?, ?) RETURNING id",
                (who.user_id, subject, body, at, due)).fetchone()[0]
            number = case_number(case_id, at)
            self.ctx.audit(conn, who.username, "contacto.escribir", "ok", caso=number, asunto=subject)
            sms = f"Cooprogreso: recibimos tu {SUBJECTS[subject].lower()} N.º {number}."
            if due:
                sms += f" Te responderemos hasta el {date.fromisoformat(due):%d/%m/%Y}."
            notices.queue(conn, who.member_id, sms, at)
        return self.case(token, case_id)

    def reply(self, token: str, case_id: int, text: str) -> Case:
        """The member writes back on an answered case: it is «Recibido» again and back in the staff queue."""
        who = self.auth.principal(token)
        body = clean_text(text, field="text", label="Tu respuesta", max_len=MAX_TEXT, min_len=MIN_TEXT,
                          multiline=True)
        now = self.ctx.now()
        at = now.strftime("%Y-%m-%d %H:%M:%S")
        limit = self.ctx.settings.contact_max_messages_per_day
        if isinstance(case_id, bool) or not isinstance(case_id, int):
            raise NotFound("El caso no existe o no es tuyo.", field="case")
        with self.auth.writing(who) as conn:
            row = conn.execute("SELECT * FROM contact_cases WHERE id = ? AND user_id = ? FOR UPDATE",
                               (case_id, who.user_id)).fetchone()
            if row is None:
                raise NotFound("El caso no existe o no es tuyo.", field="case")
            if row["closed_at"]:
                raise ValidationError("El caso está cerrado. Si necesitas algo más, escríbenos un mensaje nuevo.",
                                      code="cerrado", field="text")
            if row["state"] != "Respondido":
                raise ValidationError("Aún no respondemos este caso: espera nuestra respuesta.",
                                      code="sin_respuesta", field="text")
            if _sent_today(conn, who.user_id, now.date().isoformat()) >= limit:
                raise ValidationError(f"Puedes enviar hasta {limit} mensajes por día. Si es urgente, llama al "
                                      "Call Center.", code="contact_limit", field="text")
            conn.execute("INSERT INTO contact_replies (case_id, author, body, created_at, from_member)"
                         " VALUES (?, ?, ?, ?, 1)", (row["id"], who.username, body, at))
            due = (now.date() + timedelta(days=self.ctx.settings.reclamo_response_days)).isoformat() \
                if row["subject"] == "reclamo" else None
            conn.execute("UPDATE contact_cases SET state = 'Recibido', due_on = ? WHERE id = ?", (due, row["id"]))
            self.ctx.audit(conn, who.username, "contacto.replicar", "ok", caso=case_number(row["id"], row["created_at"]),
                           asunto=row["subject"])
        return self.case(token, case_id)

    def cases(self, token: str) -> list[Case]:
        """The member's messages, newest first, each with the co-op's answers."""
        who = self.auth.principal(token)
        with self.ctx.db.read() as conn:
            rows = conn.execute("SELECT * FROM contact_cases WHERE user_id = ? ORDER BY created_at DESC, id DESC",
                                (who.user_id,)).fetchall()
            return [self._case(conn, row) for row in rows]

    def case(self, token: str, case_id: int) -> Case:
        who = self.auth.principal(token)
        with self.ctx.db.read() as conn:
            row = conn.execute("SELECT * FROM contact_cases WHERE id = ? AND user_id = ?",
                               (case_id, who.user_id)).fetchone()
            if row is None:
                raise NotFound("El caso no existe o no es tuyo.", field="case")
            return self._case(conn, row)

    def _case(self, conn: Connection, row: Row) -> Case:
        replies = tuple(Reply(r[0], r[1], bool(r[2])) for r in conn.execute(
            "SELECT body, created_at, from_member FROM contact_replies WHERE case_id = ? ORDER BY id", (row["id"],)))
        due = date.fromisoformat(row["due_on"]) if row["due_on"] else None
        days_left = (due - self.ctx.now().date()).days if due and row["state"] == "Recibido" else None
        return Case(row["id"], case_number(row["id"], row["created_at"]), row["subject"], row["body"],
                    row["state"], row["created_at"], due, days_left, replies, bool(row["closed_at"]))
