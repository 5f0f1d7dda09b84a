"""Operations commands: `cooprogreso deliver` (queued SMS to members) and the staff list of `settle`.

Both passes also run in the app's background; a branch server may run them periodically (cron).
What needs a person — an SMS given up on, a transfer the network never settled — is listed here.
"""

from __future__ import annotations

import sys


def register(sub) -> None:
    deliver = sub.add_parser("deliver", help="una pasada de envío de los avisos SMS en cola")
    deliver.add_argument("--db", dest="target", help="ruta de la base de datos")
    deliver.add_argument("--retry-failed", action="store_true",
                         help="volver a poner en cola los avisos que agotaron sus intentos")
    deliver.set_defaults(handler=_deliver)


def _backend(cfg):
    from backend.core.errors import ServiceError
    from backend.service import Backend

    if not cfg.db_path.exists():
        print(f"No existe la base de datos {cfg.db_path}.", file=sys.stderr)
        return None
    try:
        return Backend(cfg.db_path, cfg.settings, create=False)
    except ServiceError as exc:
        print(exc.message, file=sys.stderr)
        return None


def _deliver(cfg, args) -> int:
    from backend.core.clock import date_text
    from backend.core.text import visible

    backend = _backend(cfg)
    if backend is None:
        return 2
    try:
        if args.retry_failed:
            print(f"Avisos puestos de nuevo en cola: {backend.notices.requeue_failed('cli')}")
        r = backend.notices.deliver()
        print(f"Enviados {r.sent} · con error {r.failed} · agotaron sus intentos {r.given_up} · "
              f"en cola {backend.notices.pending()}")
        if r.last_error:
            print(f"Último error del servicio de mensajes: {visible(r.last_error)}")
        failed = backend.notices.undelivered()
        if failed:
            print(f"Avisos NO entregados ({len(failed)}), para revisión del personal"
                  " (después: cooprogreso deliver --retry-failed):")
            for n in failed:
                print(f"- aviso {n.id} del {date_text(n.created_at, time=True)} a {visible(n.recipient)}: {n.attempts} intentos; "
                      f"{visible(n.last_error)}")
        return 1 if failed else 0
    finally:
        backend.close()


def print_flagged(backend) -> int:
    """After a settlement pass: the items staff must look at; returns how many."""
    from backend.core.clock import date_text
    from backend.core.text import visible

    flagged = backend.clearing.flagged()
    if flagged:
        print(f"Requieren revisión del personal ({len(flagged)}): la red no las liquidó tras "
              f"{backend.settings.clearing_max_attempts} intentos y ya no se reintentan solas"
              " (después: cooprogreso settle --retry REFERENCIA):")
        for f in flagged:
            print(f"- {f.what} {visible(f.reference)} del {date_text(f.created_at, time=True)}: {f.attempts} intentos; "
                  f"{visible(f.last_error or 'sin respuesta final')}")
    return len(flagged)
