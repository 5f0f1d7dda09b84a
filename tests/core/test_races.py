"""Many processes at once on one co-op (8 on PostgreSQL, where they really run in parallel), and kill -9.

Each worker is a separate Python process with its own connections, as on separate branch servers.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

from backend.core import accounts
from backend.service import Backend
from backend.transfers.transfers import TransferRequest
from tests import fork_server
from tests.conftest import fast_settings
from tests.transfer_helpers import balance_of, demo_member, number_of, other_member

PREAMBLE = textwrap.dedent("""
    import sys, time
    from backend.service import Backend
    from backend.core.settings import Settings
    from backend.transfers.transfers import TransferRequest
    settings = Settings(scrypt_log_n=8, limit_terceros_daily=10**9, limit_interbancaria_daily=10**9,
                        session_idle_seconds=10**7, staff_idle_seconds=10**7, clearing_settle_seconds=0)
    backend = Backend(sys.argv[1], settings)
""")


def processes(db_path) -> int:
    return 8 if "postgresql" in str(db_path) else 4


def run_workers(tmp_path, code: str, args_list: list[list[str]]) -> list[str]:
    """Run the script once per argument list, each in its own process, all started together; their outputs.

    The processes are forked from one server that has imported the backend already (tests/fork_server.py, one per
    test process): each is still a separate process with its own connections, as on separate branch servers."""
    script = tmp_path / "worker.py"
    script.write_text(PREAMBLE + textwrap.dedent(code))
    out_dir = tmp_path / "workers"
    out_dir.mkdir(exist_ok=True)
    codes = fork_server.run_script(script, out_dir, args_list)  # every worker waits for "go" after opening the database
    results = [((out_dir / f"{n}.out").read_text(), (out_dir / f"{n}.err").read_text()) for n in range(len(args_list))]
    assert codes == [0] * len(args_list), [err[-800:] for _, err in results]
    return [out for out, _ in results]


def test_ledger_never_overdraws_whoever_debits(backend, db_path, tmp_path):
    """Debits straight through the ledger, no member lock: the row lock and re-read balance decide."""
    ana = other_member(backend, balance=100_00)  # room for 14 debits of $7.00
    backend.close()
    n = processes(db_path)
    outs = run_workers(tmp_path, """
        from backend.core import accounts
        from backend.core.errors import InsufficientFunds
        from backend.core.ledger import Leg, post
        account = int(sys.argv[2])
        sys.stdin.readline()
        done = refused = 0
        for _ in range(6):
            try:
                with backend.db.write() as conn:
                    caja = accounts.internal_account(conn, "caja")
                    post(conn, kind="retiro", description="Retiro", posted_at="2026-11-25 10:00:00", actor="t",
                         legs=[Leg(account, -7_00, "Retiro"), Leg(caja, 7_00, "Retiro")])
                done += 1
            except InsufficientFunds:
                refused += 1
        print(done, refused)
    """, [[str(db_path), str(ana.accounts[0])]] * n)
    done = sum(int(o.split()[0]) for o in outs)
    assert done == 14 and sum(int(o.split()[1]) for o in outs) == 6 * n - 14
    check = Backend(db_path, fast_settings())
    assert check.check() == [] and balance_of(check, ana.accounts[0]) == 2_00
    check.close()


def test_the_same_confirmation_booked_at_once_books_once(backend, db_path, tmp_path):
    ana = other_member(backend, balance=100_00)
    dest = number_of(backend, demo_member(backend).accounts[0])
    backend.close()
    outs = run_workers(tmp_path, """
        token = backend.auth.login("ana.prueba", "Clave2026x").token
        who = backend.auth.principal(token)
        request = TransferRequest("terceros", int(sys.argv[2]), 5_00, "una vez", account_number=sys.argv[3])
        sys.stdin.readline()
        with backend.db.write() as conn:
            print(backend.transfers._book(conn, who, request, "misma-clave-de-confirmacion"))
    """, [[str(db_path), str(ana.accounts[0]), dest]] * processes(db_path))
    assert len({o.strip() for o in outs}) == 1  # every process got the one transfer's id
    check = Backend(db_path, fast_settings())
    assert check.db.conn.execute("SELECT COUNT(*) FROM transfers WHERE motive = 'una vez'").fetchone()[0] == 1
    assert balance_of(check, ana.accounts[0]) == 95_00 and check.check() == []
    check.close()


def test_concurrent_settlement_passes_settle_each_transfer_once(backend, db_path, tmp_path, clock):
    lucia = demo_member(backend)
    for n in range(12):  # credited, and every sixth returned («…99»)
        request = TransferRequest("interbancaria", lucia.accounts[0], 1_00 + n, "Pago", account_number=f"220012{n:02d}" +
                                  ("99" if n % 6 == 0 else "11"), institution_code="0017", holder_name="Pedro Andrade",
                                  holder_id_type="cedula", holder_id_number="1104680135")
        with backend.db.write() as conn:
            backend.transfers._book(conn, backend.auth.principal(lucia.token), request, f"liq-{n}")
    before = balance_of(backend, lucia.accounts[0])
    backend.close()
    outs = run_workers(tmp_path, """
        sys.stdin.readline()
        r = backend.clearing.settle()
        print(r.credited, r.returned)
    """, [[str(db_path)]] * processes(db_path))
    assert sum(int(o.split()[0]) for o in outs) == 10 and sum(int(o.split()[1]) for o in outs) == 2
    check = Backend(db_path, fast_settings())
    assert check.db.conn.execute("SELECT COUNT(*) FROM transfers WHERE state = 'Enviada'").fetchone()[0] == 0
    assert check.db.conn.execute("SELECT COUNT(*) FROM entries WHERE kind = 'devolucion_interbancaria'"
                                 ).fetchone()[0] == 2
    assert check.db.conn.execute("SELECT COUNT(*) FROM entries WHERE kind = 'liquidacion_interbancaria'"
                                 ).fetchone()[0] == 10
    fee = check.settings.interbank_fee if check.settings.refund_fee_on_return else 0
    refunded = sum(1_00 + n + fee for n in (0, 6))
    assert balance_of(check, lucia.accounts[0]) == before + refunded and check.check() == []
    check.close()


def test_teller_withdrawals_and_the_members_transfers_queue_on_one_account(backend, db_path, tmp_path, clock):
    """Cash withdrawals at the counter (staff, no member session) race the member's own transfers from the same
    account: the teller's call takes the member's lock too, so exactly what the balance allows is booked."""
    from tests.staff_helpers import enrol, sign_in

    ana = other_member(backend, balance=100_00)  # room for 14 movements of $7.00, whoever makes them
    dest = number_of(backend, demo_member(backend).accounts[0])
    teller = sign_in(backend, enrol(backend, "cajero1", "cajero", "Rosa Quispe"), clock)
    backend.tills.open_till(teller.token, "1,000.00")
    backend.close()
    n = processes(db_path)
    outs = run_workers(tmp_path, """
        import uuid
        from backend.core.errors import ServiceError
        role, account, dest, teller = sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
        if role == "socio":
            who = backend.auth.principal(backend.auth.login("ana.prueba", "Clave2026x").token)
            request = TransferRequest("terceros", account, 7_00, "carrera", account_number=dest)
        sys.stdin.readline()
        done = refused = 0
        for _ in range(5):
            try:
                if role == "socio":
                    with backend.db.write() as conn:
                        backend.transfers._book(conn, who, request, uuid.uuid4().hex)
                else:
                    backend.counter.cash(teller, "retiro", account, "7.00", uuid.uuid4().hex)
                done += 1
            except ServiceError as exc:
                assert "insuficiente" in exc.message, exc.message  # never busy, never a deadlock
                refused += 1
        print(done, refused)
    """, [[str(db_path), role, str(ana.accounts[0]), dest, teller.token] for role in ["socio", "cajero"] * (n // 2)])
    assert sum(int(o.split()[0]) for o in outs) == 14 and sum(int(o.split()[1]) for o in outs) == 5 * n - 14
    check = Backend(db_path, fast_settings())
    assert balance_of(check, ana.accounts[0]) == 2_00 and check.check() == []
    booked = check.db.conn.execute(
        "SELECT COUNT(*) FROM postings WHERE account_id = ? AND amount = -700", (ana.accounts[0],)).fetchone()[0]
    assert booked == 14
    check.close()


KILLED = """
    from backend.core import ledger
    token = backend.auth.login("demo", "Demo-2026!").token
    who = backend.auth.principal(token)
    request = TransferRequest("terceros", int(sys.argv[2]), 3_00, "interrumpida", account_number=sys.argv[3])
    real_post = ledger.post
    def post_then_stall(*args, **kwargs):
        entry = real_post(*args, **kwargs)
        print("posted", flush=True)  # the money has moved inside the transaction; the transfer row is not written
        time.sleep(60)
        return entry
    import backend.transfers.transfers as transfers_module
    transfers_module.post = post_then_stall
    with backend.db.write() as conn:
        backend.transfers._book(conn, who, request, "muere-a-medias")
"""


def test_kill_9_mid_transfer_leaves_no_partial_transfer(backend, db_path, tmp_path):
    lucia = demo_member(backend)
    ana = other_member(backend)
    dest = number_of(backend, ana.accounts[0])
    before = [balance_of(backend, a) for a in (lucia.accounts[0], ana.accounts[0])]
    backend.close()
    script = tmp_path / "killed.py"
    script.write_text(PREAMBLE + textwrap.dedent(KILLED))
    proc = subprocess.Popen([sys.executable, str(script), str(db_path), str(lucia.accounts[0]), dest],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    assert line.strip() == "posted", proc.stderr.read()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(30)
    check = Backend(db_path, fast_settings())
    assert check.check() == []
    assert [balance_of(check, a) for a in (lucia.accounts[0], ana.accounts[0])] == before
    assert check.db.conn.execute("SELECT COUNT(*) FROM entries WHERE idempotency_key = 'muere-a-medias'"
                                 ).fetchone()[0] == 0
    # and the next booking goes through at once: nothing was left locked
    with check.db.write() as conn:
        assert accounts.internal_account(conn, "caja")
    check.close()


# The new row is written, then its transaction stays open a moment: every other claim has time to make its own
# checks meanwhile, as on a busy server (without the name's lock they all pass and the UNIQUE index refuses them).
SLOW_COMMIT = textwrap.dedent("""
    real_audit = backend.ctx.audit
    def slow_audit(conn, actor, action, *args, **kwargs):
        real_audit(conn, actor, action, *args, **kwargs)
        if action in ("afiliacion.completar", "personal.crear"):
            time.sleep(0.3)
    backend.ctx.audit = slow_audit
""")


def test_one_username_claimed_at_once_by_several_members_goes_to_one(db_path, tmp_path):
    """The loser of the race gets the same answer as a name already taken, and nothing of theirs is stored."""
    from backend.demo.coop import cedula
    from tests.conftest import add_member, last_code

    backend = Backend(db_path, fast_settings())  # the real clock, as the workers': the verified codes stay valid
    challenges = {}
    for i in range(processes(db_path)):
        member, _ = add_member(backend, cedula=cedula(f"1712{i:05d}"), first="Socia", last=f"Carrera {i}")
        start = backend.auth.start_affiliation("cedula", cedula(f"1712{i:05d}"))
        assert backend.auth.verify_affiliation_code(start.challenge.id, last_code(backend))
        challenges[start.challenge.id] = member
    backend.close()
    outs = run_workers(tmp_path, SLOW_COMMIT + textwrap.dedent("""
        from backend.core.errors import ServiceError
        sys.stdin.readline()
        try:
            print("ok", backend.auth.complete_affiliation(sys.argv[2], "Mismo.Usuario", "Clave2026x"))
        except ServiceError as exc:
            print("refused", exc.message)
    """), [[str(db_path), challenge] for challenge in challenges])
    assert [o.split()[0] for o in outs].count("ok") == 1, outs
    assert {o.strip() for o in outs if o.startswith("refused")} == {"refused Ese usuario ya está en uso; elige otro."}
    check = Backend(db_path, fast_settings())
    conn = check.db.conn
    (winner,) = conn.execute("SELECT member_id FROM users WHERE username = 'mismo.usuario'").fetchall()
    members = list(challenges.values())
    assert conn.execute(f"SELECT COUNT(*) FROM users WHERE member_id IN ({', '.join('?' * len(members))})",
                        members).fetchone()[0] == 1
    losers = [c for c, m in challenges.items() if m != winner[0]]
    assert all(conn.execute("SELECT consumed_at FROM otp_challenges WHERE id = ?", (c,)).fetchone()[0] is None
               for c in losers)  # rolled back whole: a loser just picks another name
    assert check.auth.complete_affiliation(losers[0], "otro.nombre", "Clave2026x") == "otro.nombre"
    assert check.check() == []
    check.close()


def test_one_staff_username_added_at_once_goes_to_one(backend, db_path, tmp_path):
    backend.close()
    outs = run_workers(tmp_path, SLOW_COMMIT + textwrap.dedent("""
        from backend.core.errors import ServiceError
        sys.stdin.readline()
        try:
            print("ok", backend.auth.staff_directory.add("cajero.nuevo", "cajero", "Ventanilla-2026", "Rosa Quispe").username)
        except ServiceError as exc:
            print("refused", exc.message)
    """), [[str(db_path)]] * processes(db_path))
    assert [o.split()[0] for o in outs].count("ok") == 1, outs
    assert {o.strip() for o in outs if o.startswith("refused")} == {"refused Ese usuario ya existe."}
    check = Backend(db_path, fast_settings())
    assert check.db.conn.execute("SELECT COUNT(*) FROM staff_users WHERE username = 'cajero.nuevo'").fetchone()[0] == 1
    check.close()


def test_one_code_confirmed_at_once_through_the_flow_books_once(backend, db_path, tmp_path):
    """`ops.authorise` from several processes with the same operation and code: one transfer, one receipt for all
    (or a clean answer), never a second booking or a traceback."""
    from tests.conftest import last_code

    ana = other_member(backend, balance=100_00)
    dest = number_of(backend, demo_member(backend).accounts[0])
    backend.close()
    live = Backend(db_path, fast_settings())  # the real clock, as the workers': the code is still valid for them
    token = live.auth.login("ana.prueba", "Clave2026x").token
    pending = live.transfers.prepare(token, TransferRequest("terceros", ana.accounts[0], 5_00, "confirmada a la vez",
                                                            account_number=dest))
    live.ops.request_code(token, pending.id)
    code = last_code(live)
    live.close()
    outs = run_workers(tmp_path, textwrap.dedent("""
        real_audit = backend.ctx.audit
        def slow_audit(conn, actor, action, *args, **kwargs):  # the booking's transaction stays open a moment
            real_audit(conn, actor, action, *args, **kwargs)
            if action == "transferencia.terceros":
                time.sleep(0.3)
        backend.ctx.audit = slow_audit
    """) + textwrap.dedent("""
        from backend.core.errors import ServiceError
        sys.stdin.readline()
        try:
            receipt = backend.ops.authorise(sys.argv[2], sys.argv[3], sys.argv[4])
            print("ok", receipt.reference, receipt.result_id)
        except ServiceError as exc:
            print("refused", exc.message)
    """), [[str(db_path), token, pending.id, code]] * processes(db_path))
    assert len({o.strip() for o in outs}) == 1 and outs[0].startswith("ok"), outs  # the first receipt, for everyone
    check = Backend(db_path, fast_settings())
    conn = check.db.conn
    assert conn.execute("SELECT COUNT(*) FROM transfers WHERE motive = 'confirmada a la vez'").fetchone()[0] == 1
    assert conn.execute("SELECT state FROM operations WHERE id = ?", (pending.id,)).fetchone()[0] == "ejecutada"
    assert balance_of(check, ana.accounts[0]) == 95_00 and check.check() == []
    check.close()


def test_the_same_beneficiary_confirmed_at_once_twice_is_stored_once(db_path, tmp_path):
    """Two (or three) pending additions of one account, each with its own code, confirmed at once: one row, and a
    clean «ya tienes registrada» for the others (the member's lock, and a UNIQUE backstop)."""
    from backend.transfers.beneficiaries import BeneficiaryForm
    from tests.conftest import last_code

    live = Backend(db_path, fast_settings())  # the real clock, as the workers': the codes are still valid for them
    token = live.auth.login("demo", "Demo-2026!").token
    form = BeneficiaryForm("interbancaria", "Pedro Andrade", "cedula", "0926687856", "2200123456", "0010", "corriente")
    ops = []
    for _ in range(3):
        pending = live.beneficiaries.prepare_save(token, form)
        live.ops.request_code(token, pending.id)
        ops.append((pending.id, last_code(live)))
    live.close()
    outs = run_workers(tmp_path, textwrap.dedent("""
        real_audit = backend.ctx.audit
        def slow_audit(conn, actor, action, *args, **kwargs):  # the winner's transaction stays open a moment
            real_audit(conn, actor, action, *args, **kwargs)
            if action == "beneficiario.agregar":
                time.sleep(0.3)
        backend.ctx.audit = slow_audit
    """) + textwrap.dedent("""
        from backend.core.errors import ServiceError
        sys.stdin.readline()
        try:
            print("ok", backend.ops.authorise(sys.argv[2], sys.argv[3], sys.argv[4]).result_id)
        except ServiceError as exc:
            print("refused", exc.message)
    """), [[str(db_path), token, op_id, code] for op_id, code in ops])
    assert [o.split()[0] for o in outs].count("ok") == 1, outs
    assert all("Ya tienes registrada esa cuenta" in o for o in outs if o.startswith("refused")), outs
    check = Backend(db_path, fast_settings())
    assert check.db.conn.execute("SELECT COUNT(*) FROM beneficiaries WHERE account_number = '2200123456'"
                                 ).fetchone()[0] == 1
    check.close()


def test_confirmations_at_once_never_pass_the_daily_limit_together(backend, db_path, tmp_path):
    """Several operations of one member, each within the day's cupo alone ($2,000 of $5,000), confirmed with their
    codes from several processes at once: two book, every other one is refused at the cupo; the usage row and the
    ledger agree. Each check before the write lock passes; only what runs under it can refuse."""
    from tests.conftest import last_code

    ana = other_member(backend, balance=100_000_00)
    dest = number_of(backend, demo_member(backend).accounts[0])
    backend.close()
    live = Backend(db_path, fast_settings())  # the real clock, as the workers': the codes are still valid for them
    token = live.auth.login("ana.prueba", "Clave2026x").token
    confirmations = []
    for _ in range(processes(db_path)):
        pending = live.transfers.prepare(token, TransferRequest("terceros", ana.accounts[0], 2_000_00, "cupo a la vez",
                                                                account_number=dest))
        live.ops.request_code(token, pending.id)
        confirmations.append([str(db_path), token, pending.id, last_code(live)])
    live.close()
    outs = run_workers(tmp_path, textwrap.dedent("""
        from backend.core.errors import ServiceError
        backend.close()
        backend = Backend(sys.argv[1], Settings(scrypt_log_n=8, session_idle_seconds=10**7))  # the default cupo
        sys.stdin.readline()
        try:
            print("ok", backend.ops.authorise(sys.argv[2], sys.argv[3], sys.argv[4]).reference)
        except ServiceError as exc:
            print("refused", exc.code)
    """), confirmations)
    assert sorted(o.split()[0] for o in outs) == ["ok", "ok"] + ["refused"] * (len(outs) - 2), outs
    assert all(o.split()[1] == "limit_daily" for o in outs if o.startswith("refused")), outs
    check = Backend(db_path, fast_settings())
    conn = check.db.conn
    assert conn.execute("SELECT COUNT(*) FROM transfers WHERE motive = 'cupo a la vez'").fetchone()[0] == 2
    assert conn.execute("SELECT amount FROM transfer_usage WHERE kind = 'terceros'").fetchone()[0] == 4_000_00
    assert balance_of(check, ana.accounts[0]) == 96_000_00 and check.check() == []
    check.close()
