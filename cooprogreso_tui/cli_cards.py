"""`cooprogreso close-cycle`: close every card statement whose fecha de corte has passed."""

from __future__ import annotations

from backend.core.clock import parse_date


def register(sub) -> None:
    close = sub.add_parser("close-cycle", help="cerrar los estados de cuenta de tarjetas cuya fecha de corte pasó")
    close.add_argument("--db", dest="target", help="ruta de la base de datos")
    close.add_argument("--date", help="cerrar como si hoy fuera esta fecha (dd/mm/aaaa); por defecto, hoy")
    close.set_defaults(handler=_close_cycle)


def _close_cycle(cfg, args) -> int:
    from backend.core.errors import ServiceError

    from .cli import open_backend, say

    today = None
    if args.date:
        try:
            today = parse_date(args.date)
        except ValueError:
            say(f"Fecha no válida: «{args.date}» (usa dd/mm/aaaa).", err=True)
            return 2
    backend = open_backend(cfg.db_path, cfg.settings)  # one line for a missing, empty or foreign file
    if backend is None:
        return 2
    try:
        report = backend.card_cycle.close_due(today)
    except ServiceError as exc:
        say(exc.message, err=True)
        return 1
    finally:
        backend.close()
    say(f"Tarjetas revisadas {report.cards} · estados de cuenta cerrados {report.statements} · "
          f"en cierre por otro servidor {report.busy}")
    return 0
