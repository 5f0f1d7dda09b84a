"""The co-op's shared internal accounts split in parts (issue #23): branches paying bills and interbank transfers
at once credit different rows, and every figure shown is the sum, the same as the one row showed before."""

from __future__ import annotations

import pytest

from backend.bill_payments import billers
from backend.core import accounts
from backend.core.ledger import Leg, LedgerError, post
from backend.demo.coop import cedula
from backend.service import Backend
from tests.conftest import fast_settings
from tests.core.test_races import processes, run_workers
from tests.transfer_helpers import other_member


def _members(backend, n: int) -> list:
    return [other_member(backend, cedula=cedula(f"17{k:07d}"), username=f"socio.parte{k}", balance=500_00)
            for k in range(n)]


def _books_as_one_row(backend) -> None:
    """What the one internal row would hold, from the rows that caused it, against the summed parts."""
    conn = backend.db.conn
    fees = conn.execute("SELECT COALESCE(SUM(fee), 0) FROM transfers").fetchone()[0]
    fees += conn.execute("SELECT COALESCE(SUM(commission), 0) FROM bill_payments").fetchone()[0]
    sent = conn.execute("SELECT COALESCE(SUM(amount), 0) FROM transfers WHERE kind = 'interbancaria'").fetchone()[0]
    owed = conn.execute("SELECT COALESCE(SUM(amount), 0) FROM bill_payments").fetchone()[0]
    collection = conn.execute("SELECT account_id FROM billers WHERE code = 'CLARO-REC'").fetchone()[0]
    assert fees and sent and owed
    assert accounts.internal_balance(conn, "comisiones") == fees
    assert accounts.internal_balance(conn, "compensacion_interbancaria") == sent
    assert accounts.balance(conn, collection) == owed


def test_payments_at_once_from_many_branches_keep_the_books_exact(backend, db_path, tmp_path):
    billers.ensure_loaded(backend.db)
    n = processes(db_path)
    members = _members(backend, n)
    backend.close()
    run_workers(tmp_path, """
        import secrets
        from dataclasses import asdict
        token = backend.auth.login(sys.argv[2], "Clave2026x").token
        who = backend.auth.principal(token)
        origin = backend.transfers.origins(token)[0].account_id
        presentment = backend.services.consulta(token, "CLARO-REC", "0991234561")
        ops = backend.ops
        jobs = [(ops._handler("transferencia"), asdict(TransferRequest(
                    "interbancaria", origin, 3_00, "parte", account_number="2200123456", institution_code="0010",
                    account_type="corriente", holder_name="Comercial Andes", holder_id_type="ruc",
                    holder_id_number="1710034065001"))),
                (ops._handler("pago_servicio"), {"presentment_id": presentment.id, "bills": [],
                                                 "account_id": origin, "amount": 2_00})]
        sys.stdin.readline()
        for k in range(6):
            handler, request = jobs[k % 2]
            with backend.db.write() as conn:
                handler.execute(conn, who, handler.prepare(conn, who, request).plan, secrets.token_urlsafe(16))
        print("ok")
    """, [[str(db_path), f"socio.parte{k}"] for k in range(n)])
    books = Backend(db_path, fast_settings())
    conn = books.db.conn
    assert books.check() == []
    assert conn.execute("SELECT COUNT(*) FROM transfers WHERE motive = 'parte'").fetchone()[0] == 3 * n
    assert conn.execute("SELECT COUNT(*) FROM bill_payments").fetchone()[0] == 3 * n
    _books_as_one_row(books)
    parts = {m.member_id % accounts.SHARDS for m in members} - {0}
    shards = conn.execute("SELECT COUNT(DISTINCT shard) FROM account_shards").fetchone()[0]
    assert shards == len(parts) > 1  # the members' bookings really went to rows of their own
    books.close()


def test_a_booking_without_a_member_uses_the_account_itself_and_the_sum_still_holds(backend):
    member = other_member(backend).member_id
    with backend.db.write() as conn:
        own = accounts.internal_account(conn, "comisiones")
        part = accounts.internal_account(conn, "comisiones", member)
        caja = accounts.internal_account(conn, "caja")
        post(conn, kind="prueba", description="Comisión", posted_at="2026-11-25 10:00:00", actor="t",
             legs=[Leg(part, 5_00, "Comisión"), Leg(caja, -5_00, "Comisión")])
        post(conn, kind="prueba", description="Devolución", posted_at="2026-11-25 10:00:00", actor="t",
             legs=[Leg(own, -2_00, "Devolución"), Leg(caja, 2_00, "Devolución")])  # a refund books no member
    conn = backend.db.conn
    assert part != own and accounts.shard(conn, own, member) == part and accounts.shard(conn, own, None) == own
    assert accounts.internal_account(conn, "comisiones", member + accounts.SHARDS) == part  # one part, reused
    assert accounts.internal_balance(conn, "comisiones") == accounts.balance(conn, own) == 3_00
    assert accounts.balance(conn, part) == 5_00  # a part alone is just an account
    assert backend.check() == []


def test_a_members_own_account_is_never_split(backend):
    member = other_member(backend)
    with pytest.raises(LedgerError), backend.db.write() as conn:
        accounts.shard(conn, member.accounts[0], 1)  # a member who falls on part 1
    assert backend.db.conn.execute("SELECT COUNT(*) FROM account_shards").fetchone()[0] == 0


def test_check_names_a_part_that_is_not_an_internal_account(backend):
    member = other_member(backend)
    with backend.db.write() as conn:
        parent = accounts.internal_account(conn, "comisiones")
        conn.execute("INSERT INTO account_shards (parent_id, shard, account_id) VALUES (?, 5, ?)",
                     (parent, member.accounts[0]))
    problems = backend.check()
    assert len(problems) == 1 and "no es una cuenta interna" in problems[0]


def test_the_first_use_of_a_part_from_many_processes_at_once_creates_it_once(backend, db_path, tmp_path):
    backend.close()
    outs = run_workers(tmp_path, """
        from backend.core import accounts
        sys.stdin.readline()
        with backend.db.write() as conn:  # members 3 and 19 fall on the same part
            print(accounts.internal_account(conn, "comisiones", int(sys.argv[2])))
    """, [[str(db_path), str(3 + 16 * (k % 2))] for k in range(processes(db_path))])
    assert len({o.strip() for o in outs}) == 1
    books = Backend(db_path, fast_settings())
    assert books.db.conn.execute("SELECT COUNT(*) FROM account_shards").fetchone()[0] == 1
    assert books.check() == []
    books.close()
