"""Receipts on paper: a teller's «Imprimir» sends the receipt as PDF to the agency's printer through a real
CUPS server (cups-pdf virtual printer); the printed page holds the figures and the verification code. Without an
agency, a printer, or with CUPS refusing, the teller is told in Spanish and the attempt is audited."""

from __future__ import annotations

import uuid

import pytest

from backend.core.errors import Forbidden, ServiceError, ValidationError
from backend.security import documents
from tests.conftest import add_member
from tests.cups_helpers import printed
from tests.staff_helpers import team


@pytest.fixture
def desk(backend, clock):
    people = team(backend, clock)
    backend.tills.open_till(people["cajero"].token, "100")
    _member, account = add_member(backend, cedula="0901112227", first="Ana", balance=0)
    result = backend.counter.cash(people["cajero"].token, "deposito", account, "123.45", uuid.uuid4().hex)
    return people, result


def assign(backend, username: str, queue: str | None, agency: str = "MATRIZ") -> None:
    with backend.db.write() as conn:
        conn.execute("INSERT INTO agencies (code, name, city, address, hours, phone) VALUES (?, 'Matriz Pomasqui',"
                     " 'Quito', 'Av. Manuel Córdova Galarza', 'L-V', '(02) 399-8001') ON CONFLICT (code) DO NOTHING",
                     (agency,))
        if queue is not None:
            conn.execute("UPDATE agencies SET printer = ? WHERE code = ?", (queue, agency))
        conn.execute("UPDATE staff_users SET agency = ? WHERE username = ?", (agency, username))


def test_a_deposit_receipt_prints_at_the_branch_with_its_figures_and_code(backend, desk, cups, monkeypatch):
    people, result = desk
    monkeypatch.setenv("CUPS_SERVER", cups.server)
    assign(backend, "cajero1", cups.queue)
    said = backend.counter.print_receipt(people["cajero"].token, result.op_id)
    assert f"impresora {cups.queue} de la agencia MATRIZ" in said
    job = said.rsplit("trabajo ", 1)[1].rstrip(").")
    text = printed(cups, job, result.receipt.verification)  # unique: the reference repeats across test databases
    assert "$123.45" in text and result.reference in text and result.receipt.verification in text
    assert "Cooperativa de Ahorro y Crédito Cooprogreso" in text and "Página 1 de 1" in text
    audit = backend.db.conn.execute("SELECT actor, outcome, details FROM audit_log WHERE action ="
                                    " 'comprobante.imprimir' ORDER BY id DESC").fetchone()
    assert audit[0] == "cajero1" and audit[1] == "ok" and job in audit[2]


@pytest.mark.sqlite_only(covered=True)
def test_the_receipt_pdf_is_signed_and_holds_the_receipts_own_code(backend, desk):
    _people, result = desk
    doc = documents.receipt_document(result.receipt, coop_name="Coop", coop_ruc="1")
    data = documents.render_pdf(backend.ctx.secret("receipt_secret"), doc)
    assert documents.verify(backend.ctx.receipt_secrets(), data)
    assert ("Código del comprobante", result.receipt.verification) in doc.summary


def test_no_agency_no_printer_or_a_dead_queue_is_said_and_audited(backend, desk, monkeypatch, tmp_path):
    people, result = desk
    token = people["cajero"].token
    with pytest.raises(ValidationError, match="no tiene agencia asignada"):
        backend.counter.print_receipt(token, result.op_id)
    assign(backend, "cajero1", None)
    with pytest.raises(ValidationError, match="La agencia MATRIZ no tiene impresora"):
        backend.counter.print_receipt(token, result.op_id)
    assign(backend, "cajero1", "no-existe")
    monkeypatch.setenv("CUPS_SERVER", "127.0.0.1:9")  # nobody listens: lp fails at once
    with pytest.raises(ServiceError, match="No se pudo imprimir en «no-existe»") as err:
        backend.counter.print_receipt(token, result.op_id)
    assert err.value.code == "impresion"
    assert backend.db.conn.execute("SELECT outcome FROM audit_log WHERE action = 'comprobante.imprimir'"
                                   " ORDER BY id DESC").fetchone()[0] == "error"


@pytest.mark.sqlite_only(covered=True)
def test_only_the_tellers_own_receipt_and_a_queue_name_is_never_an_option(backend, desk):
    people, result = desk
    with pytest.raises(Forbidden):
        backend.counter.print_receipt(people["cajero2"].token, result.op_id)
    with pytest.raises(Forbidden):
        backend.counter.print_receipt(people["atencion"].token, result.op_id)
    from backend.core.printing import check_queue

    for bad in ("-oraw", "a b", "cola;rm", "", "x" * 200, "../x"):
        with pytest.raises(ValidationError):
            check_queue(bad)


def test_the_demo_staff_work_at_an_agency_whose_printer_is_not_set(backend, clock):
    """The demo's teller had no agency, so «Imprimir» only said so; now it names the agency whose printer the
    co-op sets up (`cooprogreso printer`): demo data never names a printer queue of its own."""
    from backend.demo.staff import DEMO_STAFF_PASSWORD

    rows = backend.db.conn.execute("SELECT s.username, s.agency, a.printer FROM staff_users s"
                                   " LEFT JOIN agencies a ON a.code = s.agency WHERE s.created_by = 'demo'").fetchall()
    assert rows and all(r[1] == "MATRIZ" and r[2] == "" for r in rows), rows
    challenge = backend.auth.login("cajero", DEMO_STAFF_PASSWORD)
    token = backend.auth.staff_code(challenge.ticket, backend.auth.staff_directory.current_code(
        "cajero", at=backend.now())).token
    backend.tills.open_till(token, "100")
    _member, account = add_member(backend, cedula="0901112227", first="Ana", balance=0)
    result = backend.counter.cash(token, "deposito", account, "12.00", uuid.uuid4().hex)
    with pytest.raises(ValidationError, match="La agencia MATRIZ no tiene impresora configurada"):
        backend.counter.print_receipt(token, result.op_id)
