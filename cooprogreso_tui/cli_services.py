"""`cooprogreso billers` and `cooprogreso run-scheduled`: the biller catalogue and the scheduled-payment runner.

`run-scheduled` runs one pass and exits, for cron on a branch server; any number of them may run at
once (here, on other servers, and inside the app) and each (schedule, period) is still paid once.
"""

from __future__ import annotations

import sys
from backend.core.clock import parse_date
from pathlib import Path

from backend.core.text import visible


def register(sub) -> None:
    billers = sub.add_parser("billers", help="entidades de Pago de Servicios: listar o cargar/actualizar desde un CSV")
    billers.add_argument("--db", dest="target")
    billers.add_argument("--load", metavar="CSV", help="columnas: " + "code,category,name,id_label,rule,hint,"
                         "amount_mode,commission,max_amount")
    billers.set_defaults(handler=_billers)
    run = sub.add_parser("run-scheduled", help="una pasada de los pagos programados que vencen (para cron)")
    run.add_argument("--db", dest="target")
    run.add_argument("--until", metavar="dd/mm/aaaa", help="pagar también lo programado hasta esta fecha")
    run.set_defaults(handler=_run_scheduled)


def _backend(cfg):
    from .cli import open_backend

    return open_backend(cfg.db_path, cfg.settings)


def _billers(cfg, args) -> int:
    from backend.bill_payments import billers
    from backend.core.errors import ServiceError
    from backend.core.money import format_money

    backend = _backend(cfg)
    if backend is None:
        return 2
    try:
        billers.ensure_loaded(backend.db)
        if args.load:
            count = billers.load_csv(backend.db, Path(args.load))
            print(f"Entidades cargadas o actualizadas: {count}")
            return 0
        for b in billers.all_billers(backend.db.conn):
            mode = "recarga" if b.is_topup else "factura"
            print(visible(f"{b.code:<14} {b.category:<26} {b.name:<40} {mode:<8} comisión {format_money(b.commission)}"
                          f" · máximo {format_money(b.max_amount)}"))
        return 0
    except (ServiceError, OSError, UnicodeDecodeError) as exc:
        print(visible(f"No se cargaron entidades: {_reason(exc)}"), file=sys.stderr)
        return 2 if getattr(exc, "code", "") == "file" else 1  # 2: the file itself is unusable
    finally:
        backend.close()


def _run_scheduled(cfg, args) -> int:
    until = None
    if args.until:
        try:
            until = parse_date(args.until)
        except ValueError:
            print(visible(f"Fecha no válida en --until: «{args.until}» (usa dd/mm/aaaa)."), file=sys.stderr)
            return 2
    backend = _backend(cfg)
    if backend is None:
        return 2
    try:
        report = backend.scheduled_runner(label="run-scheduled").run_pass(until=until)
    finally:
        backend.close()
    print(report.line())
    return 0


def _reason(exc: Exception) -> str:
    """A ServiceError's message; an OSError's file and reason in Spanish (its own text is English)."""
    if isinstance(exc, OSError):
        from backend.core.errors import os_reason

        return f"{exc.filename or 'el archivo'}: {os_reason(exc)}"
    return str(getattr(exc, "message", exc))
