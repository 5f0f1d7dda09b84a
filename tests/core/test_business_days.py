"""The co-op calendar: holidays as observed (traslados, decreed bridges), years loaded from a CSV, and every
due date and business day rolled by it."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from backend.branch import counter_ops, end_of_day
from backend.cards import card_cycle
from backend.core import accounts, business_days
from backend.core.business_days import shipped
from backend.core.errors import ServiceError, ValidationError
from backend.core.ledger import Leg, post
from cooprogreso_tui import cli
from tests.conftest import add_member

HEADER = "fecha,nombre,tipo,verificado,fuente\n"


def write(tmp_path, text: str, name: str = "feriados.csv"):
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return path


def calendar_of(backend):
    with backend.db.read() as conn:
        return business_days.current(conn)


def test_moved_holidays_count_on_the_day_people_rest_and_the_decreed_bridge_is_not_a_business_day():
    cal = shipped()
    # 10/08/2027 is a Tuesday: the rest moves to Monday 9; 03/11/2027 a Wednesday: to Friday 5
    assert cal.is_business_day(date(2027, 8, 10)) and not cal.is_business_day(date(2027, 8, 9))
    assert cal.is_business_day(date(2027, 11, 3)) and not cal.is_business_day(date(2027, 11, 5))
    assert not cal.is_business_day(date(2027, 11, 1)) and cal.is_business_day(date(2027, 11, 2))
    # Decreto Ejecutivo 249: Friday 02/01/2026 joined the New Year's holiday
    assert not cal.is_business_day(date(2026, 1, 2))
    assert cal.roll(date(2026, 1, 1)) == date(2026, 1, 5)
    assert cal.holiday(date(2026, 1, 2)).kind == "puente" and "249" in cal.holiday(date(2026, 1, 2)).source
    assert cal.next_business_day(date(2026, 11, 27)) == date(2026, 11, 30)  # Friday → Monday
    assert cal.next_business_day(date(2026, 10, 30)) == date(2026, 11, 4)  # Difuntos and Cuenca
    for h in cal.of_year(2026) + cal.of_year(2027):
        assert h.source and h.name
    assert all(h.verified for h in cal.of_year(2026))
    assert not any(h.verified for h in cal.of_year(2027))  # derived from the rule: said, not hidden


def test_a_year_without_a_calendar_counts_weekends_only_and_says_so():
    cal = shipped()
    assert not cal.covers(2031)
    assert cal.is_business_day(date(2031, 1, 1))  # no holiday guessed
    assert cal.roll(date(2031, 1, 4)) == date(2031, 1, 6)  # Saturday → Monday
    warnings = cal.warnings(date(2030, 11, 25))
    assert len(warnings) == 2 and "No hay calendario de feriados para 2030" in warnings[0]
    assert "2031" in warnings[1] and "cooprogreso calendario --load" in warnings[1]
    assert cal.warnings(date(2026, 11, 25)) == [cal.year_warning(2027)]  # 2026 complete, 2027 unverified


def test_a_loaded_year_replaces_the_shipped_one_and_is_audited(backend, tmp_path):
    path = write(tmp_path, "# calendario oficial 2027\n" + HEADER
                 + "2027-01-01,Año Nuevo,feriado,si,Viceministerio de Turismo\n"
                 + "2027-11-02,Día de los Difuntos,feriado,si,Viceministerio de Turismo\n"
                 + "2027-11-03,Independencia de Cuenca,feriado,si,Viceministerio de Turismo\n"
                 + "2027-12-24,Navidad (25/12 sábado),traslado,si,Decreto de prueba\n"
                 + "2028-01-03,Año Nuevo (01/01 sábado),traslado,no,Regla\n")
    report = business_days.load_file(backend.ctx, path, "cli")
    assert report.years == (2027, 2028) and report.holidays == 5 and report.unverified == 1
    cal = calendar_of(backend)
    assert not cal.is_business_day(date(2027, 11, 3)) and not cal.is_business_day(date(2027, 12, 24))
    assert cal.is_business_day(date(2027, 11, 5)) and cal.is_business_day(date(2027, 8, 9))  # shipped 2027 gone
    assert not cal.is_business_day(date(2026, 1, 2))  # other years keep the shipped calendar
    assert cal.origins[2027].loaded and cal.origins[2027].loaded_by == "cli" and not cal.origins[2026].loaded
    entry = backend.audit_log(last=1)[0]
    assert entry.action == "calendario.carga" and entry.outcome == "ok"
    # loading 2028 again replaces 2028 only
    business_days.load_file(backend.ctx, write(tmp_path, HEADER + "2028-02-28,Carnaval,feriado,si,X\n", "b.csv"),
                            "cli")
    cal = calendar_of(backend)
    assert cal.is_business_day(date(2028, 1, 3)) and not cal.is_business_day(date(2028, 2, 28))
    assert not cal.is_business_day(date(2027, 12, 24))


@pytest.mark.parametrize("body, message", [
    (HEADER + "2028-01-01,Año Nuevo,feriado,si,X\n2028-02-30,Carnaval,feriado,si,X\n", "Línea 3: la fecha"),
    (HEADER + "2028-01-01,Año Nuevo,feriado,si,X\n2028-01-01,Otra vez,feriado,si,X\n", "Línea 3: el 01/01/2028 ya"),
    (HEADER + "2028-01-01,Año \u202eNuevo,feriado,si,X\n", "Línea 2: el nombre contiene caracteres no permitidos"),
    (HEADER + "2028-01-01,Año Nuevo,vacaciones,si,X\n", "Línea 2: el tipo"),
    (HEADER + "2028-01-01,Año Nuevo,feriado,quizás,X\n", "Línea 2: «verificado»"),
    (HEADER + "2028-01-01,Año Nuevo,feriado,si,\n", "Línea 2: falta la fuente"),
    (HEADER + "2028-01-01,Año Nuevo,feriado,si\n", "Línea 2: se esperaban 5 columnas"),
    (HEADER + "١٢٣٤-01-01,Año Nuevo,feriado,si,X\n", "Línea 2: la fecha"),
    (HEADER + "3028-01-01,Año Nuevo,feriado,si,X\n", "Línea 2: el año 3028"),
    ("date,name\n2028-01-01,Año Nuevo\n", "Línea 1: se esperaba la fila de títulos"),
    (HEADER, "no tiene feriados"),
])
@pytest.mark.sqlite_only(covered=True)
def test_a_bad_file_is_refused_whole_with_its_line_and_changes_nothing(backend, tmp_path, body, message):
    before = calendar_of(backend)
    with pytest.raises(ValidationError) as refused:
        business_days.load_file(backend.ctx, write(tmp_path, body), "cli")
    assert message in refused.value.message
    after = calendar_of(backend)
    assert after.origins == before.origins and after.of_year(2028) == []
    entry = backend.audit_log(last=1)[0]
    assert entry.action == "calendario.carga" and entry.outcome == "rechazado"


@pytest.mark.sqlite_only(covered=True)
def test_a_file_that_is_not_a_calendar_is_refused_before_reading_it(backend, tmp_path):
    with pytest.raises(ServiceError, match="no está en UTF-8"):
        business_days.load_file(backend.ctx, _raw(tmp_path, b"fecha,nombre\xff\n"), "cli")
    with pytest.raises(ServiceError, match="demasiado grande"):
        business_days.load_file(backend.ctx, _raw(tmp_path, b"#" * (business_days.MAX_CSV_BYTES + 1)), "cli")
    with pytest.raises(ServiceError, match="no es un archivo normal"):
        business_days.load_file(backend.ctx, "/dev/zero", "cli")


def _raw(tmp_path, data: bytes):
    path = tmp_path / "raw.csv"
    path.write_bytes(data)
    return path


@pytest.mark.sqlite_only  # the CLI's wording; the loader itself runs on both engines above
def test_cli_loads_and_shows_the_calendar_and_names_the_bad_line(db_path, backend, tmp_path, capsys):
    bad = write(tmp_path, HEADER + "2028-01-01,Año Nuevo,feriado,si,X\n2028-13-01,X,feriado,si,X\n")
    assert cli.main(["calendario", "--db", str(db_path), "--load", str(bad)]) == 1
    assert "No se cargó nada: Línea 3: la fecha" in capsys.readouterr().err
    good = write(tmp_path, HEADER + "2028-01-03,Año Nuevo (01/01 sábado),traslado,si,Decreto de prueba\n", "g.csv")
    assert cli.main(["calendario", "--db", str(db_path), "--load", str(good)]) == 0
    out = capsys.readouterr().out
    assert "Calendario cargado: 2028 · 1 feriados" in out and "03/01/2028 Año Nuevo (01/01 sábado)" in out
    assert cli.main(["calendario", "--db", str(db_path), "--year", "2026"]) == 0
    out = capsys.readouterr().out
    assert "Feriados 2026 (incluido en el programa)" in out and "02/01/2026 Puente de Año Nuevo" in out
    assert "Aviso: Feriados 2027: 11 fechas sin verificar" in out
    assert cli.main(["check", "--db", str(db_path)]) == 0  # a warning, never a failure of the books
    assert "Aviso: Feriados 2027" in capsys.readouterr().out


def _close_on(backend, clock, day: date):
    with backend.db.write() as conn:
        conn.execute("INSERT INTO meta (key, value) VALUES ('business_date', ?) ON CONFLICT (key)"
                     " DO UPDATE SET value = excluded.value", (day.isoformat(),))
    clock.current = clock.current.replace(year=day.year, month=day.month, day=day.day, hour=20)
    return end_of_day.run(backend.ctx, backend, "test")


def business_date(backend) -> str:
    with backend.db.read() as conn:
        return counter_ops.business_date(conn, backend.ctx)


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_end_of_day_opens_the_next_business_day(backend, clock):
    assert _close_on(backend, clock, date(2026, 11, 27)).next_day == "2026-11-30"  # Friday → Monday
    assert _close_on(backend, clock, date(2026, 12, 31)).next_day == "2027-01-04"  # Año Nuevo, weekend
    assert business_date(backend) == "2027-01-04"
    assert _close_on(backend, clock, date(2026, 10, 30)).next_day == "2026-11-04"  # Difuntos, Cuenca


def test_before_the_first_close_a_weekend_belongs_to_the_next_business_day(backend, clock):
    """No close yet: on Saturday the business day is Monday; what was booked on the weekend is in Monday's report."""
    with backend.db.write() as conn:
        conn.execute("DELETE FROM meta WHERE key = 'business_date'")
    clock.current = clock.current.replace(day=28, hour=11)  # Saturday 28/11/2026
    assert business_date(backend) == "2026-11-30"
    with pytest.raises(ValidationError, match="todavía no llega"):
        end_of_day.run(backend.ctx, backend, "test")
    _, account = add_member(backend, cedula="1104680135")
    with backend.db.write() as conn:  # a deposit booked on Saturday
        caja = accounts.internal_account(conn, "caja")
        post(conn, kind="deposito", description="Depósito", posted_at=backend.ctx.now_iso(), actor="test",
             legs=[Leg(account, 70_00, "Depósito"), Leg(caja, -70_00, "Depósito")])
    clock.current = clock.current.replace(day=30, hour=20)
    report = end_of_day.run(backend.ctx, backend, "test")
    assert report.day == "2026-11-30" and report.next_day == "2026-12-01"
    with backend.db.read() as conn:
        days = {r[0] for r in conn.execute("SELECT e.business_date FROM entries e JOIN postings p ON p.entry_id = e.id"
                                           " WHERE p.account_id = ?", (account,))}
    assert days == {"2026-11-30"}
    assert any(t.kind == "deposito" for t in report.totals)
    assert backend.check() == []


def test_a_new_statement_is_due_on_a_business_day_and_a_stored_one_keeps_its_date(backend):
    with backend.db.read() as conn:
        card = conn.execute("SELECT account_id FROM cards ORDER BY account_id LIMIT 1").fetchone()[0]
    cut = date(2026, 12, 10)  # + 15 days = Christmas, Friday 25/12/2026
    with backend.db.write() as conn:
        conn.execute("UPDATE card_statements SET due_date = '2026-11-28' WHERE card_id = ? AND cut_date = "
                     "(SELECT MAX(cut_date) FROM card_statements WHERE card_id = ?)", (card, card))
        statement = card_cycle.close_statement(conn, backend.ctx, card, cut, notify=False)
    assert backend.settings.card_due_days == 15
    with backend.db.read() as conn:
        due = conn.execute("SELECT due_date FROM card_statements WHERE id = ?", (statement,)).fetchone()[0]
        older = conn.execute("SELECT due_date FROM card_statements WHERE card_id = ? AND cut_date < ?"
                             " ORDER BY cut_date DESC LIMIT 1", (card, cut.isoformat())).fetchone()[0]
    assert due == "2026-12-28"
    assert older == "2026-11-28"  # made before: never re-rolled


def test_demo_due_dates_all_fall_on_business_days(backend):
    cal = calendar_of(backend)
    with backend.db.read() as conn:
        dates = {name: [date.fromisoformat(r[0]) for r in conn.execute(sql)] for name, sql in (
            ("fecha máxima de pago", "SELECT due_date FROM card_statements"),
            ("cuota de crédito", "SELECT due_date FROM loan_installments"),
            ("vencimiento de plazo fijo", "SELECT maturity_date FROM term_deposits"))}
    for name, days in dates.items():
        assert days, name
        bad = [d for d in days if not cal.is_business_day(d)]
        assert not bad, f"{name}: {bad[:5]}"


def test_a_plazo_fijo_that_matures_on_a_holiday_pays_on_the_next_business_day_the_interest_quoted(backend):
    from backend.products import maturities

    with backend.db.read() as conn:
        member, savings = conn.execute("SELECT member_id, id FROM accounts WHERE kind = 'ahorros' AND status ="
                                       " 'activa' AND balance > 200000 ORDER BY id LIMIT 1").fetchone()
    start = date(2026, 11, 25)
    with backend.db.write() as conn:
        deposit = accounts.open_term_deposit(conn, member, from_account=savings, principal=1_000_00, rate_bp=500,
                                             start=start, days=30, actor="test")
    with backend.db.read() as conn:
        row = conn.execute("SELECT maturity_date, term_days FROM term_deposits WHERE account_id = ?",
                           (deposit,)).fetchone()
    assert (row[0], row[1]) == ("2026-12-28", 30)  # day 30 is Christmas
    maturities.mature_deposits(backend.ctx, date(2026, 12, 24))  # the day before its nominal end: not yet
    assert backend.db.conn.execute("SELECT status FROM accounts WHERE id = ?", (deposit,)).fetchone()[0] == "activa"
    before = backend.db.conn.execute("SELECT balance FROM accounts WHERE id = ?", (savings,)).fetchone()[0]
    maturities.mature_deposits(backend.ctx, date(2026, 12, 28))
    after = backend.db.conn.execute("SELECT balance FROM accounts WHERE id = ?", (savings,)).fetchone()[0]
    assert after - before >= 1_000_00 + maturities.deposit_interest(1_000_00, 500, 30)
    closed = backend.db.conn.execute("SELECT status FROM accounts WHERE id = ?", (deposit,)).fetchone()[0]
    assert closed == "cerrada"


def test_loan_cuotas_are_stored_on_business_days(backend):
    with backend.db.read() as conn:
        member, savings = conn.execute("SELECT member_id, id FROM accounts WHERE kind = 'ahorros' AND status ="
                                       " 'activa' ORDER BY id LIMIT 1").fetchone()
    with backend.db.write() as conn:
        loan = accounts.open_loan(conn, member, to_account=savings, principal=1_200_00, rate_bp=1500, months=12,
                                  start=date(2026, 11, 25), actor="test",
                                  schedule=[(date(2026, 12, 25) + timedelta(days=31 * n), 100_00, 0)
                                            for n in range(12)])
    with backend.db.read() as conn:
        first = conn.execute("SELECT due_date FROM loan_installments WHERE loan_id = ? AND number = 1",
                             (loan,)).fetchone()[0]
    assert first == "2026-12-28"


@pytest.mark.sqlite_only(covered=True)
def test_ayuda_year_view_names_its_source(backend):
    from tests.transfer_helpers import demo_member

    who = demo_member(backend)
    view = backend.calendar.year(who.token)
    assert view.year == 2026 and len(view.holidays) == 12 and "Decreto Ejecutivo 249" in view.source
    assert backend.calendar.year(who.token, 2027).warnings
    assert backend.calendar.year(who.token, 2035).source == "Sin calendario cargado para este año."
    with pytest.raises(ServiceError):
        backend.calendar.year("not-a-token")
