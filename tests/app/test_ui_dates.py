"""Dates on screen are dd/mm/aaaa (the manual's form), never a two-digit year or a day without its year,
and the tables that show them still fit 80 columns."""

import re
from datetime import date
from types import SimpleNamespace

from screens.bill_payments.service_history import PaymentHistoryScreen
from screens.bill_payments.service_schedules import ConsultarScreen
from screens.branch.staff_contact import deadline
from screens.shared.cells import fits
from tests.bill_payments.test_services import pay
from tests.bill_payments.test_ui_services import open_section
from tests.services_helpers import add_schedule
from tests.transfer_helpers import demo_member
from tests.ui import SIZE, make_app, screen_text

STAMP = re.compile(r"\d\d/\d\d/\d{4} \d\d:\d\d")


async def test_payment_history_shows_the_full_year_and_fits(backend):
    pay(backend, demo_member(backend))
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await open_section(pilot, "servicios_historial", PaymentHistoryScreen)
        table = app.screen.query_one("#pay-history")
        assert table.row_count == 1 and STAMP.fullmatch(str(table.get_row_at(0)[0]))
        assert fits(table), table.virtual_size.width
        assert STAMP.search(screen_text(app))


async def test_scheduled_payments_show_the_next_date_with_its_year_and_fit(backend):
    who = demo_member(backend)
    add_schedule(backend, who, identifier="022345671")
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await open_section(pilot, "servicios_programados", ConsultarScreen)
        table = app.screen.query_one("#schedules")
        assert table.row_count and all(re.fullmatch(r"\d\d/\d\d/\d{4}|—", str(table.get_row_at(i)[4]))
                                       for i in range(table.row_count))
        assert any("/" in str(table.get_row_at(i)[4]) for i in range(table.row_count))
        assert fits(table), table.virtual_size.width


def test_a_staff_deadline_without_days_left_keeps_its_year():
    assert deadline(SimpleNamespace(due_on=date(2026, 11, 20), days_left=None)) == "20/11/2026"
    assert deadline(SimpleNamespace(due_on=date(2026, 11, 20), days_left=3)) == "3 d"
