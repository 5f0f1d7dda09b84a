"""`cooprogreso worker`: the co-op's background passes, in one process per database, not in every session.

Interbank settlement, SMS delivery, card cycles, scheduled payments, movement alerts, the masking of expired
codes and the deletion of sign-ins past their retention run here, each at its own interval, while this worker
holds the database's lease (backend/core/worker_lease.py). A second worker on the same database waits as a
standby and takes over once the lease runs out. SIGTERM (systemd's stop) lets the pass under way finish, then
releases the lease at once. Failures are logged with their traceback and said once on stderr (the journal); a
failing pass backs off (`background.BackgroundJobs`). `cooprogreso --demo` and `play` run the same worker in a
thread of the app's process (`in_thread`).
"""

from __future__ import annotations

import contextlib
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from backend.core.text import counted

from .background import BackgroundJobs

if TYPE_CHECKING:
    from backend.core.db import DatabaseUrl
    from backend.core.settings import Settings
    from backend.service import Backend

log = logging.getLogger("cooprogreso")

# What each pass is called when it fails.
JOBS = {
    "settle": "La liquidación de transferencias interbancarias falló",
    "deliver": "El envío de avisos SMS falló",
    "card_cycle": "El cierre de estados de cuenta de tarjetas falló",
    "scheduled": "El pago de servicios programados falló",
    "mask": "El enmascarado de códigos vencidos falló",
    "alerts": "La pasada de alertas de movimientos falló",
    "forget": "La depuración de ingresos antiguos falló",
}
MASK_EVERY_SECONDS = 30
FORGET_EVERY_SECONDS = 3600  # sign-ins are kept for months: once an hour is plenty


def _settle(backend: Backend) -> str | None:
    report = backend.clearing.settle()
    flagged = len(backend.clearing.flagged())
    if report.failed:
        return (f"La red interbancaria no respondió bien a {counted(report.failed, 'operación', 'operaciones')}; se reintentarán. "
                "El detalle está en el registro y en `cooprogreso settle`.")
    if flagged:
        noun = counted(flagged, "operación interbancaria espera", "operaciones interbancarias esperan")
        return f"{noun} revisión del personal (`cooprogreso settle`)."
    return None


def _deliver(backend: Backend) -> str | None:
    report = backend.notices.deliver()
    if report.last_error:
        return f"No se pudieron enviar avisos SMS a los socios: {report.last_error}"
    return None


def _card_cycle(backend: Backend) -> None:
    backend.card_cycle.close_due()


def _scheduled(backend: Backend) -> None:
    backend.scheduled_runner().run_pass()


def _mask(backend: Backend) -> None:
    backend.mask_expired_codes()
    backend.finish_scrubs()  # a code masked while another connection read is off the disk once nobody reads


def _alerts(backend: Backend) -> None:
    """Members' movement alerts (backend/security/security_center.py); delivered by the next `deliver`."""
    from backend.security.security_center import movement_alerts

    movement_alerts(backend.ctx)


def _forget(backend: Backend) -> None:
    """Sign-ins past their retention (backend/security/security_center.py)."""
    from backend.security.security_center import forget_old_sign_ins

    forget_old_sign_ins(backend.ctx)


PASSES: dict[str, Callable[[Backend], str | None]] = {
    "settle": _settle, "deliver": _deliver, "card_cycle": _card_cycle, "scheduled": _scheduled, "mask": _mask,
    "alerts": _alerts, "forget": _forget}


class Worker:
    def __init__(self, backend: Backend, *, holder: str | None = None, say: Callable[[str], None] | None = None,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        from backend.core.worker_lease import Lease

        self.backend = backend
        self.lease = Lease(backend.db, backend.settings.worker_lease_seconds, holder)
        self.say = say or _to_stderr
        self.monotonic = monotonic
        self.jobs = BackgroundJobs(self.say, monotonic)
        self.stopping = threading.Event()
        self.active = False
        self._next: dict[str, float] = {}
        self._waiting_said = False

    @property
    def tick(self) -> float:
        """How often the lease is renewed and due passes looked for: well within the lease."""
        return min(1.0, self.lease.seconds / 4)

    def every(self, name: str) -> float:
        s = self.backend.settings
        return {"settle": s.settle_every_seconds, "deliver": s.deliver_every_seconds,
                "card_cycle": s.card_cycle_seconds, "scheduled": s.scheduled_every_seconds,
                "mask": MASK_EVERY_SECONDS, "alerts": s.deliver_every_seconds, "forget": FORGET_EVERY_SECONDS}[name]

    def stop(self) -> None:
        """Finish the pass under way, then release the lease (SIGTERM, or the demo app closing)."""
        self.stopping.set()

    def run_pass(self, name: str) -> None:
        """One pass: a failure is logged and said once and backs the pass off; a problem outside is said once."""
        try:
            problem = PASSES[name](self.backend)
        except Exception as error:
            self.jobs.failed(name, error, f"{JOBS[name]}: {_describe(error)}")
            return
        self.jobs.succeeded(name)
        self.jobs.problem(name, problem)

    def run_due(self) -> None:
        """The passes whose time has come, the lease renewed before each (lost: back to standby)."""
        for name in PASSES:
            if self.stopping.is_set():
                return
            now = self.monotonic()
            if now < self._next.get(name, 0.0) or not self.jobs.due(name):
                continue
            if not self.lease.hold():
                self._lost()
                return
            self.run_pass(name)
            self._next[name] = self.monotonic() + self.every(name)

    def step(self) -> None:
        """Renew or take the lease; while held, run what is due."""
        try:
            held = self.lease.hold()
        except Exception as error:  # the database is unreachable: nobody can be sure who holds the lease
            log.error("worker %s could not reach the lease", self.lease.holder, exc_info=error)
            held = False
        if not held:
            self._lost()
            return
        if not self.active:
            self.active, self._waiting_said = True, False
            self._next.clear()  # a worker taking over runs every pass at once
            self.say(f"Procesos de fondo activos en este proceso ({self.lease.holder}).")
        self.run_due()

    def _lost(self) -> None:
        if self.active:
            self.active = False
            self.say("Procesos de fondo: otro proceso tomó el turno; este queda en espera.")
        elif not self._waiting_said:
            self._waiting_said = True
            self.say("Procesos de fondo: otro proceso está activo; este queda en espera y tomará el turno si "
                     "aquel deja de responder.")

    def run(self) -> None:
        """Until stopped: active while holding the lease, standby otherwise; the lease released on the way out."""
        try:
            while not self.stopping.is_set():
                self.step()
                self.stopping.wait(self.tick)
        finally:
            if self.active:
                with contextlib.suppress(Exception):  # a database gone at exit: the lease simply runs out
                    self.lease.release()
                self.active = False
                self.say("Procesos de fondo detenidos; turno liberado.")


def _to_stderr(message: str) -> None:
    from backend.core.text import visible

    print(visible(message), file=sys.stderr, flush=True)


def _describe(error: BaseException) -> str:
    """A service error's own Spanish message; anything else only by kind (details are in the log)."""
    from backend.core.errors import ServiceError
    from backend.core.text import visible

    if isinstance(error, ServiceError):
        return visible(error.message)
    return f"error inesperado ({type(error).__name__}); el detalle está en el registro"


@contextlib.contextmanager
def in_thread(target: Path | DatabaseUrl, settings: Settings) -> Iterator[Worker | None]:
    """The worker in a thread of this process, with its own connection (the demo: one command runs all)."""
    from backend.service import Backend

    started = threading.Event()
    box: list[Worker] = []

    def run() -> None:
        backend = Backend(target, settings, create=False)
        try:
            box.append(Worker(backend, say=lambda message: log.info("%s", message)))
            started.set()
            box[0].run()
        finally:
            started.set()
            backend.close()

    thread = threading.Thread(target=run, name="cooprogreso-worker", daemon=True)
    thread.start()
    started.wait(30)
    try:
        yield box[0] if box else None
    finally:
        if box:
            box[0].stop()
        thread.join(30)


# -- `cooprogreso worker` -----------------------------------------------------------------------------
def register(sub) -> None:
    worker = sub.add_parser("worker", help="ejecutar los procesos de fondo (uno activo por base de datos)")
    worker.add_argument("--db", dest="target")
    worker.set_defaults(handler=_worker)


def _worker(cfg, args) -> int:
    from .cli import open_backend

    backend = open_backend(cfg.db_path, cfg.settings)
    if backend is None:
        return 2
    worker = Worker(backend)

    def stop(signum, frame) -> None:
        worker.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        worker.run()
    finally:
        backend.close()
    return 0
