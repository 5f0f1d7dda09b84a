"""No ISO date reaches a person (issue #21, «Fechas»): every section a member or a staff role opens at 80×24 and
the CLI commands that print dates show dd/mm/aaaa (Última conexión as the manual shows it), never AAAA-MM-DD. The
screen walks run on SQLite only: dates are TEXT on both engines and formatted in Python, and every statement they
send kept PostgreSQL tests send too (tests/pg_census.py); the CLI test keeps its PostgreSQL variant."""

import re

import pytest

from screens.menu.registry import SECTIONS
from tests.bill_payments.test_services import pay
from tests.branch.test_ui_staff import staff_login
from tests.services_helpers import add_schedule
from tests.staff_helpers import enrol
from tests.transfer_helpers import demo_member
from tests.ui import SIZE, login, make_app, screen_text, settle

ISO = re.compile(r"\d{4}-\d{2}-\d{2}")
AUDIENCES = sorted({s.audience for s in SECTIONS})
STAFF_CEDULAS = {"cajero": "0901234567", "atencion": "0903456788", "supervisor": "0904567898"}


def _member_data(backend) -> None:
    """Something dated in every member section: a bill paid, a schedule, a claim."""
    who = demo_member(backend)
    pay(backend, who)
    add_schedule(backend, who, identifier="022345671")
    backend.contact.write(who.token, "reclamo", "Me cobraron dos veces la luz.")


async def _open_every_section(pilot, audience: str) -> dict[str, str]:
    seen = {}
    for section in SECTIONS:
        if section.audience != audience or section.screen is None:
            continue
        pilot.app.screen.open_section(section.key)
        await settle(pilot)
        seen[section.key] = screen_text(pilot.app)
        while len(pilot.app.screen_stack) > 2:
            pilot.app.pop_screen()
            await settle(pilot)
    return seen


def _iso_in(seen: dict[str, str]) -> dict[str, list[str]]:
    return {key: ISO.findall(text) for key, text in seen.items() if ISO.search(text)}


@pytest.mark.sqlite_only(covered=True)  # dates are TEXT on both engines, formatted in Python
async def test_no_member_section_shows_an_iso_date(backend):
    _member_data(backend)
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot)
        menu = screen_text(app)
        assert re.search(r"Última conexión: \d\dH\d\d / \d\d\.\d\d\.\d{4}", menu), menu  # the manual's form
        seen = await _open_every_section(pilot, "socio")
    assert len(seen) > 10 and any(re.search(r"\d\d/\d\d/\d{4}", t) for t in seen.values())
    assert not _iso_in(seen), _iso_in(seen)


@pytest.mark.sqlite_only(covered=True)  # dates are TEXT on both engines, formatted in Python
async def test_no_staff_section_shows_an_iso_date(backend, clock):
    """Every staff role's sections, one role after another at the same terminal (signed out in between): one
    app for all of them, as the roles' sections are all different screens anyway."""
    staff = [enrol(backend, f"{role}.fechas", role, "Personal Fechas", STAFF_CEDULAS.get(role))
             for role in AUDIENCES if role != "socio"]
    app = make_app(backend)
    seen: dict[str, str] = {}
    async with app.run_test(size=SIZE) as pilot:
        for who in staff:
            await staff_login(pilot, backend, who)
            assert len(app.screen_stack) == 2, (who.role, app.screen_stack)  # the sign-in, then this role's menu
            sections = await _open_every_section(pilot, who.role)
            assert sections, who.role
            seen.update(sections)
            app.sign_out()
            await settle(pilot)
    assert not _iso_in(seen), _iso_in(seen)


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_cli_commands_that_print_dates_show_dd_mm_aaaa(backend, db_path, clock):
    from tests.core.test_database import cli
    from tests.staff_helpers import sign_in

    backend.auth.start_affiliation("cedula", "1710034065")  # an SMS in the outbox
    sign_in(backend, enrol(backend, "cajero.fechas", "cajero", "Rosa Quispe"), clock)  # a last sign-in
    printed = {}
    for args in (["outbox"], ["audit", "--last", "20"], ["staff", "list"], ["status"], ["tasas"],
                 ["status", "--json"]):
        out = cli(*args, "--db", str(db_path))
        assert out.stdout, (args, out.stderr)  # status may say CRÍTICO here (no worker runs): still printed
        printed[" ".join(args)] = out.stdout
    assert re.search(r"\d\d/\d\d/\d{4} \d\d:\d\d  ", printed["outbox"]), printed["outbox"]
    assert re.search(r"último ingreso: 25/11/2026 10:\d\d", printed["staff list"]), printed["staff list"]
    assert re.search(r"^25/11/2026 10:\d\d:\d\d  ", printed["audit --last 20"], re.M), printed["audit --last 20"]
    # the audit entries' details are the stored record (JSON, as written): shown literally, not rewritten
    printed["audit --last 20"] = "\n".join(line[:20] for line in printed["audit --last 20"].splitlines())
    assert not _iso_in(printed), _iso_in(printed)
