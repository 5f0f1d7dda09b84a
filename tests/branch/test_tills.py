"""Cash at the counter: tills, deposits, withdrawals, maker-checker and closing with a difference."""

from __future__ import annotations

import uuid

import pytest

from backend.core.errors import Forbidden, ValidationError
from tests.conftest import add_member
from tests.staff_helpers import team


@pytest.fixture
def staff(backend, clock):
    return team(backend, clock)


@pytest.fixture
def member(backend):
    return add_member(backend, cedula="1104680135", first="Ana", last="Prueba Uno", balance=500_00)


def balance(backend, account_id):
    return backend.db.conn.execute("SELECT balance FROM accounts WHERE id = ?", (account_id,)).fetchone()[0]


def cash(backend, who, kind, account, amount):
    return backend.counter.cash(who.token, kind, account, amount, uuid.uuid4().hex)


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_open_deposit_withdraw_close_balances(backend, staff, member):
    _, account = member
    t = staff["cajero"]
    till = backend.tills.open_till(t.token, "1,000.00")
    assert till.cash == 1000_00 and till.status == "abierta"
    r = cash(backend, t, "deposito", account, "250")
    assert r.state == "ejecutada" and "Depósito en efectivo" in r.receipt.text and r.receipt.get("Monto") == "$250.00"
    assert balance(backend, account) == 750_00
    cash(backend, t, "retiro", account, "100.50")
    assert balance(backend, account) == 649_50
    status = backend.tills.my_till(t.token)
    assert status.cash == 1000_00 + 250_00 - 100_50 and status.operations == 2
    close = backend.tills.close_till(t.token, {10000: 11, 2000: 2, 500: 1, 100: 4, 50: 1})
    assert close.state == "cerrada" and close.difference == 0
    assert backend.check() == []
    assert backend.outbox(last=1)[0].body.startswith("Cooprogreso: retiro en efectivo de $100.50")


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_find_member_by_cedula_name_or_account(backend, staff, member):
    _, account = member
    number = backend.db.conn.execute("SELECT number FROM accounts WHERE id = ?", (account,)).fetchone()[0]
    t = staff["cajero"].token
    for query in ("1104680135", "prueba uno", "ANA PRUEBA", number, "１１０４６８０１３５"):
        cards = backend.counter.find_member(t, query)
        assert [c.name for c in cards] == ["Ana Prueba Uno"], query
    card = backend.counter.find_member(t, "1104680135")[0]
    assert card.id_masked == "******0135" and card.accounts[0].id == account
    assert any("celular" in q for q, _ in card.check_questions)
    assert len(backend.counter.find_member(t, "100%")) == 0 and len(backend.counter.find_member(t, "a_b")) == 0


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_name_search_ignores_case_and_accents(backend, staff):
    add_member(backend, cedula="1104680135", first="José María", last="Ñúñez Álvarez")
    t = staff["cajero"].token
    for query in ("jose maria", "JOSÉ MARÍA", "ÑÚÑEZ", "nunez alvarez", "maría ñuñez", "ALVAREZ jose"):
        assert [c.name for c in backend.counter.find_member(t, query)] == ["José María Ñúñez Álvarez"], query
    assert len(backend.counter.find_member(t, "jose pedro")) == 0


def test_name_search_says_when_more_members_match_than_it_shows(backend, staff):
    from backend.demo.coop import cedula

    for n in range(12):
        add_member(backend, cedula=cedula(f"17{n + 300:07d}"), first=f"Socio {chr(65 + n)}", last="Pérez Quishpe")
    found = backend.counter.find_member(staff["cajero"].token, "PEREZ quishpe")
    assert len(found) == 10 and found.total == 12
    assert found.note == "Se muestran 10 de 12; afina la búsqueda."
    assert [c.name for c in found][:2] == ["Socio A Pérez Quishpe", "Socio B Pérez Quishpe"]
    assert backend.counter.find_member(staff["cajero"].token, "socio l perez").note == ""


def test_the_sql_fold_of_older_rows_matches_the_fold_on_write(backend):
    """Migration 11 fills `search_name` of existing members with SQL; it must agree with Python's fold."""
    from backend.core.name_search import fold, sql_fold_steps

    names = ["José MARÍA Ñúñez", "ÁLVAREZ Çelik", "Zoë Ýñiguez", "o'Brien 100%", "Ana_Prueba", "Ω Straße"]
    for name in names:
        value = name
        for step in sql_fold_steps("?"):
            value = backend.db.conn.execute(f"SELECT {step}", (value,)).fetchone()[0]
        assert value == fold(name), name


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_double_submit_books_once(backend, staff, member):
    _, account = member
    t = staff["cajero"]
    backend.tills.open_till(t.token, "100")
    key = uuid.uuid4().hex
    first = backend.counter.cash(t.token, "deposito", account, "20", key)
    again = backend.counter.cash(t.token, "deposito", account, "20", key)
    assert first.op_id == again.op_id and balance(backend, account) == 520_00


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_no_operations_without_an_open_till_or_cash_for_it(backend, staff, member):
    _, account = member
    t = staff["cajero"]
    with pytest.raises(ValidationError, match="Abre tu caja"):
        cash(backend, t, "deposito", account, "10")
    backend.tills.open_till(t.token, "50")
    with pytest.raises(ValidationError, match="efectivo en tu caja"):
        cash(backend, t, "retiro", account, "60")
    with pytest.raises(ValidationError, match="Saldo insuficiente"):
        backend.counter.quote(t.token, "retiro", account, "600")
    assert backend.check() == []


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_large_withdrawal_waits_and_nobody_approves_their_own(backend, staff, member, clock):
    _, account = member
    add_member(backend, cedula="0926687856", balance=0)
    t, sup = staff["cajero"], staff["supervisor"]
    backend.tills.open_till(t.token, "5000")
    backend.counter.cash(t.token, "deposito", account, "3000", uuid.uuid4().hex)
    before = balance(backend, account)
    threshold = backend.settings.teller_approval_threshold
    r = cash(backend, t, "retiro", account, f"{threshold / 100 + 1:.2f}")
    assert r.state == "por_aprobar" and r.receipt is None
    assert balance(backend, account) == before  # pending never moves money
    queue = backend.approvals.pending(sup.token)
    assert [a.id for a in queue] == [r.op_id] and queue[0].maker == "cajero1"
    # a supervisor who is also the maker? supervisors cannot make cash operations, so try the tellers
    with pytest.raises(Forbidden):
        backend.approvals.approve(t.token, r.op_id, "")
    backend.approvals.approve(sup.token, r.op_id, "")
    assert balance(backend, account) == before - threshold - 100
    assert backend.counter.receipt(t.token, r.op_id).get("Aprobado por") == "supervisor1"
    with pytest.raises(ValidationError):
        backend.approvals.approve(staff["supervisor2"].token, r.op_id, "")
    assert backend.check() == []


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_rejected_withdrawal_leaves_nothing(backend, staff, member):
    _, account = member
    t, sup = staff["cajero"], staff["supervisor"]
    backend.tills.open_till(t.token, "5000")
    backend.counter.cash(t.token, "deposito", account, "3000", uuid.uuid4().hex)
    entries = backend.db.conn.execute("SELECT COUNT(*) FROM entries").fetchone()[0]
    before = balance(backend, account)
    r = cash(backend, t, "retiro", account, "2500")
    with pytest.raises(ValidationError):
        backend.approvals.reject(sup.token, r.op_id, "")  # a rejection says why
    backend.approvals.reject(sup.token, r.op_id, "Firma no coincide")
    assert "Firma no coincide" in str(backend.audit_log(last=1)[0].details)
    assert balance(backend, account) == before
    assert backend.db.conn.execute("SELECT COUNT(*) FROM entries").fetchone()[0] == entries
    assert backend.approvals.pending(sup.token) == []
    assert backend.tills.close_till(t.token, {10000: 80}).state == "cerrada"


def test_self_approval_refused_for_a_supervisor_maker(backend, staff, member):
    """A supervisor never makes a cash operation, but the rule holds for any maker (mobile change here)."""
    member_id, _ = member
    sup = staff["supervisor"]
    from backend.branch import counter_ops

    maker = backend.auth.staff(sup.token).user_id
    with backend.db.write() as conn:  # a pending row whose maker is the supervisor
        op = counter_ops.insert(conn, backend.ctx, kind="cambio_celular", state="por_aprobar",
                                maker_id=maker, member_id=member_id,
                                key="self-approval-test", request={"new_mobile": "0987654321"})
    with pytest.raises(Forbidden):
        backend.approvals.approve(sup.token, op, "")
    assert backend.db.conn.execute("SELECT state FROM counter_ops WHERE id = ?", (op,)).fetchone()[0] == "por_aprobar"
    assert backend.audit_log(last=1)[0].outcome == "propia_rechazada"


@pytest.mark.parametrize("counts,difference", [({10000: 9, 5000: 1, 2000: 2, 500: 1, 100: 4, 1: 99}, -1), ({10000: 10, 25: 4}, 100)])
def test_close_with_difference_waits_for_a_supervisor_note_and_balances(backend, staff, member, counts, difference):
    _, account = member
    t, sup = staff["cajero"], staff["supervisor"]
    backend.tills.open_till(t.token, "1000")
    result = backend.tills.close_till(t.token, counts, "Conteo de fin de turno")
    assert result.state == "por_aprobar" and result.difference == difference
    with pytest.raises(ValidationError, match="cierre"):
        cash(backend, t, "deposito", account, "5")
    with pytest.raises(ValidationError):
        backend.approvals.approve(sup.token, result.op_id, "")  # a difference needs the supervisor's note
    backend.approvals.approve(sup.token, result.op_id, "Revisado con el cajero")
    decided = backend.audit_log(last=1)[0]  # the auditor reads why the difference was accepted, not only that it was
    assert decided.action == "aprobacion.cierre_caja" and "Revisado con el cajero" in str(decided.details)
    assert backend.tills.my_till(t.token).status == "cerrada"
    assert backend.tills.my_till(t.token).difference == difference
    fs = backend.db.conn.execute("SELECT balance FROM accounts WHERE name = 'Faltantes y sobrantes de caja'").fetchone()[0]
    till_account = backend.db.conn.execute("SELECT account_id FROM tills").fetchone()[0]
    assert fs == difference and balance(backend, till_account) == 0
    assert backend.check() == []


@pytest.mark.sqlite_only(covered=True)
def test_a_till_cannot_be_closed_by_another_teller(backend, staff):
    t, other = staff["cajero"], staff["cajero2"]
    backend.tills.open_till(t.token, "100")
    with pytest.raises(ValidationError, match="No tienes una caja abierta"):
        backend.tills.close_till(other.token, {10000: 1})
    assert backend.tills.my_till(t.token).status == "abierta"
    for role in ("supervisor", "atencion", "auditor"):
        with pytest.raises(Forbidden):
            backend.tills.close_till(staff[role].token, {10000: 1})


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_hostile_input_changes_nothing(backend, staff, member):
    _, account = member
    t = staff["cajero"]
    backend.tills.open_till(t.token, "100")
    for amount in ("-5", "1e3", "10.001", "\x1b[2J", "", "5\u200b"):
        with pytest.raises(ValidationError):
            cash(backend, t, "deposito", account, amount)
    for counts in ({10000: -1}, {3: 1}, {10000: True}, {10000: 10**9}):
        with pytest.raises(ValidationError):
            backend.tills.close_till(t.token, counts)
    with pytest.raises(ValidationError):
        backend.counter.find_member(t.token, "Ana\u202e")
    assert balance(backend, account) == 500_00
    cash(backend, t, "deposito", account, "５.２５")  # look-alike digits are folded to ASCII
    assert balance(backend, account) == 505_25


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_receipt_verifies_and_is_saved_privately(backend, staff, member, tmp_path):
    import os

    from backend.security.receipts import verify

    _, account = member
    t = staff["cajero"]
    backend.tills.open_till(t.token, "100")
    r = cash(backend, t, "deposito", account, "12")
    path = backend.counter.save_receipt(t.token, r.op_id, str(tmp_path))
    text = open(path, encoding="utf-8").read()
    assert verify(backend.ctx.secret("receipt_secret"), text) and os.stat(path).st_mode & 0o777 == 0o600
    assert not verify(backend.ctx.secret("receipt_secret"), text.replace("$12.00", "$92.00"))
    with pytest.raises(Forbidden):
        backend.counter.receipt(staff["cajero2"].token, r.op_id)  # another teller's operation


def test_migration_13_fills_the_names_of_members_written_before_it(backend, staff):
    from backend.core import name_search
    from backend.core.db import statements

    add_member(backend, cedula="1104680135", first="José María", last="Ñúñez Álvarez")
    with backend.db.write() as conn:
        conn.execute("DELETE FROM member_search")
    assert len(backend.counter.find_member(staff["cajero"].token, "nunez")) == 0
    for _ in range(2):  # runs again harmlessly
        with backend.db.write() as conn:
            for statement in statements(name_search.migration()):
                conn.execute(statement)
    assert [c.name for c in backend.counter.find_member(staff["cajero"].token, "ÑUÑEZ jose")] == \
        ["José María Ñúñez Álvarez"]


@pytest.mark.parametrize("counts", [{"x": 1}, {None: 1}, {True: 100}, {"1_00": 5}, {"+100": 5}, [10000],
                                    {"10000": 1, 10000: 1}])
@pytest.mark.sqlite_only(covered=True)
def test_a_count_with_a_key_that_is_no_denomination_is_refused_in_spanish(backend, staff, counts):
    """The count is read at the service: a key that is not a denomination's value in cents (a word, None, True
    read as 1 cent, «1_00» read as 100 by int(), a key given twice) is refused, never an unexpected error."""
    t = staff["cajero"]
    backend.tills.open_till(t.token, "100")
    with pytest.raises(ValidationError, match="Denominación"):
        backend.tills.close_till(t.token, counts)
    assert backend.tills.my_till(t.token).status == "abierta"
