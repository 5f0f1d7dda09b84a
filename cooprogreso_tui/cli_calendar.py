"""`cooprogreso calendario`: show the co-op calendar in force, or load a year's holidays from a CSV."""

from __future__ import annotations

from pathlib import Path


def register(sub) -> None:
    parser = sub.add_parser("calendario", help="ver el calendario de feriados o cargar años desde un CSV")
    parser.add_argument("--db", dest="target")
    parser.add_argument("--load", metavar="CSV", help="columnas: fecha,nombre,tipo,verificado,fuente "
                        "(tipo: feriado, traslado, puente; verificado: si, no); reemplaza los años que trae")
    parser.add_argument("--year", type=int, help="el año a mostrar (por omisión, el actual)")
    parser.set_defaults(handler=_run)



def _run(cfg, args) -> int:
    from backend.core import business_days
    from backend.core.errors import ServiceError
    from .cli import open_backend, say

    backend = open_backend(cfg.db_path, cfg.settings)
    if backend is None:
        return 2
    try:
        if args.load:
            try:
                report = business_days.load_file(backend.ctx, Path(args.load), "cli")
            except ServiceError as exc:
                say(f"No se cargó nada: {exc.message}", err=True)
                return 2 if exc.code == "file" else 1  # 2: the file itself is unusable
            say(f"Calendario cargado: {', '.join(map(str, report.years))} · {report.holidays} feriados"
                 + (f" ({report.unverified} sin verificar)" if report.unverified else ""))
        today = backend.ctx.now().date()
        with backend.db.read() as conn:
            cal = business_days.current(conn)
        year = args.year or (report.years[0] if args.load else today.year)
        origin = cal.origins.get(year)
        where = "sin calendario" if origin is None else (
            f"cargado el {origin.loaded_at[8:10]}/{origin.loaded_at[5:7]}/{origin.loaded_at[:4]} por {origin.loaded_by}"
            if origin.loaded else "incluido en el programa")
        say(f"Feriados {year} ({where}):")
        for h in cal.of_year(year):
            mark = "" if h.verified else "  [sin verificar]"
            say(f"  {h.day:%d/%m/%Y} {h.name} · {h.kind_label} · {h.source}{mark}")
        for warning in cal.warnings(today):
            say(f"Aviso: {warning}")
        return 0
    finally:
        backend.close()
