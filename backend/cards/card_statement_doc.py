"""Estado de cuenta of a credit card as a document: the statement whose cut falls in the chosen month.

Every figure is the stored statement's (backend/cards/card_cycle.close_statement, checked by `cooprogreso check`)
read through `cards.statement_from_row`, so paper and screen never disagree; the movements are the card's postings of
that cycle. Rendered by `backend.security.documents` as PDF or CSV, signed like a receipt.
"""

from __future__ import annotations


from backend.cards.cards import check_own_card, statement_from_row
from backend.core.clock import parse_iso
from backend.core.context import Context, Principal
from backend.core.db import Connection
from backend.core.errors import NotFound
from backend.core.money import format_money
from backend.core.periods import month_label, parse_month
from backend.security import documents
from backend.security.documents import Paper
from backend.security.auth import AuthService
from backend.security.roles import ATENCION, AUDITOR, SUPERVISOR, staff_only


def card_document(conn: Connection, ctx: Context, card_id: int, month: str) -> documents.Document:
    now = ctx.now()
    first, last = parse_month(month, now.date())
    card = conn.execute(
        "SELECT c.masked_pan, c.credit_limit, c.cutoff_day, m.first_names || ' ' || m.last_names AS holder"
        " FROM cards c JOIN accounts a ON a.id = c.account_id JOIN members m ON m.id = a.member_id"
        " WHERE c.account_id = ?", (card_id,)).fetchone()
    row = conn.execute("SELECT * FROM card_statements WHERE card_id = ? AND cut_date >= ? AND cut_date <= ?"
                       " ORDER BY cut_date DESC LIMIT 1", (card_id, first.isoformat(), last.isoformat())).fetchone()
    if row is None:
        raise NotFound(f"La tarjeta no tiene estado de cuenta con corte en {month_label(first)} "
                       f"(su corte es el día {card['cutoff_day']} de cada mes).")
    st = statement_from_row(row)
    previous = conn.execute("SELECT cut_date FROM card_statements WHERE card_id = ? AND cut_date < ?"
                            " ORDER BY cut_date DESC LIMIT 1", (card_id, row["cut_date"])).fetchone()
    since = f"{previous[0]} 23:59:59" if previous else ""
    rows = []
    for r in conn.execute("SELECT posted_at, memo, amount, balance_after FROM postings WHERE account_id = ?"
                          " AND posted_at > ? AND posted_at <= ? ORDER BY posted_at, id",
                          (card_id, since, f"{row['cut_date']} 23:59:59")):
        amount = r[2]  # a card account's balance is negative when the member owes: a charge is negative
        rows.append((f"{parse_iso(r[0]):%d/%m/%Y %H:%M}", r[1], format_money(-amount) if amount < 0 else "",
                     format_money(amount) if amount > 0 else "", format_money(-r[3])))
    name, ruc = documents.coop_identity(ctx.settings)
    m = format_money
    return documents.Document(
        title="Estado de cuenta - Tarjeta de Crédito Cooprogreso",
        stem=f"estado-de-cuenta-tarjeta-{card['masked_pan'][-4:]}-{first:%Y-%m}", issued_at=now,
        coop_name=name, coop_ruc=ruc,
        header=(("Titular", card["holder"]), ("Tarjeta", card["masked_pan"]),
                ("Período", f"{month_label(first)}: del {st.cycle_from:%d/%m/%Y} al {st.cut_date:%d/%m/%Y}")),
        summary=(("Fecha de corte", f"{st.cut_date:%d/%m/%Y}"),
                 ("Fecha máxima de pago", f"{st.due_date:%d/%m/%Y}"),
                 ("Cupo", m(card["credit_limit"])),
                 ("Saldo anterior", m(st.previous_balance)), ("Consumos", m(st.purchases)),
                 ("Pagos", m(st.payments)), ("Diferido en el período", m(st.deferred)),
                 ("Cuotas de diferidos", m(st.installments)), ("Intereses", m(st.interest)),
                 ("Interés de mora", m(st.late_interest)), ("Valor vencido", m(st.overdue)),
                 ("Otros cargos", m(st.other)), ("Pago mínimo", m(st.minimum_due)),
                 ("Pago total", m(st.total_due)), ("Diferidos pendientes", m(st.installment_balance))),
        columns=("Fecha", "Descripción", "Cargo", "Abono", "Deuda"), widths=(28, 82, 24, 24, 24),
        aligns=("L", "L", "R", "R", "R"), rows=tuple(rows),
        notes=("Horas en la zona horaria de la cooperativa (America/Guayaquil). La fecha máxima de pago se "
               "corre al siguiente día hábil cuando cae en feriado o fin de semana.",))


class CardStatements:
    """Card statements as paper for the member (their own cards) and the back office (audited)."""

    def __init__(self, ctx: Context, auth: AuthService) -> None:
        self.ctx = ctx
        self.auth = auth

    def statement(self, token: str, card_id: int, month: str, fmt: str = "pdf") -> Paper:
        who = self.auth.principal(token)
        conn = self.ctx.db.conn
        check_own_card(conn, who, card_id)
        paper = documents.render_paper(self.ctx, card_document(conn, self.ctx, card_id, month), fmt)
        self.ctx.audit_now(who.username, "estado_cuenta.emitir", "ok", tarjeta=paper.document.stem, mes=month,
                           formato=fmt)
        return paper

    def latest_month(self, token: str, card_id: int) -> str | None:
        """AAAA-MM of the card's latest cut, where its «Estado de cuenta» opens (None before the first cut):
        early in a month this month's cut is still ahead."""
        who = self.auth.principal(token)
        conn = self.ctx.db.conn
        check_own_card(conn, who, card_id)
        cut = conn.execute("SELECT MAX(cut_date) FROM card_statements WHERE card_id = ?", (card_id,)).fetchone()[0]
        return str(cut)[:7] if cut else None

    @staff_only(ATENCION, SUPERVISOR, AUDITOR)
    def statement_for(self, who: Principal, number: str, month: str, fmt: str = "pdf") -> Paper:
        """The back office's copy, by the card's account number (`cooprogreso statement`)."""
        conn = self.ctx.db.conn
        account = conn.execute("SELECT id, member_id FROM accounts WHERE number = ? AND kind = 'tarjeta'",
                               (str(number),)).fetchone()
        if account is None:
            raise NotFound("No existe una tarjeta con ese número de cuenta.")
        paper = documents.render_paper(self.ctx, card_document(conn, self.ctx, account[0], month), fmt)
        self.ctx.audit_now(who.username, "estado_cuenta.emitir_personal", "ok", rol=who.role,
                           member_id=account[1], cuenta=str(number), mes=month, formato=fmt)
        return paper
