"""`cooprogreso tasas`: show the legal rate caps in force with their sources, or load a new table from a CSV."""

from __future__ import annotations

from pathlib import Path


def register(sub) -> None:
    parser = sub.add_parser("tasas", help="ver las tasas máximas vigentes o cargar una tabla nueva desde un CSV")
    parser.add_argument("--db", dest="target")
    parser.add_argument("--load", metavar="CSV", help="columnas: segment,valid_from,valid_to,max_effective,verified,"
                        "source (fechas AAAA-MM-DD, tasa en %% con punto, verified: si, no)")
    parser.set_defaults(handler=_run)



def _run(cfg, args) -> int:
    from backend.core import rates
    from backend.core.errors import ServiceError
    from .cli import open_backend, say

    backend = open_backend(cfg.db_path, cfg.settings)
    if backend is None:
        return 2
    try:
        if args.load:
            try:
                loaded = rates.load_file(backend.ctx, Path(args.load), "cli")
            except ServiceError as exc:
                say(f"No se cargó nada: {exc.message}", err=True)
                return 2 if exc.code == "file" else 1  # 2: the file itself is unusable
            unverified = sum(1 for c in loaded if not c.verified)
            say(f"Tasas máximas cargadas: {len(loaded)} filas, la más reciente vigente desde el "
                 f"{max(c.valid_from for c in loaded):%d/%m/%Y}" + (f" ({unverified} sin verificar)" if unverified else ""))
        today = backend.ctx.now().date()
        with backend.db.read() as conn:
            book = rates.current_book(conn, backend.product_requests.book)
        say(f"Tasas máximas vigentes al {today:%d/%m/%Y} (tasa efectiva anual):")
        for cap in book.caps_on(today):
            until = f" hasta el {cap.valid_to:%d/%m/%Y}" if cap.valid_to else ""
            where = (f"cargada el {cap.loaded_at[8:10]}/{cap.loaded_at[5:7]}/{cap.loaded_at[:4]} por {cap.loaded_by}"
                     if cap.loaded_at else "incluida en el programa")
            mark = "  [sin verificar]" if not cap.verified else ""
            say(f"  {cap.label:<37} {rates.format_rate(cap.max_effective):>7}  desde el {cap.valid_from:%d/%m/%Y}"
                 f"{until} · {cap.source} · {where}{mark}")
        for warning in book.warnings(today, backend.settings.rate_table_max_age_days):
            say(f"Aviso: {warning}")
        return 0
    finally:
        backend.close()
