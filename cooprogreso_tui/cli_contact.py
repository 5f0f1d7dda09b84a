"""`cooprogreso contacto`: load the co-op's own channels and agencies (replacing the demo set)."""

from __future__ import annotations

import sys
from pathlib import Path


def register(sub) -> None:
    parser = sub.add_parser("contacto", help="cargar los canales de atención y las agencias de la cooperativa")
    parser.add_argument("--db", dest="target")
    parser.add_argument("--canales", metavar="CSV", help="columnas: kind,label,value,hours "
                        "(kind: call_center, whatsapp, email, web, otro)")
    parser.add_argument("--agencias", metavar="CSV", help="columnas: code,name,city,address,hours,phone")
    parser.set_defaults(handler=_load)


def _load(cfg, args) -> int:
    from backend.contact import contact
    from backend.core.errors import ServiceError
    from backend.core.text import visible
    from backend.service import Backend

    if not (args.canales or args.agencias):
        print("Indica --canales CSV, --agencias CSV o ambos.", file=sys.stderr)
        return 2
    if not cfg.db_path.exists():
        print(f"No existe la base de datos {cfg.db_path}.", file=sys.stderr)
        return 2
    try:
        backend = Backend(cfg.db_path, cfg.settings, create=False)
    except ServiceError as exc:
        print(exc.message, file=sys.stderr)
        return 2
    try:
        channels, agencies = contact.load_csv(backend.db, channels=Path(args.canales) if args.canales else None,
                                              agencies=Path(args.agencias) if args.agencias else None)
    except (ServiceError, OSError, KeyError, UnicodeDecodeError) as exc:
        print(f"No se cargó nada: {visible(_reason(exc))}", file=sys.stderr)
        return 2 if getattr(exc, "code", "") == "file" else 1  # 2: the file itself is unusable
    finally:
        backend.close()
    print(f"Canales cargados: {channels} · agencias cargadas: {agencies} (reemplazan los datos de demostración)")
    return 0


def _reason(exc: Exception) -> str:
    """A ServiceError's message; an OSError's file and reason in Spanish (its own text is English)."""
    if isinstance(exc, OSError):
        from backend.core.errors import os_reason

        return f"{exc.filename or 'el archivo'}: {os_reason(exc)}"
    return str(getattr(exc, "message", exc))
