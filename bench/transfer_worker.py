"""Child process for bench/run.py: book N transfers as production confirms them.

usage: transfer_worker.py DB USERNAME COUNT [mix|mixbook|book]
By default each transfer is prepared and its code requested (read from the embedded outbox) before the clock
starts; what is timed is `ops.authorise` with the code, as the member's confirmation runs it: the draft before
the lock, then under the lock the code spent (and masked in the outbox, with the checkpoint that empties the
write-ahead log), the session, what can have changed since the draft, the booking and the operation row; then
the receipt.
`book`: the old figure, `TransfersService._book` without a draft and without a code (a path production never takes).
`mix`: instead, in turn, an interbank transfer, a bill payment (a top-up) and a payment of another bank's card,
prepared and coded before the clock and confirmed with `ops.authorise` like the default: every one of them credits
the co-op's own internal accounts (compensación interbancaria, comisiones, the biller's collection account), the
rows all branches share. `mixbook`: the old mix, each handler's prepare and commit path in one transaction.
prints `ready` once signed in, waits for a line on stdin, then prints `done N errors N seconds S`; by default the line
`go N` confirms only the next N and waits for another line (bench/run.py interleaves them with the raw side's).
With COOPROGRESO_BENCH_LOCKS=1 each `done` line also goes to stderr with where the writes' time went (`Locks`).
"""

from __future__ import annotations

import os
import secrets
import sqlite3
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from backend.core.errors import ServiceError  # noqa: E402
from backend.core.settings import Settings  # noqa: E402
from backend.service import Backend  # noqa: E402
from backend.transfers.transfers import TransferRequest  # noqa: E402

UNLIMITED = dict(limit_terceros_tx=10**12, limit_terceros_daily=10**12, limit_interbancaria_tx=10**12,
                 limit_interbancaria_daily=10**12, limit_servicios_daily=10**12, card_payment_tx=10**12,
                 scrypt_log_n=8, session_idle_seconds=10**7, otp_ttl_seconds=86_400, operation_ttl_seconds=86_400,
                 otp_max_per_window=10**6, otp_max_failures_per_day=10**6, otp_max_unused_per_day=10**6)
VISA = "4111111111111111"


class Locks:
    """Where the time of this process's SQLite writes goes (COOPROGRESO_BENCH_LOCKS=1): waiting for the write lock
    (`_begin_write`), holding it (BEGIN IMMEDIATE done to COMMIT done) and the checkpoints after scrubs (`_checkpoint`,
    which takes SQLite's write lock too), summed per `go`. Wraps the module's functions: the code timed is the same."""

    def __init__(self) -> None:
        import contextlib

        from backend.core import db

        self.wait = self.held = self.checkpoint = self.cpu = 0.0
        self.writes = self.checkpoints = 0
        begin, checkpoint, write = db._begin_write, db._checkpoint, db.SqliteDatabase.write.__wrapped__  # type: ignore[attr-defined]

        def timed_begin(conn: object) -> None:
            start = time.perf_counter()
            begin(conn)
            self._acquired = time.perf_counter()
            self._cpu = time.process_time()
            self.wait += self._acquired - start

        def timed_checkpoint(conn: object) -> bool:
            start = time.perf_counter()
            try:
                return checkpoint(conn)
            finally:
                self.checkpoint += time.perf_counter() - start
                self.checkpoints += 1

        @contextlib.contextmanager
        def timed_write(database: object):  # type: ignore[no-untyped-def]
            self._acquired = 0.0
            gen = write(database)
            conn = next(gen)
            try:
                yield conn
            except BaseException as exc:
                gen.throw(exc)
                raise
            before = self.checkpoint
            self.cpu += time.process_time() - self._cpu if self._acquired else 0.0
            with contextlib.suppress(StopIteration):
                next(gen)
            self.held += time.perf_counter() - self._acquired - (self.checkpoint - before) if self._acquired else 0.0
            self.writes += 1

        db._begin_write, db._checkpoint = timed_begin, timed_checkpoint
        db.SqliteDatabase.write = timed_write  # type: ignore[method-assign,assignment]

    def line(self, done: int) -> str:
        """Milliseconds per booked transfer, then resets."""
        n = max(done, 1)
        text = (f"locks per transfer: wait {1000 * self.wait / n:.2f} ms held {1000 * self.held / n:.2f} ms"
                f" (CPU before COMMIT {1000 * self.cpu / n:.2f} ms) checkpoint {1000 * self.checkpoint / n:.2f} ms"
                f" writes {self.writes / n:.1f} checkpoints {self.checkpoints / n:.2f}")
        self.wait = self.held = self.checkpoint = self.cpu = 0.0
        self.writes = self.checkpoints = 0
        return text


LOCKS: Locks | None = None


def book(backend: Backend, token: str, origin: int, dest: str, count: int) -> tuple[int, int, float]:
    who = backend.auth.principal(token)
    request = TransferRequest("terceros", origin, 1_00, "bench", account_number=dest)
    done = errors = 0
    start = time.perf_counter()
    for _ in range(count):
        try:
            with backend.db.write() as conn:
                backend.transfers._book(conn, who, request, secrets.token_urlsafe(16))
            done += 1
        except (sqlite3.OperationalError, ServiceError):  # "database is locked", busy: this figure must show zero
            errors += 1
    return done, errors, time.perf_counter() - start


def confirmations(backend: Backend, token: str, origin: int, dest: str, count: int) -> list[tuple[str, str]]:
    """`count` transfers prepared with their code sent, as the member's screen leaves them: (operation id, code)."""
    from dataclasses import asdict

    request = asdict(TransferRequest("terceros", origin, 1_00, "bench", account_number=dest))
    return [coded(backend, token, "transferencia", request) for _ in range(count)]


def coded(backend: Backend, token: str, kind: str, request: dict) -> tuple[str, str]:
    """One operation prepared and its code sent (read from the embedded outbox): (operation id, code)."""
    pending = backend.ops.prepare(token, kind, request)
    challenge = backend.ops.request_code(token, pending.id)
    body = backend.db.conn.execute("SELECT o.body FROM outbox_codes c JOIN outbox o ON o.id = c.outbox_id"
                                   " WHERE c.challenge_id = ?", (challenge.id,)).fetchone()[0]
    return pending.id, body.split(" es ")[1][:6]


def confirm(backend: Backend, token: str, waiting: list[tuple[str, str]]) -> tuple[int, int, float]:
    done = errors = 0
    start = time.perf_counter()
    for op_id, code in waiting:
        try:
            backend.ops.authorise(token, op_id, code)
            done += 1
        except (sqlite3.OperationalError, ServiceError) as exc:  # "database is locked", busy: must show zero
            errors += 1
            print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
    return done, errors, time.perf_counter() - start


def mixed(backend: Backend, token: str, origin: int, count: int, *, confirmed: bool = True) -> tuple[int, int, float]:
    """Interbank transfers, bill payments (a top-up) and other banks' card payments in turn.

    `confirmed` (the figure): each prepared and its code requested before the clock starts, as `confirmations`
    leaves a transfer; what is timed is `ops.authorise`, the same path a transfer's confirmation is timed on.
    Otherwise (`mixbook`, the old figure): each handler's prepare and commit path in one transaction, without
    the operation, its code, its recheck, the work after booking or the receipt."""
    from dataclasses import asdict

    from backend.demo.coop import cedula

    who = backend.auth.principal(token)
    ops = backend.ops
    with backend.db.write() as conn:  # the card to pay, registered as the handler does it (no OTP here)
        card = conn.execute("SELECT id FROM registered_cards WHERE user_id = ?", (who.user_id,)).fetchone()
        if card is None:  # the first round
            register = ops._handler("registro_tarjeta")
            request = dict(kind="otro_banco", number=VISA, institution_code="0010", holder_name="Socio Prueba",
                           id_type="cedula", id_number=cedula("170000001"))
            card = (register.execute(conn, who, register.prepare(conn, who, request).plan,
                                     secrets.token_urlsafe(16)),)
    presentment = backend.services.consulta(token, "CLARO-REC", "0991234561")
    jobs = [("transferencia", asdict(TransferRequest(
                "interbancaria", origin, 1_00, "bench", account_number="2200123456", institution_code="0010",
                account_type="corriente", holder_name="Comercial Andes", holder_id_type="ruc",
                holder_id_number="1710034065001"))),
            ("pago_servicio", {"presentment_id": presentment.id, "bills": [], "account_id": origin, "amount": 1_00}),
            ("pago_tarjeta", {"card": f"registrada:{card[0]}", "origin_id": origin, "option": "otro", "amount": 1_00})]
    if confirmed:
        waiting = [coded(backend, token, *jobs[n % len(jobs)]) for n in range(count)]
        print("ready", flush=True)
        sys.stdin.readline()
        return confirm(backend, token, waiting)
    print("ready", flush=True)
    sys.stdin.readline()
    done = errors = 0
    start = time.perf_counter()
    for n in range(count):
        kind, request = jobs[n % len(jobs)]
        handler = ops._handler(kind)
        try:
            with backend.db.write() as conn:
                handler.execute(conn, who, handler.prepare(conn, who, request).plan, secrets.token_urlsafe(16))
            done += 1
        except ServiceError:
            errors += 1
    return done, errors, time.perf_counter() - start


def main() -> None:
    global LOCKS
    if os.environ.get("COOPROGRESO_BENCH_LOCKS") == "1":
        LOCKS = Locks()
    db, username, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    backend = Backend(db, Settings(**UNLIMITED), create=False)
    token = backend.auth.login(username, "Bench-2026").token
    origin = backend.transfers.origins(token)[0].account_id
    if sys.argv[4:] in (["mix"], ["mixbook"]):
        done, errors, seconds = mixed(backend, token, origin, count, confirmed=sys.argv[4] == "mix")
        print(f"done {done} errors {errors} seconds {seconds:.4f}", flush=True)
        return
    dest = backend.db.get_meta(f"bench_dest_{username}") or backend.db.get_meta("bench_dest")
    waiting = confirmations(backend, token, origin, dest, count) if sys.argv[4:] != ["book"] else []
    print("ready", flush=True)
    if not waiting:
        sys.stdin.readline()  # wait for the parent's start signal
        done, errors, seconds = book(backend, token, origin, dest, count)
        print(f"done {done} errors {errors} seconds {seconds:.4f}", flush=True)
        return
    while waiting:  # `go`: all that is left; `go N`: the next N, then wait for the next line
        words = sys.stdin.readline().split()
        if not words:  # the parent is gone
            return
        n = int(words[1]) if len(words) > 1 else len(waiting)
        if LOCKS is not None and LOCKS.writes:
            LOCKS.line(1)  # what preparing the confirmations wrote is not theirs
        done, errors, seconds = confirm(backend, token, waiting[:n])
        waiting = waiting[n:]
        print(f"done {done} errors {errors} seconds {seconds:.4f}", flush=True)
        if LOCKS is not None:
            print(f"{sys.argv[2]} {LOCKS.line(done)} seconds {seconds:.3f}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
