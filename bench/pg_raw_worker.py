"""Child process for bench/pg.py: the statements the service sends for a transfer to a third party, written by
hand with psycopg, in the same round trips (pipelines) and under the same locks: per member, the advisory lock
of `db.member_lock`; the business day's shared lock; account rows updated in ascending id order.

usage: pg_raw_worker.py URL USERNAME COUNT
prints `ready` once set up, waits for a line on stdin, then prints `done N errors N seconds S`
(the protocol of bench/transfer_worker.py). Round trips, as `TransferService._book` sends them on PostgreSQL:
1. BEGIN, the member's lock, the idempotency check, the day's usage, the origin row, the payee row;
2. the business day's shared lock, the entry, both balance updates;
3. the postings, the day's usage, the audit row, the transfer row;
4. COMMIT.
"""

from __future__ import annotations

import json
import secrets
import sys
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg  # noqa: E402

from backend.core.db import member_lock  # noqa: E402
from backend.core.db_pg import lock_key  # noqa: E402
from backend.core.ledger import BUSINESS_DAY_LOCK  # noqa: E402

AMOUNT = 1_00
LOOKUP = ("SELECT a.id, a.member_id, a.number, a.kind, a.status, m.first_names, m.last_names, m.id_type, m.id_number,"
          " m.status AS member_status FROM accounts a JOIN members m ON m.id = a.member_id WHERE a.number = %s")
ENTRY = ("INSERT INTO entries (kind, description, posted_at, actor, idempotency_key, business_date) VALUES"
         " (%s, %s, %s, %s, %s, COALESCE((SELECT value FROM meta WHERE key = 'business_date'), %s)) RETURNING id")
UPDATE = "UPDATE accounts SET balance = balance + %s WHERE id = %s RETURNING balance, held, kind, status"
POSTINGS = ("INSERT INTO postings (entry_id, account_id, amount, balance_after, posted_at, memo) VALUES"
            " (%s, %s, %s, %s, %s, %s), (%s, %s, %s, %s, %s, %s)")
USAGE = ("INSERT INTO transfer_usage (user_id, kind, day, amount) VALUES (%s, %s, %s, %s) ON CONFLICT"
         " (user_id, kind, day) DO UPDATE SET amount = transfer_usage.amount + excluded.amount")
AUDIT = "INSERT INTO audit_log (at, actor, action, outcome, details, member_id) VALUES (%s, %s, %s, %s, %s, %s)"
TRANSFER = ("INSERT INTO transfers (reference, idempotency_key, user_id, kind, origin_account_id, dest_account_id,"
            " dest_institution, dest_account_type, dest_account_number, dest_name, dest_id_type, dest_id_number,"
            " amount, fee, motive, state, entry_id, created_at, settled_at, next_attempt_at)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id")


def mask(number: str) -> str:
    return "*" * (len(number) - 4) + number[-4:]


def book(conn: psycopg.Connection, username: str, dest_number: str, count: int) -> tuple[int, int, float]:
    user_id, member_id = conn.execute("SELECT id, member_id FROM users WHERE username = %s", (username,)).fetchone()
    origin_id = conn.execute("SELECT id FROM accounts WHERE member_id = %s AND kind = 'ahorros' ORDER BY id LIMIT 1",
                             (member_id,)).fetchone()[0]
    member, day_lock = lock_key(member_lock(member_id)), lock_key(BUSINESS_DAY_LOCK)
    cursors = [conn.cursor() for _ in range(6)]
    scratch = conn.cursor()
    done = errors = 0
    start = time.perf_counter()
    for _ in range(count):
        key, now = secrets.token_urlsafe(16), datetime.now()
        stamp, day = f"{now:%Y-%m-%d %H:%M:%S}", f"{now:%Y-%m-%d}"
        try:
            with conn.pipeline():
                scratch.execute("BEGIN")
                scratch.execute("SELECT pg_advisory_xact_lock(%s)", (member,))
                cursors[0].execute("SELECT id FROM transfers WHERE idempotency_key = %s", (key,))
                cursors[1].execute("SELECT amount FROM transfer_usage WHERE user_id = %s AND kind = %s AND day = %s",
                                   (user_id, "terceros", day))
                cursors[2].execute("SELECT a.*, m.first_names || ' ' || m.last_names AS payer FROM accounts a"
                                   " JOIN members m ON m.id = a.member_id WHERE a.id = %s AND a.member_id = %s",
                                   (origin_id, member_id))
                cursors[3].execute(LOOKUP, (dest_number,))
            again, used, origin, payee = (c.fetchone() for c in cursors[:4])
            assert again is None and origin is not None and payee is not None
            col = {c.name: i for i, c in enumerate(cursors[2].description or ())}
            available = origin[col["balance"]] - origin[col["held"]]
            if AMOUNT > available:
                raise RuntimeError("saldo insuficiente")
            dest_id, payer = payee[0], origin[-1]
            dest_name = f"{payee[5].split()[0]} {payee[6][0]}****"
            legs = sorted([(origin_id, -AMOUNT, f"Transferencia a {dest_name} · bench"),
                           (dest_id, AMOUNT, f"Transferencia de {payer} · bench")])
            with conn.pipeline():
                scratch.execute("SELECT pg_advisory_xact_lock_shared(%s)", (day_lock,))
                cursors[0].execute(ENTRY, ("transferencia_terceros", "Transferencia Cooprogreso", stamp, username, key,
                                           day))
                for cursor, (account, amount, _) in zip(cursors[1:], legs):
                    cursor.execute(UPDATE, (amount, account))
            entry = cursors[0].fetchone()[0]
            rows = [c.fetchone() for c in cursors[1:3]]
            postings: list = []
            for (account, amount, memo), (balance, _, _, _) in zip(legs, rows):
                postings += (entry, account, amount, balance, stamp, memo)
            reference = f"{now:%y%m%d}{entry:08d}"
            details = json.dumps({"comision": 0, "destino": mask(payee[2]), "institucion": "COOP",
                                  "monto": AMOUNT, "origen": mask(origin[col["number"]]), "referencia": reference},
                                 ensure_ascii=False, sort_keys=True)
            with conn.pipeline():
                scratch.execute(POSTINGS, postings)
                scratch.execute(USAGE, (user_id, "terceros", day, AMOUNT))
                scratch.execute(AUDIT, (stamp, username, "transferencia.terceros", "ok", details, None))
                cursors[4].execute(TRANSFER, (reference, key, user_id, "terceros", origin_id, dest_id, "COOP",
                                              "ahorros", payee[2], dest_name, payee[7], payee[8], AMOUNT, 0, "bench",
                                              "Acreditada", entry, stamp, stamp, None))
            cursors[4].fetchone()
            scratch.execute("COMMIT")
            done += 1
        except psycopg.Error:
            errors += 1
            if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                conn.execute("ROLLBACK")
    return done, errors, time.perf_counter() - start


def main() -> None:
    url, username, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    conn = psycopg.connect(url, autocommit=True, client_encoding="utf8")
    dest = conn.execute("SELECT value FROM meta WHERE key = %s", (f"bench_dest_{username}",)).fetchone()[0]
    print("ready", flush=True)
    sys.stdin.readline()
    done, errors, seconds = book(conn, username, dest, count)
    print(f"done {done} errors {errors} seconds {seconds:.4f}", flush=True)


if __name__ == "__main__":
    main()
