"""Stored text reaches the terminal as itself, whatever wrote it.

A database from an earlier version (or edited by hand) may hold an escape sequence in a transfer motive:
it changed another member's terminal title when they opened Detalle de Movimientos. Here hostile text is
written with SQL into every text column members and staff see, every screen of every menu is opened at
80×24, and what the app would send to the terminal is checked: Rich's own styling and cursor moves only,
the hostile characters shown as «\\u…», the markup shown literally.
"""

from __future__ import annotations

import re
import unicodedata

from textual.widgets import DataTable

from backend.transfers.beneficiaries import BeneficiaryForm
from backend.transfers.transfers import TransferRequest
from screens.menu.registry import reachable_for, screen_for
from tests.branch.test_ui_staff import staff_login
from tests.staff_helpers import enrol
from tests.transfer_helpers import demo_member, number_of, other_member, save_beneficiary, transfer
from tests.ui import SIZE, login, make_app, screen_text, settle, signed_in

MARKUP = "[bold red]rojo[/] [link=https://x.example]clic[/link]"
HOSTILE = f" \x1b]0;pwned\x07\x1b[2J\x9b31m\u202eevil\u200b {MARKUP}"

# (table, column): what members and staff are shown, as an earlier version could have stored it.
COLUMNS = [
    ("members", "first_names"), ("members", "last_names"), ("members", "address"), ("members", "email"),
    ("accounts", "name"), ("entries", "description"), ("postings", "memo"),
    ("beneficiaries", "name"), ("transfers", "dest_name"), ("transfers", "motive"), ("transfers", "return_reason"),
    ("billers", "name"), ("billers", "hint"), ("bill_services", "alias"), ("bill_payments", "holder"),
    ("bill_payments", "reason"), ("bill_schedules", "last_result"), ("card_purchases", "description"),
    ("registered_cards", "holder_name"), ("card_payments", "dest_name"), ("card_payments", "motive"),
    ("contact_cases", "body"), ("contact_replies", "body"), ("contact_replies", "author"),
    ("product_requests", "purpose"), ("product_requests", "reason"),
    ("staff_users", "full_name"), ("audit_log", "actor"), ("audit_log", "action"), ("audit_log", "outcome"),
    ("audit_log", "details"), ("counter_ops", "decision_note"), ("tills", "note"),
    ("holidays", "name"), ("holidays", "source"),
]

_RICH_SEQUENCES = re.compile(r"\x1b\[[0-9;]*[mHABCDJK]")  # styles and cursor moves Rich itself writes


def terminal_output(app) -> str:
    """What the app writes to the terminal for a full redraw of its current screen (and those beneath)."""
    update = app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    return update.render_segments(app.console)


def unsafe(output: str) -> list[str]:
    """Characters in the output that are not text: escapes Rich did not write, C1 controls, invisibles."""
    rest = _RICH_SEQUENCES.sub("", output)
    return sorted({f"U+{ord(ch):04X}" for ch in rest if ch != "\n" and unicodedata.category(ch) in
                   {"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp"}})


def poison(backend) -> None:
    with backend.db.write() as conn:
        # a calendar year loaded by the co-op (the shipped one is a data file, not the database)
        conn.execute("INSERT INTO holiday_years (year, loaded_at, loaded_by) VALUES (2026, '2026-01-05 09:00:00', 'x')")
        conn.execute("INSERT INTO holidays (day, year, name, kind, verified, source) "
                     "VALUES ('2026-12-25', 2026, 'Navidad', 'feriado', 1, 'Decreto')")
        for table, column in COLUMNS:
            conn.execute(f"UPDATE {table} SET {column} = COALESCE({column}, '') || ?", (HOSTILE,))


def seed(backend) -> None:
    """Rows the demo does not have: a beneficiary, transfers both ways; the SQL then spoils them all."""
    lucia, ana = demo_member(backend), other_member(backend)
    save_beneficiary(backend, lucia.token, BeneficiaryForm(
        service="terceros", name="Ana Prueba", id_type="cedula", id_number="1104680135",
        account_number=number_of(backend, ana.accounts[0])))
    transfer(backend, lucia, TransferRequest("terceros", lucia.accounts[0], 40_00, "Pago arriendo",
                                             account_number=number_of(backend, ana.accounts[0])))
    transfer(backend, ana, TransferRequest("terceros", ana.accounts[0], 5_00, "Vuelto",
                                           account_number=number_of(backend, lucia.accounts[0])))


async def visit(pilot, key: str) -> list[str]:
    """Open a section, then Enter on its first table row (a detail, a receipt); what reached the terminal."""
    app = pilot.app
    depth = len(app.screen_stack)
    app.push_screen(screen_for(key))
    await settle(pilot)
    found = [f"{key}: {u}" for u in unsafe(terminal_output(app))]
    tables = [t for t in app.screen.query(DataTable) if t.row_count]
    if tables:
        tables[0].focus()
        await pilot.press("enter")
        await settle(pilot)
        found += [f"{key} → {type(app.screen).__name__}: {u}" for u in unsafe(terminal_output(app))]
    while len(app.screen_stack) > depth:
        app.pop_screen()
        await settle(pilot)
    return found


async def test_member_screens_show_stored_hostile_text_as_text(backend):
    seed(backend)
    poison(backend)
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot)
        found = []
        for section in reachable_for("socio"):
            found += await visit(pilot, section.key)
        assert found == []


async def test_detalle_de_movimientos_shows_a_stored_motive_literally(backend):
    seed(backend)
    poison(backend)
    app = make_app(backend)
    async with app.run_test(size=(200, 24)) as pilot:  # wide: the whole description fits its cell
        await signed_in(pilot, "productos")
        await pilot.press("enter")
        await settle(pilot)
        assert type(app.screen).__name__ == "MovementsScreen"
        text = screen_text(app)
        assert "\\u001b]0;pwned" in text and "\\u202eevil\\u200b" in text
        assert MARKUP in text  # markup is text: neither bold nor a link
        assert unsafe(terminal_output(app)) == []
        assert "\x1b]8;" not in terminal_output(app)  # no hyperlink was made of the stored «[link=…]»


async def test_staff_screens_show_stored_hostile_text_as_text(backend):
    seed(backend)
    staff = {role: enrol(backend, f"{role}1", role, f"Persona {role}") for role in
             ("cajero", "atencion", "supervisor", "auditor")}
    poison(backend)
    found = []
    for role, who in staff.items():
        app = make_app(backend)
        async with app.run_test(size=SIZE) as pilot:
            await staff_login(pilot, backend, who)
            for section in reachable_for(role):
                found += await visit(pilot, section.key)
    assert found == []
