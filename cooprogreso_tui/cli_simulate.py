"""`cooprogreso simulate --days N --db DEMO`: a demo co-op moved forward day by day (backend/demo/simulation.py),
with a progress bar and a summary; exit 1 when a day's books or calendar rules failed."""

from __future__ import annotations

import argparse

from .cli import say

MAX_DAYS = 3660

LABELS = {
    "apertura_caja": "Aperturas de caja", "cierre_caja": "Cierres de caja",
    "ventanilla_deposito": "Depósitos en ventanilla", "ventanilla_retiro": "Retiros en ventanilla",
    "transferencia": "Transferencias a socios Cooprogreso", "interbancaria": "Transferencias interbancarias",
    "pago_servicio": "Pagos de servicios", "aviso_servicio": "Avisos de pago a la entidad",
    "pago_tarjeta": "Pagos de tarjeta", "consumo_tarjeta": "Consumos con tarjeta",
    "diferido": "Diferidos", "pago_programado": "Pagos programados creados",
    "solicitud_producto": "Solicitudes de productos", "aprobacion_producto": "Solicitudes aprobadas",
    "rechazo_producto": "Solicitudes rechazadas", "aprobacion_ventanilla": "Aprobaciones del supervisor",
    "cierre_dia": "Cierres del día", "afiliacion": "Afiliaciones", "ingreso": "Ingresos a la banca en línea",
}


def _days(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"se esperaba un número entero de días, no «{value}»") from None
    if not 1 <= number <= MAX_DAYS:
        raise argparse.ArgumentTypeError(f"de 1 a {MAX_DAYS} días")
    return number


def register(sub) -> None:
    p = sub.add_parser("simulate", help="simular días de una cooperativa de demostración (solo bases demo)")
    p.add_argument("--db", dest="target", required=True)
    p.add_argument("--days", type=_days, required=True, help="días de calendario a simular")
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument("--members", type=int, default=8, help="socios que usan la banca en línea (de 1 a 50)")
    p.add_argument("--calendar-warn-only", action="store_true",
                   help="las fechas en días no hábiles se informan pero no hacen fallar la simulación")
    p.set_defaults(handler=_simulate)


def _simulate(cfg, args) -> int:
    from rich.progress import Progress

    from backend.core.clock import FixedClock, set_process_clock, system_clock
    from backend.core.errors import ServiceError
    from backend.demo.simulation import Simulation, refuse_unless_demo
    from backend.service import Backend

    from .cli import open_backend

    if not 1 <= args.members <= 50:
        say("--members va de 1 a 50 socios.", err=True)
        return 2
    probe = open_backend(cfg.db_path, cfg.settings, readonly=True)  # decided before anything is migrated or written
    if probe is None:
        return 2
    try:
        refuse_unless_demo(probe)
    except ServiceError as exc:
        say(exc.message, err=True)
        return 2
    finally:
        probe.close()
    previous = system_clock(cfg.settings.timezone)
    clock = FixedClock(previous.now())
    backend = Backend(cfg.db_path, cfg.settings, clock, create=False)
    set_process_clock(clock)  # anything that asks for the process clock gets the simulated one
    try:
        simulation = Simulation(backend, seed=args.seed, members=args.members)
        with Progress(transient=False) as bar:
            task = bar.add_task("Simulando", total=args.days)

            def step(done: int, total: int, label: str) -> None:
                bar.update(task, completed=done, total=total, description=f"Simulando {label}")

            report = simulation.run(args.days, step)
    except ServiceError as exc:
        say(exc.message, err=True)
        return 1
    finally:
        set_process_clock(previous)
        backend.close()
    _summary(report)
    failed = report.stopped or report.problem_count > (report.calendar_problems if args.calendar_warn_only else 0)
    return 1 if failed else 0


def _summary(report) -> None:
    from backend.core.clock import date_text

    per_day = sum(report.seconds) / len(report.seconds) if report.seconds else 0.0
    say(f"Simulados {report.days} días ({date_text(report.start)} – {date_text(report.end)}): "
         f"{report.closed} días hábiles cerrados · {per_day:.2f} s por día")
    say("Operaciones:")
    for kind, n in sorted(report.operations.items()):
        say(f"  {LABELS.get(kind, kind):<40} {n:>7}")
    if report.refused:
        say("Rechazadas por el servicio (saldo, cupo, límites):")
        for kind, n in sorted(report.refused.items()):
            say(f"  {LABELS.get(kind, kind):<40} {n:>7}")
    if report.stopped:
        say(f"La simulación se detuvo: {report.stopped}", err=True)
    if not report.problem_count:
        say("Cada día: contabilidad cuadrada (check), ninguna fecha de vencimiento en día no hábil, cada pago "
             "programado una sola vez y cada estado de cuenta emitido.")
        return
    say(f"Se encontraron {report.problem_count} problemas ({report.calendar_problems} de calendario):", err=True)
    for line in report.problems[:40]:
        say(f"- {line}", err=True)
    if report.problem_count > 40:
        say(f"  … y {report.problem_count - 40} más.", err=True)
