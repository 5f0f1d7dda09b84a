import csv
from datetime import date
from pathlib import Path

import pytest

from backend.core import accounts
from backend.core.errors import NotFound, ValidationError
from backend.core.ledger import Leg, post
from backend.core.money import parse_money
from backend.core.movement_filter import MovementFilter, parse_filter
from tests.conftest import add_member, affiliate


@pytest.fixture
def signed(backend):
    return backend.auth.login("demo", "Demo-2026!")


def savings(backend, token):
    return next(p for p in backend.products.position(token) if p.kind == "ahorros")


def test_position_has_every_kind_of_product(backend, signed):
    products = backend.products.position(signed.token)
    kinds = [p.kind for p in products]
    assert kinds[:2] == ["ahorros", "ahorros"] and {"plazo_fijo", "prestamo", "tarjeta"} <= set(kinds)
    conn = backend.db.conn
    for p in products:
        raw = conn.execute("SELECT balance, held FROM accounts WHERE id = ?", (p.account_id,)).fetchone()
        if p.kind == "ahorros":
            assert (p.balance, p.available) == (raw["balance"], raw["balance"] - raw["held"])
        elif p.kind == "tarjeta":
            deferred = conn.execute("SELECT i.balance FROM cards c JOIN accounts i ON i.id = c.installment_account_id"
                                    " WHERE c.account_id = ?", (p.account_id,)).fetchone()[0]
            # what is owed: the revolving balance and the diferidos not billed yet
            assert p.balance == -raw["balance"] - deferred and p.available == p.credit_limit - p.balance
            assert p.masked_pan.startswith("3261 XXXX XXXX ")
        elif p.kind == "prestamo":
            assert p.next_installment > 0 and p.next_installment_date >= date(2026, 11, 25)
        elif p.kind == "plazo_fijo":
            assert p.rate_bp > 0 and p.maturity


def test_keyset_pages_cover_the_whole_history_once(backend, signed):
    account = savings(backend, signed.token)
    everything = backend.db.conn.execute(
        "SELECT id FROM postings WHERE account_id = ? ORDER BY posted_at DESC, id DESC", (account.account_id,)
    ).fetchall()
    seen, cursor = [], None
    while True:
        page = backend.products.movements(signed.token, account.account_id, after=cursor, limit=17)
        seen += [m.posting_id for m in page.movements]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == [r[0] for r in everything] and len(seen) > 100
    first = backend.products.movements(signed.token, account.account_id, limit=5).movements
    assert first[0].balance_after == account.balance  # newest first, running balance ends at the balance


def test_filters_by_date_and_text(backend, signed):
    account = savings(backend, signed.token)
    flt = parse_filter("01/10/2026", "31/10/2026", "sueldo")
    page = backend.products.movements(signed.token, account.account_id, flt, limit=500)
    assert page.movements and all("sueldo" in m.description.lower() for m in page.movements)
    assert all(date(2026, 10, 1) <= m.posted_at.date() <= date(2026, 10, 31) for m in page.movements)
    none = backend.products.movements(signed.token, account.account_id, MovementFilter(text="100%_"))
    assert none.movements == ()


def test_the_text_filter_ignores_case_and_accents_on_both_engines(backend, signed):
    """«ACREDITACIÓN» and «acreditacion» found nothing where «acreditación» found the salaries (SQLite's LIKE folds ASCII
    letters only, PostgreSQL's none)."""
    account = savings(backend, signed.token)

    def found(text: str) -> list[int]:
        page = backend.products.movements(signed.token, account.account_id, MovementFilter(text=text), limit=500)
        return [m.posting_id for m in page.movements]

    salaries = found("Acreditación de sueldo")
    assert salaries
    for text in ("ACREDITACIÓN DE SUELDO", "acreditacion de sueldo", "AcReDiTaCiOn De SuElDo", "SUELDO"):
        assert found(text)[:len(salaries)] == salaries or set(salaries) <= set(found(text)), text
    assert found("ACREDITACIÓN DE SUELDO") == found("acreditacion de sueldo") == salaries
    assert found("100%_") == [] and found("acreditaciónx") == []


@pytest.mark.parametrize("args,field", [(("32/01/2026", "", ""), "desde"), (("", "2026-01-01", ""), "hasta"),
                                        (("10/10/2026", "01/10/2026", ""), "desde")])
def test_bad_filters_are_explained(args, field):
    with pytest.raises(ValidationError) as err:
        parse_filter(*args)
    assert err.value.field == field


def test_csv_export_holds_every_filtered_movement(backend, signed, tmp_path):
    account = savings(backend, signed.token)
    flt = parse_filter("", "", "Retiro")
    export = backend.products.export_csv(signed.token, account.account_id, flt, str(tmp_path))
    path, count = Path(export.path), export.rows
    with open(path, encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["Fecha", "Hora", "Descripción", "Débito", "Crédito", "Saldo"]
    expected = backend.products.movements(signed.token, account.account_id, flt, limit=500).movements
    assert count == len(rows) - 1 == len(expected) > 0
    for row, m in zip(rows[1:], expected):
        assert row[0] == m.posted_at.strftime("%d/%m/%Y") and row[2] == m.description
        assert parse_money(row[3]) == -m.amount and row[4] == ""
        assert parse_money(row[5].lstrip("-")) == abs(m.balance_after)
    assert oct(path.stat().st_mode)[-3:] == "600"


@pytest.mark.sqlite_only(covered=True)
def test_csv_cannot_smuggle_a_formula(backend, tmp_path):
    member, acc = add_member(backend, cedula="1104680135", balance=10_00)
    affiliate(backend, "1104680135", "ana.prueba")
    with backend.db.write() as conn:
        caja = accounts.internal_account(conn, "caja")
        post(conn, kind="x", description="x", posted_at="2026-01-05 10:00:00", actor="t",
             legs=[Leg(acc, 1_00, "=HYPERLINK(\"http://x\")"), Leg(caja, -1_00, "x")])
        post(conn, kind="x", description="x", posted_at="2026-01-05 10:01:00", actor="t",
             legs=[Leg(acc, 1_00, "  =HYPERLINK(\"http://y\")"), Leg(caja, -1_00, "x")])
    token = backend.auth.login("ana.prueba", "Clave2026x").token
    export = backend.products.export_csv(token, acc, MovementFilter(), str(tmp_path))
    text = Path(export.path).read_text(encoding="utf-8")
    assert "'=HYPERLINK" in text and "'  =HYPERLINK" in text  # a spreadsheet skips the spaces and runs it


@pytest.mark.sqlite_only(covered=True)
def test_another_members_account_is_invisible(backend, signed, tmp_path):
    _, foreign = add_member(backend, cedula="1104680135", balance=10_00)
    with pytest.raises(NotFound):
        backend.products.movements(signed.token, foreign)
    with pytest.raises(NotFound):
        backend.products.export_csv(signed.token, foreign, MovementFilter(), tmp_path)
    assert foreign not in [p.account_id for p in backend.products.position(signed.token)]


@pytest.mark.sqlite_only(covered=True)
def test_bad_cursor_is_refused(backend, signed):
    account = savings(backend, signed.token)
    with pytest.raises(ValidationError):
        backend.products.movements(signed.token, account.account_id, after="no-es-un-cursor")


def test_loan_schedule_adds_up_to_the_principal(backend, signed):
    loan = next(p for p in backend.products.position(signed.token) if p.kind == "prestamo")
    schedule = backend.products.loan_schedule(signed.token, loan.account_id)
    principal = backend.db.conn.execute("SELECT principal FROM loans WHERE account_id = ?", (loan.account_id,)).fetchone()[0]
    assert sum(i.principal for i in schedule) == principal
    unpaid = [i for i in schedule if not i.paid]
    assert sum(i.principal for i in unpaid) == loan.balance  # what is owed is what is not yet paid
    assert unpaid[0].total == loan.next_installment and len(unpaid) == loan.installments_left
    with pytest.raises(ValidationError):
        backend.products.loan_schedule(signed.token, savings(backend, signed.token).account_id)
