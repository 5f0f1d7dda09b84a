"""Estado de cuenta of a savings account: every figure read back from the PDF by poppler's `pdftotext`, the CSV
signed like a receipt, one altered figure caught by `cooprogreso verify`, only the owner's accounts, and the
back office's copy audited and for its roles only."""

from __future__ import annotations

import io
import os
import re
import shutil
import stat
import subprocess
import zlib

import pytest

from backend.core.errors import Forbidden, NotFound, ValidationError
from backend.core.money import format_money
from backend.security import documents
from tests.staff_helpers import PASSWORD, code_now, team


needs_poppler = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils (pdftotext) missing")


def pdftotext(data: bytes, tmp_path) -> str:
    path = tmp_path / "doc.pdf"
    path.write_bytes(data)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout


def movements(backend, account_id: int, start: str, end: str):
    return backend.db.conn.execute(
        "SELECT amount, balance_after, memo FROM postings WHERE account_id = ? AND posted_at >= ? AND posted_at < ?"
        " ORDER BY posted_at, id", (account_id, start, end)).fetchall()


def alter_figure(data: bytes, old: bytes, new: bytes) -> bytes:
    """Change one figure inside a page's compressed drawing, as an editor would (same length, stream rewritten)."""
    for m in re.finditer(rb"/Filter /FlateDecode\n/Length ([0-9]+)\n>>\nstream\n", data):
        start, length = m.end(), int(m.group(1))
        body = zlib.decompress(data[start:start + length])
        if old in body:
            packed = zlib.compress(body.replace(old, new, 1))
            head = m.group(0).replace(m.group(1), str(len(packed)).encode())
            return data[:m.start()] + head + packed + data[start + length:]
    raise AssertionError(f"{old!r} not drawn")


@needs_poppler
def test_the_pdf_holds_every_figure_the_coop_and_a_code_on_every_page(backend, lucia, tmp_path):
    account = lucia.accounts[0]
    paper = backend.account_statements.statement(lucia.token, account, "2026-11", "pdf")
    text = pdftotext(paper.data, tmp_path)
    rows = movements(backend, account, "2026-11-01", "2026-11-26")
    assert rows, "the demo month has movements"
    for amount, balance_after, _memo in rows:
        assert format_money(abs(amount)) in text and format_money(balance_after) in text
    pages = text.split("\f")[:-1] if text.endswith("\f") else text.split("\f")
    code = documents.printed_code(paper.data)
    for n, page in enumerate(pages, 1):
        assert "Cooperativa de Ahorro y Crédito Cooprogreso" in page and "RUC" not in page  # unset: none invented
        assert f"Código de verificación: {code}" in page and f"Página {n} de {len(pages)}" in page
    assert "Estado de cuenta - Cuenta de Ahorros" in text and "(mes en curso)" in text
    closing = rows[-1][1]
    assert re.search(r"Saldo final\s+" + re.escape(format_money(closing)), text)
    assert paper.file_name.endswith("-2026-11.pdf")
    assert documents.verify(backend.ctx.receipt_secrets(), paper.data)


@needs_poppler
def test_the_coops_ruc_is_printed_once_set_and_never_a_placeholder(make_backend, tmp_path):
    """Unset, papers said «RUC: no configurado» to members; now they print no RUC line until the co-op sets its
    own (checked at load), and then print it on every paper, PDF and CSV, still verifiable."""
    from tests.transfer_helpers import demo_member

    for ruc in ("", "1793236405001"):  # fictitious, with a valid check digit
        backend = make_backend(coop_ruc=ruc)
        member = demo_member(backend)
        token, account = member.token, member.accounts[0]
        pdf = backend.account_statements.statement(token, account, "2026-11", "pdf")
        csv_data = backend.account_statements.statement(token, account, "2026-11", "csv").data.decode()
        text = pdftotext(pdf.data, tmp_path)
        if ruc:
            assert f"RUC: {ruc}" in text and f"RUC,{ruc}" in csv_data
        else:
            assert "RUC" not in text and "RUC" not in csv_data and "no configurado" not in text
        assert documents.verify(backend.ctx.receipt_secrets(), pdf.data)
        assert documents.verify(backend.ctx.receipt_secrets(), csv_data.encode())


def test_one_altered_figure_fails_verification_in_pdf_and_csv(backend, lucia, tmp_path):
    account = lucia.accounts[0]
    pdf = backend.account_statements.statement(lucia.token, account, "2026-11", "pdf").data
    csv = backend.account_statements.statement(lucia.token, account, "2026-11", "csv").data
    secrets = backend.ctx.receipt_secrets()
    assert documents.verify(secrets, pdf) and documents.verify(secrets, csv)
    closing = format_money(movements(backend, account, "2026-11-01", "2026-11-26")[-1][1]).encode()
    forged = closing.replace(b"$", b"$9", 1)[: len(closing)] if len(closing) > 5 else closing + b"0"
    altered = alter_figure(pdf, closing, forged)
    assert not documents.verify(secrets, altered)
    assert not documents.verify(secrets, csv.replace(closing, forged, 1))
    assert not documents.verify(secrets, pdf[:-200])  # truncated
    assert not documents.verify(secrets, pdf + b"\n1 0 obj\n<<>>\nendobj\n%%EOF\n")  # an incremental update
    assert not documents.verify([b"another co-op's key" * 2], pdf)
    if shutil.which("pdftotext"):  # the forgery is what a reader would see
        assert forged.decode() in pdftotext(altered, tmp_path)


@pytest.mark.sqlite_only(covered=True)
def test_the_csv_lists_every_movement_and_ends_with_its_code(backend, lucia):
    account = lucia.accounts[0]
    paper = backend.account_statements.statement(lucia.token, account, "2026-11", "csv")
    text = paper.data.decode("utf-8")
    assert text.splitlines()[-1].startswith("Código de verificación: ") and paper.mime_type == "text/csv"
    body = [line for line in text.splitlines() if re.match(r"\d\d/\d\d/2026", line)]
    assert len(body) == len(movements(backend, account, "2026-11-01", "2026-11-26"))


@pytest.mark.sqlite_only(covered=True)
def test_only_the_owners_accounts_and_sensible_months(backend, lucia, ana):
    with pytest.raises(NotFound):
        backend.account_statements.statement(ana.token, lucia.accounts[0], "2026-11")
    for month in ("2026-13", "26-11", "2026-12", "", None, "2026-11'--"):
        with pytest.raises(ValidationError) as err:
            backend.account_statements.statement(lucia.token, lucia.accounts[0], month)
        assert err.value.field == "mes"
    with pytest.raises(ValidationError):
        backend.account_statements.statement(lucia.token, lucia.accounts[0], "2026-11", "docx")


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_an_earlier_month_opens_with_the_previous_closing_balance(backend, ana):
    with pytest.raises(ValidationError, match="La cuenta se abrió el 01/01/2026"):
        backend.account_statements.statement(ana.token, ana.accounts[0], "2025-12", "csv")
    january = backend.account_statements.statement(ana.token, ana.accounts[0], "2026-01", "csv").data.decode()
    assert "Saldo inicial,$0.00" in january and 'Saldo final,$300.00' in january
    february = backend.account_statements.statement(ana.token, ana.accounts[0], "2026-02", "csv").data.decode()
    assert 'Saldo inicial,$300.00' in february and "(mes en curso)" not in february


@pytest.mark.sqlite_only  # the command line over the same service
def test_the_back_office_cli_writes_an_audited_private_copy_that_verifies(backend, lucia, clock, monkeypatch,
                                                                          capsys, db_path, tmp_path):
    from cooprogreso_tui import cli

    people = team(backend, clock)
    number = backend.db.conn.execute("SELECT number FROM accounts WHERE id = ?", (lucia.accounts[0],)).fetchone()[0]
    out = tmp_path / "estado.pdf"
    clock.advance(seconds=30)
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{PASSWORD}\n{code_now(backend, people['atencion'])}\n"))
    assert cli.main(["--set", "scrypt_log_n=8", "statement", "--db", str(db_path), "--user", "atencion1",
                     "--account", number, "--month", "2026-11", "--pdf", str(out)]) == 0
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    capsys.readouterr()
    assert cli.main(["verify", str(out), "--db", str(db_path)]) == 0
    assert "auténtico" in capsys.readouterr().out
    (tmp_path / "alterado.pdf").write_bytes(alter_figure(out.read_bytes(), b"Socio:", b"Sacio:"))
    assert cli.main(["verify", str(tmp_path / "alterado.pdf"), "--db", str(db_path)]) == 1
    assert "ALTERADO" in capsys.readouterr().out
    audit = backend.db.conn.execute("SELECT actor, member_id FROM audit_log WHERE action = ?"
                                    " ORDER BY id DESC", ("estado_cuenta.emitir_personal",)).fetchone()
    assert audit[0] == "atencion1" and audit[1] == lucia.member_id
    clock.advance(seconds=30)
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{PASSWORD}\n{code_now(backend, people['cajero'])}\n"))
    assert cli.main(["--set", "scrypt_log_n=8", "statement", "--db", str(db_path), "--user", "cajero1",
                     "--account", number, "--month", "2026-11", "--csv", str(tmp_path / "no.csv")]) == 1
    assert not (tmp_path / "no.csv").exists()
    capsys.readouterr()
    for month in ("2026-13", "2027-01"):  # malformed, or still to come: said before anything is asked
        monkeypatch.setattr("sys.stdin", io.StringIO(""))
        assert cli.main(["--set", "scrypt_log_n=8", "statement", "--db", str(db_path), "--user", "atencion1",
                         "--account", number, "--month", month, "--csv", str(tmp_path / "no.csv")]) == 1
        err = capsys.readouterr().err
        assert "mes" in err.lower() and "contraseña" not in err, err


@pytest.mark.sqlite_only(covered=True)
def test_a_member_token_is_not_the_back_office(backend, lucia):
    with pytest.raises(Forbidden):
        backend.account_statements.statement_for(lucia.token, "x", "2026-11")
