"""Cierre del día: refused while a till is open, passes run, books clean, date moves on once."""

from __future__ import annotations

import io
import uuid

import pytest

from backend.core.errors import Forbidden, ValidationError
from cooprogreso_tui import cli
from tests.conftest import add_member
from tests.staff_helpers import team
from tests.transfer_helpers import demo_member


@pytest.fixture
def staff(backend, clock):
    return team(backend, clock)


def mixed_day(backend, staff, clock):
    """A day of mixed operations by two tellers, one approval, one close with a difference."""
    _, a = add_member(backend, cedula="1104680135", balance=5000_00)
    _, b = add_member(backend, cedula="0926687856", balance=100_00)
    t1, t2, sup = staff["cajero"], staff["cajero2"], staff["supervisor"]
    backend.tills.open_till(t1.token, "3000")
    backend.tills.open_till(t2.token, "200")
    for who, kind, acc, amount in ((t1, "deposito", a, "120.35"), (t2, "deposito", b, "80"),
                                   (t1, "retiro", b, "50"), (t2, "retiro", a, "10.10")):
        backend.counter.cash(who.token, kind, acc, amount, uuid.uuid4().hex)
    big = backend.counter.cash(t1.token, "retiro", a, "2500", uuid.uuid4().hex)
    backend.approvals.approve(sup.token, big.op_id, "")
    cash1 = backend.tills.my_till(t1.token).cash
    backend.tills.close_till(t1.token, {1: cash1})
    short = backend.tills.close_till(t2.token, {100: (backend.tills.my_till(t2.token).cash // 100) - 1})
    backend.approvals.approve(sup.token, short.op_id, "Faltante reconocido por el cajero")


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_refused_while_a_till_is_open_then_closes_and_moves_on(backend, staff, clock):
    sup = staff["supervisor"]
    backend.tills.open_till(staff["cajero"].token, "100")
    day, reason = backend.end_of_day.business_day(sup.token)
    assert day == "2026-11-25" and "cajero1" in reason
    with pytest.raises(ValidationError, match="cajas abiertas"):
        backend.end_of_day.close_day(sup.token)
    backend.tills.close_till(staff["cajero"].token, {10000: 1})
    report = backend.end_of_day.close_day(sup.token)
    assert report.day == "2026-11-25" and report.next_day == "2026-11-26"
    assert any(t.kind == "cierre_caja" for t in report.totals)
    assert [label for label, _ in report.passes][0] == "Liquidación interbancaria"
    assert backend.end_of_day.business_day(sup.token)[0] == "2026-11-26"
    with pytest.raises(ValidationError, match=r"ya lo cerró Hugo Torres \(supervisor1\)"):
        from backend.branch import end_of_day

        with backend.db.write() as conn:
            conn.execute("UPDATE meta SET value = '2026-11-25' WHERE key = 'business_date'")
        end_of_day.run(backend.ctx, backend, "test")


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_check_is_clean_after_a_day_of_mixed_operations(backend, staff, clock):
    mixed_day(backend, staff, clock)
    assert backend.check() == []
    report = backend.end_of_day.close_day(staff["supervisor"].token)
    kinds = {t.kind: t for t in report.totals}
    assert kinds["deposito_ventanilla"].entries == 2 and kinds["deposito_ventanilla"].amount == 200_35
    assert kinds["retiro_ventanilla"].entries == 3 and kinds["retiro_ventanilla"].amount == 2560_10


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_only_supervisors_close_the_day(backend, staff):
    for role in ("cajero", "atencion", "auditor"):
        with pytest.raises(Forbidden):
            backend.end_of_day.close_day(staff[role].token)


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_cli_refuses_with_the_reason_then_closes(db_path, backend, staff, monkeypatch, capsys):
    backend.tills.open_till(staff["cajero"].token, "100")
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert cli.main(["--set", "scrypt_log_n=8", "end-of-day", "--db", str(db_path)]) == 1
    assert "cajas abiertas (cajero1)" in capsys.readouterr().err
    backend.tills.close_till(staff["cajero"].token, {10000: 1})
    assert cli.main(["--set", "scrypt_log_n=8", "end-of-day", "--db", str(db_path)]) == 0
    out = capsys.readouterr().out
    assert "cerrado; nuevo día de negocio" in out and "Cierre de caja: efectivo a bóveda" in out
    assert "cierre_caja" not in out and "Liquidación interbancaria: 0 revisadas" in out
    assert not any(word in out for word in ("checked", "credited", "statements", "cards "))


def test_every_entry_kind_the_backend_books_has_a_spanish_label():
    """The day's report names each kind in words: every kind a `post(...)` can write is in the one list."""
    import re
    from pathlib import Path

    from backend.branch import counter
    from backend.cards import card_ledger
    from backend.core import ledger
    from backend.transfers import transfers

    source = "\n".join(p.read_text(encoding="utf-8") for p in Path("backend").rglob("*.py"))
    kinds = set(re.findall(r'post\(\s*conn,\s*kind="([a-z_]+)"', source))
    kinds |= set(re.findall(r'_simple\([^\n]*"([a-z_]+)"(?:, skip_if_short=True)?\)\)\)', source))
    kinds |= {card_ledger.PURCHASE, card_ledger.PAYMENT, card_ledger.DEFERRAL, card_ledger.CYCLE}
    kinds |= {f"transferencia_{k}" for k in transfers.KINDS} | {f"{k}_ventanilla" for k in counter.CASH_KINDS}
    assert {"apertura_caja", "cierre_caja", "sueldo", "pago_servicio"} <= kinds
    assert sorted(kinds - set(ledger.KIND_LABELS)) == []
    assert ledger.kind_label("tipo_nuevo") == "Tipo nuevo"  # a kind added later still reads as words


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_report_shows_kinds_and_pass_counts_in_spanish(backend, staff, clock):
    mixed_day(backend, staff, clock)
    report = backend.end_of_day.close_day(staff["supervisor"].token)
    labels = {t.label for t in report.totals}
    assert {"Depósito en ventanilla", "Retiro en ventanilla", "Apertura de caja"} <= labels
    passes = dict(report.passes)
    assert passes["Liquidación interbancaria"].startswith("0 revisadas, 0 acreditadas")


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_a_day_that_has_not_come_cannot_be_closed(backend, clock):
    from backend.branch import end_of_day

    assert end_of_day.run(backend.ctx, backend, "test").next_day == "2026-11-26"  # today, 25 November
    with pytest.raises(ValidationError, match="todavía no llega"):
        end_of_day.run(backend.ctx, backend, "test")  # the 26th is still tomorrow: cycles stay open
    clock.advance(days=1)
    assert end_of_day.run(backend.ctx, backend, "test").day == "2026-11-26"


def test_end_of_day_runs_the_scheduled_payments_pass(backend, clock):
    """A schedule due on the business day is paid by the close, and the report says so."""
    from backend.branch import end_of_day
    from tests.services_helpers import add_schedule, loaded

    loaded(backend)
    who = demo_member(backend)
    add_schedule(backend, who, identifier="022345671", day=26)
    clock.advance(days=1)  # the 26th: the schedule's day, not closed yet
    report = end_of_day.run(backend.ctx, backend, "test")
    passes = dict(report.passes)
    assert passes["Pagos programados"].startswith("1 vencido, 1 pagado, 0 fallidos")
    assert [label for label, _ in report.passes][:3] == ["Liquidación interbancaria", "Pagos programados",
                                                         "Cierre de ciclo de tarjetas"]
    paid = backend.db.conn.execute("SELECT COUNT(*) FROM bill_payments WHERE origin = 'automatico'").fetchone()[0]
    assert paid == 1 and backend.check() == []


def test_a_missing_pass_is_an_error_never_a_silent_skip(backend, clock, monkeypatch):
    from backend.branch import end_of_day

    monkeypatch.delattr(type(backend), "scheduled_runner")
    with pytest.raises(AttributeError):
        end_of_day.run(backend.ctx, backend, "test")
    assert backend.db.conn.execute("SELECT COUNT(*) FROM business_days").fetchone()[0] == 0
    outcome, details = backend.db.conn.execute("SELECT outcome, details FROM audit_log WHERE action = 'cierre_dia'"
                                               " ORDER BY id DESC LIMIT 1").fetchone()
    assert outcome == "error" and "Pagos programados" in details


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_till_close_reports_cash_to_the_vault_and_the_difference_apart(backend, staff, clock):
    t1, t2, sup = staff["cajero"], staff["cajero2"], staff["supervisor"]
    backend.tills.open_till(t1.token, "1850")
    backend.tills.open_till(t2.token, "500")
    backend.tills.close_till(t1.token, {100: 1850})  # balanced
    short = backend.tills.close_till(t2.token, {100: 400})  # $100 short
    backend.approvals.approve(sup.token, short.op_id, "Faltante reconocido")
    report = backend.end_of_day.close_day(sup.token)
    kinds = {t.kind: t for t in report.totals}
    assert kinds["cierre_caja"].entries == 2 and kinds["cierre_caja"].amount == 2250_00
    assert kinds["cierre_caja"].label == "Cierre de caja: efectivo a bóveda"
    assert kinds["faltante_caja"].amount == 100_00 and kinds["faltante_caja"].label == "Faltantes de caja"
    assert "sobrante_caja" not in kinds and backend.check() == []


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_a_surplus_is_reported_as_such(backend, staff, clock):
    t1 = staff["cajero"]
    backend.tills.open_till(t1.token, "500")
    over = backend.tills.close_till(t1.token, {10000: 5, 1000: 2})  # $20 over
    backend.approvals.approve(staff["supervisor"].token, over.op_id, "Sobrante reconocido")
    kinds = {t.kind: t for t in backend.end_of_day.close_day(staff["supervisor"].token).totals}
    assert kinds["cierre_caja"].amount == 520_00 and kinds["sobrante_caja"].amount == 20_00
    assert "faltante_caja" not in kinds


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_cli_prints_dates_as_the_screens_do_and_counts_in_spanish(db_path, backend, staff, monkeypatch, capsys):
    backend.tills.open_till(staff["cajero"].token, "100")
    backend.tills.close_till(staff["cajero"].token, {10000: 1})
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert cli.main(["--set", "scrypt_log_n=8", "end-of-day", "--db", str(db_path)]) == 0
    out = capsys.readouterr().out
    assert "Día 25/11/2026 cerrado; nuevo día de negocio: 26/11/2026" in out and "2026-11-25" not in out
    assert " 1 asiento " in out and " 1 asientos" not in out


def test_operations_after_the_close_belong_to_the_next_business_day(backend, staff, clock):
    """Closed the 25th in the morning; a deposit made later that day is in the 26th's report, not lost."""
    from backend.branch import end_of_day

    _, acc = add_member(backend, cedula="1104680135", balance=100_00)
    t1, sup = staff["cajero"], staff["supervisor"]
    backend.tills.open_till(t1.token, "100")
    backend.counter.cash(t1.token, "deposito", acc, "10", uuid.uuid4().hex)
    backend.tills.close_till(t1.token, {10000: 1, 1000: 1})
    first = backend.end_of_day.close_day(sup.token)
    assert {t.kind: t.entries for t in first.totals}["deposito_ventanilla"] == 1
    clock.advance(minutes=1)  # still the 25th by the calendar
    backend.tills.open_till(t1.token, "100")
    backend.counter.cash(t1.token, "deposito", acc, "7.25", uuid.uuid4().hex)
    backend.tills.close_till(t1.token, {10000: 1, 25: 29})
    stamped = backend.db.conn.execute("SELECT business_date FROM entries WHERE kind = 'deposito_ventanilla'"
                                      " ORDER BY id").fetchall()
    assert [r[0] for r in stamped] == ["2026-11-25", "2026-11-26"]
    clock.advance(days=1)
    second = end_of_day.run(backend.ctx, backend, "test")
    kinds = {t.kind: t for t in second.totals}
    assert second.day == "2026-11-26" and kinds["deposito_ventanilla"].amount == 7_25
    assert kinds["cierre_caja"].amount == 107_25 and backend.check() == []


@pytest.mark.sqlite_only  # builds an old file by hand
def test_older_entries_get_their_calendar_day(tmp_path):
    """A file from before the business-day column: each entry is stamped with its calendar day."""
    import sqlite3

    from backend.core.database import open_database
    from backend.core.db import statements
    from backend.core.schema import MIGRATIONS

    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path, isolation_level=None)
    version = next(n for n, sql in enumerate(MIGRATIONS) if "business_date TEXT" in sql)
    for number in range(version):
        for statement in statements(MIGRATIONS[number]):
            conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {version}")
    conn.execute("INSERT INTO entries (kind, description, posted_at, actor)"
                 " VALUES ('deposito', 'x', '2026-03-04 23:59:59', 'demo')")
    conn.close()
    db = open_database(path)
    assert db.conn.execute("SELECT business_date FROM entries").fetchone()[0] == "2026-03-04"
    db.close()


def test_the_close_waits_for_a_booking_already_stamped_with_its_day(make_backend, engine):
    """PostgreSQL: an entry stamped with the day being closed but not yet committed is in that day's report
    (the close waits for it), never stamped with a closed day and left out of every report."""
    import threading

    from backend.branch import end_of_day
    from backend.core import accounts
    from backend.core.ledger import Leg, post

    if engine != "postgresql":
        pytest.skip("SQLite writers are serial")
    booker, closer = make_backend(), make_backend()
    stamped, release = threading.Event(), threading.Event()
    with booker.db.write() as conn:  # created beforehand: a first use takes a lock of its own
        bce, fees = accounts.internal_account(conn, "bce"), accounts.internal_account(conn, "comisiones")
        for key in accounts.INTERNAL:
            accounts.internal_account(conn, key)

    def book():
        with booker.db.write() as conn:
            legs = [Leg(bce, 12_34, "Prueba"), Leg(fees, -12_34, "Prueba")]
            post(conn, kind="prueba_en_vuelo", description="En vuelo", legs=legs, posted_at=booker.ctx.now_iso(),
                 actor="test")
            stamped.set()
            release.wait(30)

    thread = threading.Thread(target=book)
    thread.start()
    assert stamped.wait(30)
    reports = []
    closing = threading.Thread(target=lambda: reports.append(end_of_day.run(closer.ctx, closer, "test")))
    closing.start()
    watcher = make_backend()
    for _ in range(300):  # until the close waits on the business-day lock (or gives up: the report then tells)
        if watcher.db.conn.execute("SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                                   ).fetchone()[0]:
            break
        if not closing.is_alive():
            break
        threading.Event().wait(0.05)
    release.set()
    thread.join()
    closing.join()
    kinds = {t.kind: t for t in reports[0].totals}
    assert kinds["prueba_en_vuelo"].amount == 12_34 and kinds["prueba_en_vuelo"].entries == 1
    # The books checkpoint the close left covers the entry that was in flight (it waited for it, then checked it)
    with watcher.db.read() as conn:
        flying = conn.execute("SELECT id FROM entries WHERE kind = 'prueba_en_vuelo'").fetchone()[0]
        assert watcher.books.checkpoint(conn).entry_id >= flying


def test_the_supervisor_who_lost_the_race_is_told_who_closed_the_day(make_backend, clock):
    """Two supervisors on two servers close the same day: the one who finishes second is told who closed it
    and when (never «intenta de nuevo», whose retry only said the day was closed), and so is any later try."""
    from backend.branch import end_of_day

    first, second = make_backend(), make_backend()
    people = team(first, clock)
    reports = []

    def meanwhile(done: int, steps: int, label: str) -> None:
        if label == "Informe y nuevo día de negocio":  # the loser's passes and check are done: the other wins now
            clock.advance(minutes=2)
            reports.append(second.end_of_day.close_day(people["supervisor2"].token))

    with pytest.raises(ValidationError) as lost:
        end_of_day.run(first.ctx, first, "supervisor1", meanwhile)
    assert reports[0].day == "2026-11-25"
    told = f"El día 25/11/2026 ya lo cerró Inés Mora (supervisor2) el 25/11/2026 a las {clock.now():%H:%M}."
    assert lost.value.message == told and lost.value.code == "dia_ya_cerrado"
    with pytest.raises(ValidationError) as again:  # the supervisor's screen still shows the 25th
        first.end_of_day.close_day(people["supervisor"].token, "2026-11-25")
    assert again.value.message == told
    assert first.db.conn.execute("SELECT COUNT(*) FROM business_days").fetchone()[0] == 1
    refused = first.db.conn.execute("SELECT actor, details FROM audit_log WHERE action = 'cierre_dia'"
                                    " AND outcome = 'rechazado' ORDER BY id").fetchall()
    assert [r[0] for r in refused] == ["supervisor1", "supervisor1"] and "Inés Mora" in refused[0][1]


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_a_day_closed_from_the_console_says_so(make_backend, clock):
    from backend.branch import end_of_day

    backend = make_backend(staff_idle_seconds=10**6)
    supervisor = team(backend, clock)["supervisor"]

    end_of_day.run(backend.ctx, backend, "cli")
    clock.advance(days=1)  # the 26th has come: the screen still showing the 25th must not close the 26th instead
    with pytest.raises(ValidationError, match=r"^El día 25/11/2026 ya se cerró desde la consola del servidor"
                                              r" \(cooprogreso end-of-day\) el 25/11/2026 a las 10:0\d\.$"):
        backend.end_of_day.close_day(supervisor.token, "2026-11-25")
    assert backend.db.conn.execute("SELECT COUNT(*) FROM business_days").fetchone()[0] == 1


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_a_day_to_close_that_is_no_date_is_refused_and_nothing_closes(backend, staff):
    for odd in ("2026-02-30", "25/11/2026\x1b]0;x\x07", "", 20261125):
        with pytest.raises(ValidationError, match="no es una fecha válida"):
            backend.end_of_day.close_day(staff["supervisor"].token, odd)
    assert backend.db.conn.execute("SELECT COUNT(*) FROM business_days").fetchone()[0] == 0
