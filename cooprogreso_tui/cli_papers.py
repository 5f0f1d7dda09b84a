"""`cooprogreso statement`: a member's monthly estado de cuenta for the back office, as PDF or CSV.

Signs in as a staff user like `cooprogreso uafe` (password, then the authenticator code, from the terminal or
two lines of stdin): the service allows atención, supervisor and auditor, and the audit names who took the copy.
`--account` is a savings account's or a card's account number. The file is new and private (0600).
"""

from __future__ import annotations

from backend.core.text import counted

from .cli import say
from .back_office import as_staff


def register(sub) -> None:
    st = sub.add_parser("statement", help="estado de cuenta mensual de una cuenta de ahorros o tarjeta (personal)")
    st.add_argument("--db", dest="target")
    st.add_argument("--user", required=True, help="usuario de personal (atención, supervisor o auditor)")
    st.add_argument("--account", required=True, metavar="NÚMERO", help="número de cuenta de ahorros o de tarjeta")
    st.add_argument("--month", required=True, metavar="AAAA-MM")
    out = st.add_mutually_exclusive_group(required=True)
    out.add_argument("--pdf", metavar="ARCHIVO", help="archivo PDF nuevo")
    out.add_argument("--csv", metavar="ARCHIVO", help="archivo CSV nuevo")
    st.set_defaults(handler=_statement)
    register_printer(sub)


def _statement(cfg, args) -> int:
    from backend.core.files import write_private_file

    fmt, target = ("pdf", args.pdf) if args.pdf else ("csv", args.csv)

    def take(backend, token):
        kind = backend.db.conn.execute("SELECT kind FROM accounts WHERE number = ?", (args.account,)).fetchone()
        service = backend.card_statements if kind and kind[0] == "tarjeta" else backend.account_statements
        paper = service.statement_for(token, args.account, args.month, fmt)
        return paper, write_private_file(target, paper.data)

    def month_first() -> object:  # a bad or future month before the password, not after it was spent
        from backend.core.clock import system_clock
        from backend.core.periods import parse_month

        return parse_month(args.month, system_clock(cfg.settings.timezone).today())

    code, done = as_staff(cfg, args.user, take, check=month_first)
    if done is None:
        return code
    paper, path = done
    doc = paper.document
    say(f"{doc.title} · {args.account} · {args.month}: {counted(len(doc.rows), 'movimiento', 'movimientos')} en "
        f"{path} (verifícalo con: cooprogreso verify {path})")
    return 0


def register_printer(sub) -> None:
    pr = sub.add_parser("printer", help="impresora CUPS de una agencia, o la agencia de un usuario de personal")
    pr.add_argument("--db", dest="target")
    pr.add_argument("--agency", required=True, metavar="CÓDIGO", help="código de la agencia (p. ej. MATRIZ)")
    pr.add_argument("--queue", metavar="COLA", help="cola de CUPS de la impresora de esa agencia")
    pr.add_argument("--staff", metavar="USUARIO", help="asignar este usuario de personal a la agencia")
    pr.set_defaults(handler=_printer)


def _printer(cfg, args) -> int:
    from backend.core import printing
    from backend.core.errors import ServiceError

    from .cli import open_backend

    if args.queue is None and args.staff is None:
        say("Indica --queue COLA, --staff USUARIO o ambos.", err=True)
        return 2
    backend = open_backend(cfg.db_path, cfg.settings)
    if backend is None:
        return 2
    try:
        with backend.db.write() as conn:
            if conn.execute("SELECT 1 FROM agencies WHERE code = ?", (args.agency,)).fetchone() is None:
                say(f"No existe la agencia {args.agency}.", err=True)
                return 1
            if args.queue is not None:
                conn.execute("UPDATE agencies SET printer = ? WHERE code = ?",
                             (printing.check_queue(args.queue), args.agency))
            if args.staff is not None and conn.execute("UPDATE staff_users SET agency = ? WHERE username = ?"
                                                       " RETURNING id", (args.agency, args.staff.lower())
                                                       ).fetchone() is None:
                raise printing.ValidationError(f"No existe el usuario de personal {args.staff}.")
            backend.ctx.audit(conn, "cli", "agencia.impresora", "ok", agencia=args.agency, impresora=args.queue,
                              personal=args.staff)
    except ServiceError as exc:
        say(exc.message, err=True)
        return 1
    finally:
        backend.close()
    say(f"Agencia {args.agency}: " + " · ".join(
        part for part in (f"impresora {args.queue}" if args.queue else "",
                          f"personal {args.staff}" if args.staff else "") if part))
    return 0
