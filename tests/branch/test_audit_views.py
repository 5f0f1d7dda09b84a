"""The auditor's views: filters, member movements, CSV export (private, formula-safe), read-only."""

from __future__ import annotations

import csv
import os
import re
import uuid

import pytest

from backend.core.errors import Forbidden, ValidationError
from tests.conftest import add_member
from tests.staff_helpers import team


@pytest.fixture
def day(backend, clock):
    staff = team(backend, clock)
    member, account = add_member(backend, cedula="1104680135", first="=cmd|' /C calc'!A0", balance=100_00)
    backend.tills.open_till(staff["cajero"].token, "100")
    backend.counter.cash(staff["cajero"].token, "deposito", account, "25", uuid.uuid4().hex)
    return staff, member, account


def test_filters_by_staff_user_member_action_and_date(backend, day):
    staff, member, _ = day
    aud = staff["auditor"].token
    by_user = backend.audit_views.audit_entries(aud, {"staff_user": "CAJERO1"})
    assert by_user and {r.actor for r in by_user} == {"cajero1"}
    by_member = backend.audit_views.audit_entries(aud, {"member_id": member})
    assert [r.action for r in by_member] == ["ventanilla.deposito"]
    by_action = backend.audit_views.audit_entries(aud, {"action": "caja."})
    assert [r.action for r in by_action] == ["caja.abrir"]
    assert backend.audit_views.audit_entries(aud, {"desde": "26/11/2026"}) == []
    assert backend.audit_views.audit_entries(aud, {"action": "%"}) == []  # wildcards are literal
    with pytest.raises(ValidationError):
        backend.audit_views.audit_entries(aud, {"desde": "31/02/2026"})


@pytest.mark.sqlite_only(covered=True)
def test_member_movements_and_csv_export(backend, day, tmp_path):
    staff, member, _ = day
    aud = staff["auditor"].token
    moves = backend.audit_views.member_movements(aud, member)
    assert [m.amount for m in moves] == [25_00, 100_00] and moves[0].actor == "cajero1"
    path = backend.audit_views.export_movements_csv(aud, member, "", "", str(tmp_path))
    assert os.stat(path).st_mode & 0o777 == 0o600
    rows = list(csv.reader(open(path, encoding="utf-8")))
    assert rows[1][3] == "25.00"
    assert all(re.fullmatch(r"\d\d/\d\d/\d{4} \d\d:\d\d:\d\d", r[0]) for r in rows[1:])  # dd/mm/aaaa (#21)
    log = backend.audit_views.export_audit_csv(aud, {"member_id": member}, str(tmp_path))
    text = open(log, encoding="utf-8").read()
    assert "ventanilla.deposito" in text
    entries = list(csv.reader(open(log, encoding="utf-8")))[1:]
    assert entries and all(re.fullmatch(r"\d\d/\d\d/\d{4} \d\d:\d\d:\d\d", r[0]) for r in entries)
    assert backend.audit_log(last=1)[0].action == "auditoria.exportar"


@pytest.mark.sqlite_only(covered=True)
def test_csv_cells_never_start_a_formula(backend, day, tmp_path):
    staff, _, _ = day
    with backend.db.write() as conn:
        backend.ctx.audit(conn, "=HYPERLINK(\"x\")", "prueba", "ok")
    path = backend.audit_views.export_audit_csv(staff["auditor"].token, {"action": "prueba"}, str(tmp_path))
    rows = list(csv.reader(open(path, encoding="utf-8")))
    assert rows[1][1].startswith("'=")


def test_hostile_text_stored_by_hand_reaches_the_auditors_csv_visible(backend, day, tmp_path):
    """An auditor reads an export with `cat` or `less` as often as with a spreadsheet: a movement's text written
    by hand or by an earlier version (an escape sequence, a carriage return, a direction override) must neither
    steer that terminal nor hide what it says; a legitimate line break in a cell stays."""
    staff, member, account = day
    hostile = "Depósito\x1b]0;pwned\x07\rFALSO\u202eodot\u200b\x85"
    with backend.db.write() as conn:
        conn.execute("UPDATE postings SET memo = ? WHERE account_id = ?", (hostile, account))
    path = backend.audit_views.export_movements_csv(staff["auditor"].token, member, "", "", str(tmp_path))
    data = open(path, encoding="utf-8", newline="").read()
    for ch in ("\x1b", "\x07", "\u202e", "\u200b", "\x85"):
        assert ch not in data, repr(ch)
    assert not re.search("\r(?!\n)", data)  # only the CSV's own line ends
    assert "\\u001b]0;pwned\\u0007\\u000dFALSO\\u202eodot" in data


@pytest.mark.sqlite_only(covered=True)
def test_only_auditors_read_the_log(backend, day):
    staff, member, _ = day
    for role in ("cajero", "atencion", "supervisor"):
        with pytest.raises(Forbidden):
            backend.audit_views.audit_entries(staff[role].token, {})
        with pytest.raises(Forbidden):
            backend.audit_views.member_movements(staff[role].token, member)
