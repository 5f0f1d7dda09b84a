"""The legal rate caps as published (issue #19): their sources, the monthly table loaded by `cooprogreso tasas`,
a stale table warned to the staff and by `check`, an offer above its cap refused and flagged, Ayuda's page."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from backend.core import rates
from backend.core.amortization import french
from backend.core.errors import ServiceError, ValidationError
from backend.core.rates import RateAboveCap
from backend.core.settings import Settings
from backend.help.faq import faqs
from cooprogreso_tui import cli
from tests.staff_helpers import team

HEADER = "segment,valid_from,valid_to,max_effective,verified,source\n"
NOVEMBER = (HEADER + "consumo,2026-11-01,2026-11-30,16.77,si,\"BCE, tasas máximas noviembre 2026 (prueba)\"\n"
            "inmobiliario,2026-11-01,2026-11-30,10.40,si,\"BCE, tasas máximas noviembre 2026 (prueba)\"\n")


def write(tmp_path, text: str, name: str = "tasas.csv"):
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return path


def book_of(backend):
    with backend.db.read() as conn:
        return rates.current_book(conn)


def test_the_shipped_caps_are_the_published_ones_each_with_its_source():
    book = rates.default_book()
    on = date(2026, 1, 15)
    caps = {c.segment: c for c in book.caps_on(on)}
    published = {"productivo_corporativo": "8.97", "productivo_empresarial": "11.65", "productivo_pymes": "10.91",
                 "consumo": "16.77", "educativo": "9.50", "educativo_social": "7.50", "inmobiliario": "10.40",
                 "vivienda_interes_social": "4.99", "vivienda_interes_publico": "4.99", "inversion_publica": "9.33",
                 "microcredito_minorista": "28.23", "microcredito_acumulacion_simple": "24.89",
                 "microcredito_acumulacion_ampliada": "22.05"}
    assert {s: rates.format_rate(c.max_effective) for s, c in caps.items()} == {s: f"{v}%" for s, v in published.items()}
    assert all(c.source and ("JPRF" in c.source or "BCE" in c.source) for c in book.caps)
    assert not caps["inmobiliario"].verified and caps["consumo"].verified  # said in the data, not hidden
    # the productivo caps of January 2026 end with it: nothing earlier or later is guessed
    assert "productivo_pymes" not in {c.segment for c in book.caps_on(date(2026, 2, 1))}
    assert "productivo_pymes" not in {c.segment for c in book.caps_on(date(2025, 12, 31))}
    assert book.cap("consumo", date(2025, 6, 1)).valid_from == date(2022, 7, 1)  # no invented 2020 history
    with pytest.raises(ValidationError, match="No hay una tasa máxima vigente"):
        book.cap("consumo", date(2021, 6, 1))


@pytest.mark.sqlite_only(covered=True)
def test_the_inmobiliario_offer_is_refused_under_the_published_cap_and_flagged_to_staff(backend, lucia, clock):
    with pytest.raises(RateAboveCap, match=r"10\.75% supera la tasa máxima legal del segmento Inmobiliario \(10\.40%"):
        backend.product_requests.simulate_loan(lucia.token, "inmobiliario", 50_000_00, 240, "frances")
    flagged = [w for w in backend.rate_warnings() if "«inmobiliario»" in w]
    assert flagged and "10.75%" in flagged[0] and "10.40%" in flagged[0]
    supervisor = team(backend, clock)["supervisor"]
    assert flagged[0] in backend.end_of_day.rate_warnings(supervisor.token)
    # every other offer is under its cap
    assert {o.product for o, _ in book_of(backend).offers_over_cap(clock.now().date())} == {"inmobiliario"}


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_a_stale_table_is_warned_until_the_new_one_is_loaded(backend, tmp_path):
    stale = [w for w in backend.rate_warnings() if "más reciente es del 01/01/2026" in w]
    assert stale and "328 días; el límite es 45" in stale[0]
    rates.load_file(backend.ctx, write(tmp_path, NOVEMBER), "cli")
    assert not any("más reciente" in w for w in backend.rate_warnings())
    book = book_of(backend)
    cap = book.cap("consumo", date(2026, 11, 25))
    assert cap.valid_from == date(2026, 11, 1) and cap.loaded_by == "cli" and "noviembre 2026" in cap.source
    with pytest.raises(ValidationError, match="No hay una tasa máxima vigente"):  # its validity ended
        book.cap("consumo", date(2026, 12, 1))
    entry = backend.audit_log(last=1)[0]
    assert entry.action == "tasas.carga" and entry.outcome == "ok"


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_a_row_dated_in_the_future_does_not_hide_a_stale_table(backend, tmp_path):
    """A table holding a row that starts in 2099 is not «fresh» today: the newest row in force decides."""
    far = HEADER + "consumo,2099-01-01,,16.77,si,\"BCE (prueba)\"\n"
    rates.load_file(backend.ctx, write(tmp_path, far), "cli")
    stale = [w for w in backend.rate_warnings() if "más reciente es del 01/01/2026" in w]
    assert stale and "328 días" in stale[0]


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_a_loaded_cap_applies_to_simulations_at_once(backend, lucia, tmp_path):
    """A lower consumo cap loaded today refuses the co-op's 15.60% consumo offer from the next simulation on."""
    assert backend.product_requests.simulate_loan(lucia.token, "consumo", 1_000_00, 12, "frances")
    rates.load_file(backend.ctx, write(tmp_path, HEADER + "consumo,2026-11-20,,15.00,si,Prueba\n"), "cli")
    with pytest.raises(RateAboveCap, match=r"Consumo \(15\.00%, vigente desde 20/11/2026\)"):
        backend.product_requests.simulate_loan(lucia.token, "consumo", 1_000_00, 12, "frances")


@pytest.mark.parametrize("body, message", [
    (HEADER + "consumo,2026-11-01,,16.77,si,X\nconsumo,2026-02-30,,16.77,si,X\n", "Línea 3: «valid_from» debe ser"),
    (HEADER + "consumo,2026-11-01,,16.77,si,X\nconsumo,2026-11-01,,16.50,si,X\n", "Línea 3: el segmento consumo ya"),
    (HEADER + "hipotecario,2026-11-01,,16.77,si,X\n", "Línea 2: segmento desconocido"),
    (HEADER + "consumo,2026-11-01,2026-10-01,16.77,si,X\n", "Línea 2: «valid_to» es anterior"),
    (HEADER + "consumo,2026-11-01,,16,77,si,X\n", "Línea 2: se esperaban 6 columnas"),
    (HEADER + "consumo,2026-11-01,,1e2,si,X\n", "Línea 2: la tasa máxima debe ser"),
    (HEADER + "consumo,2026-11-01,,0,si,X\n", "Línea 2: la tasa máxima debe ser"),
    (HEADER + "consumo,2026-11-01,,NaN,si,X\n", "Línea 2: la tasa máxima debe ser"),
    (HEADER + "consumo,2026-11-01,,16.77,quizás,X\n", "Línea 2: «verified»"),
    (HEADER + "consumo,2026-11-01,,16.77,si,\n", "Línea 2: falta la fuente"),
    (HEADER + "consumo,2026-11-01,,16.77,si,BCE \u202e[31mX\n", "Línea 2: la fuente contiene caracteres no permitidos"),
    ("segment,valid_from,max_effective\nconsumo,2026-11-01,16.77\n", "Línea 1: se esperaba la fila de títulos"),
    (HEADER, "no tiene tasas"),
])
@pytest.mark.sqlite_only(covered=True)
def test_a_bad_table_is_refused_whole_with_its_line_and_changes_nothing(backend, tmp_path, body, message):
    before = book_of(backend).caps
    with pytest.raises(ValidationError) as refused:
        rates.load_file(backend.ctx, write(tmp_path, body), "cli")
    assert message in refused.value.message
    assert book_of(backend).caps == before
    entry = backend.audit_log(last=1)[0]
    assert entry.action == "tasas.carga" and entry.outcome == "rechazado"


@pytest.mark.sqlite_only(covered=True)
def test_a_file_that_is_not_a_table_is_refused_before_reading_it(backend, tmp_path):
    raw = tmp_path / "raw.csv"
    raw.write_bytes(b"segment\xff\n")
    with pytest.raises(ServiceError, match="no está en UTF-8"):
        rates.load_file(backend.ctx, raw, "cli")
    raw.write_bytes(b"#" * (rates.MAX_CSV_BYTES + 1))
    with pytest.raises(ServiceError, match="demasiado grande"):
        rates.load_file(backend.ctx, raw, "cli")
    with pytest.raises(ServiceError, match="no es un archivo normal"):
        rates.load_file(backend.ctx, "/dev/zero", "cli")


@pytest.mark.sqlite_only  # the CLI's wording; the loader itself runs on both engines above
def test_cli_lists_the_caps_with_sources_loads_a_table_and_check_warns(db_path, backend, tmp_path, capsys):
    assert cli.main(["check", "--db", str(db_path)]) == 0  # a warning, never a failure of the books
    out = capsys.readouterr().out
    assert "Aviso: La tabla de tasas máximas más reciente es del 01/01/2026" in out
    assert "Aviso: La oferta «inmobiliario»" in out
    bad = write(tmp_path, HEADER + "consumo,2026-11-01,,16.77,si,X\nconsumo,2026-13-01,,16.77,si,X\n")
    assert cli.main(["tasas", "--db", str(db_path), "--load", str(bad)]) == 1
    assert "No se cargó nada: Línea 3: «valid_from»" in capsys.readouterr().err
    assert cli.main(["tasas", "--db", str(db_path), "--load", str(tmp_path / "missing.csv")]) == 2
    capsys.readouterr()
    assert cli.main(["tasas", "--db", str(db_path), "--load", str(write(tmp_path, NOVEMBER, "n.csv"))]) == 0
    out = capsys.readouterr().out
    assert "Tasas máximas cargadas: 2 filas, la más reciente vigente desde el 01/11/2026" in out
    assert "Tasas máximas vigentes al 25/11/2026" in out
    assert "16.77%  desde el 01/11/2026 hasta el 30/11/2026 · BCE, tasas máximas noviembre 2026 (prueba)" in out
    assert "Microcrédito Minorista" in out and "[sin verificar]" in out
    assert "más reciente es del" not in out
    assert cli.main(["check", "--db", str(db_path)]) == 0
    assert "más reciente es del" not in capsys.readouterr().out


def test_the_faq_explains_the_manuals_diferido_illustration_with_the_apps_own_figures():
    entry = next(e for e in faqs(Settings())
                 if e.id == "diferido_ejemplo")
    # the manual's $40 in 3 cuotas of $15: the monthly rate i with 40 = 15·(1 − (1+i)^−3)/i, as an effective rate
    lo, hi = Decimal(0), Decimal(1)
    for _ in range(200):
        i = (lo + hi) / 2
        lo, hi = (i, hi) if sum(Decimal(15) / (1 + i) ** k for k in (1, 2, 3)) > 40 else (lo, i)
    effective = (1 + lo) ** 12 - 1
    assert Decimal("1.03") < effective < Decimal("1.05") and effective / Decimal("0.1677") > 6
    assert "104%" in entry.answer and "seis veces" in entry.answer and "16.77%" in entry.answer
    quote = rates.default_book().quote("diferido", 3, date(2026, 11, 25))
    schedule = french(40_00, quote.monthly, 3)
    assert (schedule.cuota, schedule.total_interest) == (13_66, 96)
    assert "$13.66" in entry.answer and "$0.96" in entry.answer and rates.format_rate(quote.effective) in entry.answer
