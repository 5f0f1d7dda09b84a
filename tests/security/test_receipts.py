from pathlib import Path

import pytest

from backend.security.receipts import verify
from backend.transfers.transfers import TransferRequest
from tests.transfer_helpers import demo_member, transfer


@pytest.fixture
def saved(backend, tmp_path):
    who = demo_member(backend)
    a, b = who.accounts[:2]
    receipt = transfer(backend, who, TransferRequest("propia", a, 12_34, "Útiles escolares", dest_account_id=b))
    path = backend.ops.save_receipt(who.token, "transferencia", receipt.result_id, str(tmp_path))
    return backend, receipt, Path(path)


@pytest.mark.sqlite_only(covered=True)
def test_receipt_holds_what_a_member_needs(saved):
    backend, receipt, path = saved
    text = path.read_text(encoding="utf-8")
    assert text == receipt.text
    for part in (receipt.reference, "$12.34", "Útiles escolares", "Acreditada", "Código de verificación: "):
        assert part in text
    assert oct(path.stat().st_mode)[-3:] == "600"


@pytest.mark.sqlite_only  # the signature over a receipt's text, no SQL (its PostgreSQL receipt is read by the others)
def test_any_altered_character_is_caught(saved):
    backend, receipt, _ = saved
    secret = backend.ctx.secret("receipt_secret")
    text = receipt.text
    assert verify(secret, text)
    for i, ch in enumerate(text):
        for other in {"0", "9", "X", " ", "\n"} - {ch}:
            assert not verify(secret, text[:i] + other + text[i + 1:]), (i, other)
    assert not verify(secret, text + " ")
    assert not verify(secret, text[:-1])
    assert not verify(b"otra cooperativa", text)


@pytest.mark.sqlite_only(covered=True)
def test_verify_receipt_command(saved, db_path):
    _, _, path = saved
    def run(p):
        from tests.core.test_database import cli

        return cli("verify-receipt", str(p), "--db", str(db_path))
    ok = run(path)
    assert ok.returncode == 0 and "auténtico" in ok.stdout
    path.write_text(path.read_text(encoding="utf-8").replace("$12.34", "$92.34"), encoding="utf-8")
    bad = run(path)
    assert bad.returncode == 1 and "ALTERADO" in bad.stdout


def test_values_stay_in_one_column_after_a_label_longer_than_18():
    """Issue 21 point 12: a label past 18 characters pushed its value right of the others."""
    from datetime import datetime

    from backend.security.receipts import make

    receipt = make(b"k" * 32, kind="prueba", title="Prueba", reference="R-1", result_id=1,
                   created_at=datetime(2026, 11, 25, 10, 0),
                   lines=[("Monto", "$10.00"), ("Comisión interbancaria", "$0.41"), ("Destino", "Ahorros 1234")])
    rows = [line for line in receipt.text.splitlines()[3:-2] if line]
    starts = {len(line) - len(line.split(": ", 1)[1].lstrip()) for line in rows}
    assert len(starts) == 1, rows
    assert verify(b"k" * 32, receipt.text) and receipt.get("Comisión interbancaria") == "$0.41"
    long = make(b"k" * 32, kind="prueba", title="Prueba", reference="R-1", result_id=1,
                created_at=datetime(2026, 11, 25, 10, 0), lines=[("L" * 60, "valor")])
    assert max(map(len, long.text.splitlines())) < 80  # a runaway label does not drag every value off the dialog


def test_a_saved_receipt_shows_hand_stored_control_characters_and_still_verifies(saved, db_path, tmp_path):
    """A .txt receipt is read with cat as often as in an editor: a motive or name stored by hand (or by an earlier
    version) with an escape sequence or a direction override is printed as «\\u…», and the code covers that text."""
    backend, receipt, _ = saved
    who = demo_member(backend)
    with backend.db.write() as conn:
        conn.execute("UPDATE transfers SET motive = ?, dest_name = ? WHERE id = ?",
                     ("Útiles\x1b]0;pwned\x07", "Ana\u202eodot", receipt.result_id))
    path = Path(backend.ops.save_receipt(who.token, "transferencia", receipt.result_id, str(tmp_path / "otra")))
    text = path.read_text(encoding="utf-8")
    assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
    assert "\\u001b]0;pwned\\u0007" in text
    assert verify(backend.ctx.secret("receipt_secret"), text)
