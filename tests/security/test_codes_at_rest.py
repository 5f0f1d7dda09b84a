"""Codes at rest: a code leaves the outbox (and the disk) as soon as it can no longer be used, and masking
costs what there is to mask, however many SMS the day has sent."""

from __future__ import annotations

import pytest

from backend.core import redaction
from backend.core.errors import OtpError, ValidationError
from backend.transfers.beneficiaries import BeneficiaryForm
from backend.transfers.transfers import TransferRequest
from tests.conftest import last_code
from tests.transfer_helpers import number_of, save_beneficiary, transfer

BUSY = dict(session_idle_seconds=10**7, otp_max_per_window=10**4, otp_max_failures_per_day=10**4, otp_max_unused_per_day=10**4)


def shown(backend, code: str) -> int:
    """Outbox rows a thief with a copy of the database would read the code in."""
    return backend.db.conn.execute("SELECT COUNT(*) FROM outbox WHERE body LIKE ?", (f"% {code}.%",)).fetchone()[0]


def ask_code(backend, who, dest: str, amount: int = 1_00) -> tuple[str, str]:
    """A transfer waiting for its code, and the code the member received: (operation id, code)."""
    pending = backend.transfers.prepare(who.token, TransferRequest("terceros", who.accounts[0], amount, "x",
                                                                   account_number=dest))
    backend.ops.request_code(who.token, pending.id)
    return pending.id, last_code(backend)


def to_ana(backend, ana) -> str:
    return number_of(backend, ana.accounts[0])


# -- masked when the code dies, not when it expires -----------------------------------------------------
@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_three_wrong_tries_mask_the_code_at_once(backend, lucia, ana):
    op, code = ask_code(backend, lucia, to_ana(backend, ana))
    wrong = "000000" if code != "000000" else "111111"
    for expected in ("otp_wrong", "otp_wrong", "otp_exhausted"):
        assert shown(backend, code) == 1  # usable until the third wrong try
        with pytest.raises(OtpError) as err:
            backend.ops.authorise(lucia.token, op, wrong)
        assert err.value.code == expected
    assert shown(backend, code) == 0  # long before it would have expired
    assert redaction.MASK in backend.outbox(last=1)[-1].body
    with pytest.raises(OtpError) as err:
        backend.ops.authorise(lucia.token, op, code)
    assert err.value.code == "otp_void"


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_a_resent_code_masks_the_one_it_replaces(backend, lucia, ana, clock):
    op, first = ask_code(backend, lucia, to_ana(backend, ana))
    clock.advance(seconds=backend.settings.otp_resend_interval_seconds)
    backend.ops.resend_code(lucia.token, op)
    second = last_code(backend)
    assert shown(backend, first) == 0 and shown(backend, second) == 1
    assert backend.ops.authorise(lucia.token, op, second).get("Monto") == "$1.00"
    assert shown(backend, second) == 0


def test_a_new_code_for_the_same_operation_voids_and_masks_the_earlier_one(backend, lucia, ana):
    op, first = ask_code(backend, lucia, to_ana(backend, ana))
    [(earlier,)] = backend.db.conn.execute("SELECT challenge_id FROM operations WHERE id = ?", (op,)).fetchall()
    backend.ops.request_code(lucia.token, op)
    second = last_code(backend)
    assert shown(backend, first) == 0 and shown(backend, second) == 1
    assert backend.db.conn.execute("SELECT voided_at FROM otp_challenges WHERE id = ?",
                                   (earlier,)).fetchone()[0] is not None
    backend.ops.authorise(lucia.token, op, second)


def test_a_changed_operation_masks_its_code(backend, lucia):
    form = BeneficiaryForm("interbancaria", "Pedro Andrade", "cedula", "0926687856", "2200123456", "0010", "ahorros")
    saved = save_beneficiary(backend, lucia.token, form)
    pending = backend.transfers.prepare(lucia.token, TransferRequest("interbancaria", lucia.accounts[0], 5_00, "x",
                                                                     beneficiary_id=saved.id))
    backend.ops.request_code(lucia.token, pending.id)
    code = last_code(backend)
    moved = BeneficiaryForm("interbancaria", "Pedro Andrade", "cedula", "0926687856", "2200999999", "0010", "ahorros")
    save_beneficiary(backend, lucia.token, moved, saved.id)
    assert shown(backend, code) == 1
    with pytest.raises(ValidationError) as err:
        backend.ops.request_code(lucia.token, pending.id)
    assert err.value.code == "operation_changed"
    assert shown(backend, code) == 0


# -- masking costs what there is to mask ---------------------------------------------------------------
def test_an_abandoned_code_holds_back_nothing_and_masks_at_expiry(make_backend, lucia, ana, clock):
    backend = make_backend(**BUSY)
    _, abandoned = ask_code(backend, lucia, to_ana(backend, ana))  # the member closed the dialog
    for _ in range(5):
        transfer(backend, ana, TransferRequest("terceros", ana.accounts[0], 1_00, "x",
                                               account_number=number_of(backend, lucia.accounts[0])))
    # the list of rows to mask holds the one live code, not the SMS sent since
    assert backend.db.conn.execute("SELECT COUNT(*) FROM outbox_codes").fetchone()[0] == 1
    assert shown(backend, abandoned) == 1
    clock.advance(seconds=backend.settings.otp_ttl_seconds)
    backend.outbox()
    assert shown(backend, abandoned) == 0
    assert backend.db.conn.execute("SELECT COUNT(*) FROM outbox_codes").fetchone()[0] == 0


@pytest.mark.sqlite_only  # SQLite's progress handler counts the statements' work (virtual machine steps)
def test_the_work_per_code_does_not_grow_with_the_sms_sent_since_an_abandoned_code(make_backend, lucia, ana):
    backend = make_backend(**BUSY)
    to_lucia = TransferRequest("terceros", ana.accounts[0], 1_00, "x", account_number=number_of(backend, lucia.accounts[0]))
    ask_code(backend, ana, number_of(backend, lucia.accounts[0]))  # abandoned: live for the whole test
    conn = backend.db.conn

    def work_of_one_transfer() -> int:
        op, _ = ask_code(backend, lucia, to_ana(backend, ana))  # issuing: a first share of the work
        code = last_code(backend)
        steps = [0]

        def count() -> int:
            steps[0] += 1
            return 0

        conn.set_progress_handler(count, 1)
        try:
            backend.ops.request_code(lucia.token, op)  # a new code (masks the one just sent) ...
            code = last_code(backend)
            backend.ops.authorise(lucia.token, op, code)  # ... and its check
        finally:
            conn.set_progress_handler(None, 1)
        return steps[0]

    for _ in range(3):  # the first calls create the co-op's internal accounts and the like
        transfer(backend, ana, to_lucia)
    before = work_of_one_transfer()
    for _ in range(60):  # a busy hour: another member's SMS, the abandoned code still live
        transfer(backend, ana, to_lucia)
    after = work_of_one_transfer()
    # A re-read of the 60+ SMS sent since the abandoned code would cost thousands of steps; a few steps of
    # slack cover index pages that split in between.
    assert after <= before * 1.05, (before, after)


# -- masked on disk too -----------------------------------------------------------------------------
@pytest.mark.sqlite_only  # the database file and its write-ahead log
@pytest.mark.parametrize("ending", ["used", "wrong_tries"])
def test_a_masked_code_is_in_neither_the_file_nor_the_write_ahead_log(backend, lucia, ana, ending):
    op, code = ask_code(backend, lucia, to_ana(backend, ana))
    files = [backend.db.path, backend.db.path.with_name(backend.db.path.name + "-wal")]

    def on_disk() -> bytes:
        return b"".join(f.read_bytes() for f in files if f.exists())

    sms = f"es {code}.".encode()
    assert sms in on_disk()  # the member's phone (the outbox row) shows it while it can be used
    backend.db.conn.execute("PRAGMA wal_checkpoint(PASSIVE)")  # in the main file as well as in the log
    assert sms in on_disk()
    if ending == "used":
        backend.ops.authorise(lucia.token, op, code)
    else:
        wrong = "000000" if code != "000000" else "111111"
        for _ in range(3):
            with pytest.raises(OtpError):
                backend.ops.authorise(lucia.token, op, wrong)
    assert shown(backend, code) == 0
    assert sms not in on_disk()


@pytest.mark.sqlite_only  # the database file and its write-ahead log
def test_a_code_masked_while_another_connection_reads_leaves_the_disk_at_the_workers_next_pass(backend, lucia, ana):
    import sqlite3

    from cooprogreso_tui.worker import PASSES

    op, code = ask_code(backend, lucia, to_ana(backend, ana))
    files = [backend.db.path, backend.db.path.with_name(backend.db.path.name + "-wal")]
    sms = f"es {code}.".encode()

    def on_disk() -> bool:
        return sms in b"".join(f.read_bytes() for f in files if f.exists())

    other = sqlite3.connect(backend.db.path, isolation_level=None)  # another session's process, mid-read
    try:
        other.execute("BEGIN")
        other.execute("SELECT COUNT(*) FROM outbox").fetchone()
        backend.ops.authorise(lucia.token, op, code)
        assert shown(backend, code) == 0
        assert on_disk()  # the checkpoint after the mask does not wait for the reader: the old page stays
        PASSES["mask"](backend)
        assert on_disk()  # still read: the worker does not wait either, and tries again at its next pass
        other.execute("COMMIT")
    finally:
        other.close()
    PASSES["mask"](backend)
    assert not on_disk()


# -- databases from before the list --------------------------------------------------------------------
def test_codes_an_older_version_left_readable_are_listed_and_masked_when_they_expire(backend, lucia, ana, clock):
    from backend.core.db import statements
    from backend.core.schema import MIGRATIONS

    op, used = ask_code(backend, lucia, to_ana(backend, ana))
    backend.ops.authorise(lucia.token, op, used)
    _, live = ask_code(backend, lucia, to_ana(backend, ana))
    listing = next(s for m in MIGRATIONS for s in statements(m) if s.startswith("INSERT INTO outbox_codes"))
    with backend.db.write() as conn:  # as migration 24 finds a database of the version before
        conn.execute("DELETE FROM outbox_codes")
        conn.execute(listing)
    listed = backend.db.conn.execute("SELECT o.body FROM outbox_codes c JOIN outbox o ON o.id = c.outbox_id")
    assert [row[0] for row in listed] == [backend.outbox(last=1)[-1].body]  # the live code only
    assert shown(backend, live) == 1
    clock.advance(seconds=backend.settings.otp_ttl_seconds)
    backend.outbox()
    assert shown(backend, live) == 0 and shown(backend, used) == 0
