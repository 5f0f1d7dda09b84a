"""Atención al socio works the «Contacto» queue: members' reclamos, consultas and sugerencias.

Reclamos come first, by the regulator's deadline (`reclamo_response_days`), so the late ones are on
top. An answer is what the member reads in Contacto › Mis mensajes (and an SMS tells them it is
there, without the answer's text); a case is closed once nothing more is owed, and a reclamo only
after it has been answered. Every step is audited with the staff user and the member.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from backend.contact.contact import MAX_TEXT, SUBJECTS, case_number
from backend.core import notices
from backend.core.context import Context, Principal
from backend.core.errors import NotFound, ValidationError
from backend.core.text import clean_text
from backend.security.roles import ATENCION, SUPERVISOR, staff_only
from backend.security.staff_conflicts import refuse_own

if TYPE_CHECKING:
    from backend.core.db import Connection, Row
    from backend.security.auth import AuthService

FILTERS = {"abiertos": "Abiertos", "Recibido": "Sin respuesta", "Respondido": "Respondidos",
           "vencidos": "Reclamos vencidos", "cerrados": "Cerrados", "todos": "Todos"}
MIN_ANSWER = 10
LIMIT = 200


@dataclass(frozen=True)
class StaffReply:
    author: str
    body: str
    created_at: str
    from_member: bool = False  # the member writing back on an answered case (it reopened the case)


@dataclass(frozen=True)
class StaffCase:
    id: int
    number: str
    member_id: int
    member_name: str
    subject: str
    body: str
    state: str  # Recibido | Respondido (what the member sees)
    created_at: str
    due_on: date | None
    days_left: int | None  # reclamos not answered yet: days to the deadline (negative when late)
    closed_at: str | None
    closed_by: str | None
    replies: tuple[StaffReply, ...] = ()

    @property
    def subject_label(self) -> str:
        return SUBJECTS[self.subject]

    @property
    def overdue(self) -> bool:
        return self.days_left is not None and self.days_left < 0

    @property
    def queue_state(self) -> str:
        if self.closed_at:
            return "Cerrado"
        if self.overdue:
            return "Vencido"
        return self.state


_SELECT = ("SELECT c.*, m.id AS member_id, m.first_names, m.last_names FROM contact_cases c"
           " JOIN users u ON u.id = c.user_id JOIN members m ON m.id = u.member_id")


class ContactStaffService:
    def __init__(self, ctx: Context, auth: AuthService) -> None:
        self.ctx = ctx
        self.auth = auth

    @staff_only(ATENCION, SUPERVISOR)
    def cases(self, who: Principal, state: str = "abiertos", subject: str = "") -> list[StaffCase]:
        """The queue: reclamos by deadline first, then the rest oldest first."""
        if state not in FILTERS:
            raise ValidationError("Filtro de estado no válido.", field="state")
        if subject and subject not in SUBJECTS:
            raise ValidationError("Asunto no válido: reclamo, consulta o sugerencia.", field="subject")
        where, params = [], []
        if state in ("abiertos", "Recibido", "Respondido", "vencidos"):
            where.append("c.closed_at IS NULL")
        if state in ("Recibido", "Respondido"):
            where.append("c.state = ?")
            params.append(state)
        if state == "vencidos":
            where += ["c.state = 'Recibido'", "c.subject = 'reclamo'", "c.due_on < ?"]
            params.append(self.ctx.now().date().isoformat())
        if state == "cerrados":
            where.append("c.closed_at IS NOT NULL")
        if subject:
            where.append("c.subject = ?")
            params.append(subject)
        sql = _SELECT + (" WHERE " + " AND ".join(where) if where else "")
        waiting = "c.due_on IS NOT NULL AND c.state = 'Recibido'"  # (no NULL in ORDER BY: engines differ)
        sql += (f" ORDER BY CASE WHEN {waiting} THEN 0 ELSE 1 END, CASE WHEN {waiting} THEN c.due_on ELSE '' END,"
                " c.created_at, c.id LIMIT ?")
        with self.ctx.db.read() as conn:
            return [self._case(conn, row, replies=False) for row in conn.execute(sql, (*params, LIMIT)).fetchall()]

    @staff_only(ATENCION, SUPERVISOR)
    def case(self, who: Principal, case_id: int) -> StaffCase:
        with self.ctx.db.read() as conn:
            return self._case(conn, self._row(conn, case_id))

    @staff_only(ATENCION, SUPERVISOR)
    def answer(self, who: Principal, case_id: int, text: str) -> StaffCase:
        """Add the co-op's answer: the member reads it in Contacto and gets an SMS that it is there."""
        body = clean_text(text, field="answer", label="La respuesta", max_len=MAX_TEXT, min_len=MIN_ANSWER,
                          multiline=True)
        self._not_own(who, case_id)
        now = self.ctx.now_iso()
        with self.ctx.db.write() as conn:
            row = self._row(conn, case_id, lock=True)
            if row["closed_at"]:
                raise ValidationError("El caso está cerrado; ya no admite respuestas.", code="cerrado")
            conn.execute("INSERT INTO contact_replies (case_id, author, body, created_at) VALUES (?, ?, ?, ?)",
                         (row["id"], who.username, body, now))
            conn.execute("UPDATE contact_cases SET state = 'Respondido', answered_at = COALESCE(answered_at, ?)"
                         " WHERE id = ?", (now, row["id"]))
            number = case_number(row["id"], row["created_at"])
            late = bool(row["due_on"] and row["state"] == "Recibido" and row["due_on"] < now[:10])
            self.ctx.audit(conn, who.username, "contacto.responder", "fuera_de_plazo" if late else "ok",
                           rol=who.role, member_id=row["member_id"], caso=number, asunto=row["subject"])
            notices.queue(conn, row["member_id"], f"Cooprogreso: respondimos tu {SUBJECTS[row['subject']].lower()}"
                          f" N.º {number}. Lee la respuesta en Contacto › Mis mensajes.", now)
            return self._case(conn, self._row(conn, row["id"]))

    @staff_only(ATENCION, SUPERVISOR)
    def close(self, who: Principal, case_id: int) -> StaffCase:
        """Nothing more is owed: the case leaves the queue (a reclamo only once it has been answered)."""
        self._not_own(who, case_id)
        now = self.ctx.now_iso()
        with self.ctx.db.write() as conn:
            row = self._row(conn, case_id, lock=True)
            if row["closed_at"]:
                raise ValidationError("El caso ya está cerrado.", code="cerrado")
            if row["subject"] == "reclamo" and row["state"] != "Respondido":
                raise ValidationError("Un reclamo se cierra después de responderlo.", code="sin_respuesta",
                                      field="answer")
            conn.execute("UPDATE contact_cases SET closed_at = ?, closed_by = ? WHERE id = ?",
                         (now, who.username, row["id"]))
            self.ctx.audit(conn, who.username, "contacto.cerrar", "ok", rol=who.role, member_id=row["member_id"],
                           caso=case_number(row["id"], row["created_at"]), asunto=row["subject"])
            return self._case(conn, self._row(conn, row["id"]))

    def _not_own(self, who: Principal, case_id: int) -> None:
        with self.ctx.db.read() as conn:
            row = self._row(conn, case_id)
        refuse_own(self.ctx, who, row["member_id"], action="contacto.decidir",
                   message="No puedes responder ni cerrar un caso que escribiste tú como socio.",
                   caso=case_number(row["id"], row["created_at"]))

    def _row(self, conn: Connection, case_id: int, lock: bool = False) -> Row:
        if isinstance(case_id, bool) or not isinstance(case_id, int):
            raise NotFound("El caso no existe.", field="case")
        row = conn.execute(_SELECT + " WHERE c.id = ?" + (" FOR UPDATE OF c" if lock else ""), (case_id,)).fetchone()
        if row is None:
            raise NotFound("El caso no existe.", field="case")
        return row

    def _case(self, conn: Connection, row: Row, replies: bool = True) -> StaffCase:
        answers: tuple[StaffReply, ...] = ()
        if replies:
            answers = tuple(StaffReply(r[0], r[1], r[2], bool(r[3])) for r in conn.execute(
                "SELECT author, body, created_at, from_member FROM contact_replies WHERE case_id = ? ORDER BY id",
                (row["id"],)))
        due = date.fromisoformat(row["due_on"]) if row["due_on"] else None
        days_left = (due - self.ctx.now().date()).days if due and row["state"] == "Recibido" else None
        return StaffCase(row["id"], case_number(row["id"], row["created_at"]), row["member_id"],
                         f"{row['first_names']} {row['last_names']}", row["subject"], row["body"], row["state"],
                         row["created_at"], due, days_left, row["closed_at"], row["closed_by"], answers)
