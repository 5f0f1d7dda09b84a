"""Printing at the branch: a PDF sent to the agency's CUPS queue with `lp` (setting `print_command`).

The queue is the agency's (`agencies.printer`); the staff user's agency is `staff_users.agency`. Nothing is
printed inside a database transaction (a retried transaction would print twice): callers render first, print,
then audit. `lp` reads the PDF on its standard input, so no file is left on the server.
"""

from __future__ import annotations

import re
import subprocess

from backend.core.db import Connection
from backend.core.errors import ServiceError, ValidationError

QUEUE_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,126}")  # CUPS queue names; never an option («-…»)
TIMEOUT_SECONDS = 20
_JOB_RE = re.compile(r"request id is (\S+)")


def check_queue(name: str) -> str:
    if not isinstance(name, str) or not QUEUE_RE.fullmatch(name):
        raise ValidationError("Nombre de impresora no válido: letras, dígitos, «_», «-» y «.», sin espacios.",
                              field="printer")
    return name


def agency_printer(conn: Connection, staff_id: int) -> tuple[str, str]:
    """(agency code, queue) of the staff user's agency, or a Spanish refusal saying what to configure."""
    row = conn.execute("SELECT s.agency, a.printer FROM staff_users s LEFT JOIN agencies a ON a.code = s.agency"
                       " WHERE s.id = ?", (staff_id,)).fetchone()
    if row is None or not row[0]:
        raise ValidationError("Tu usuario no tiene agencia asignada: pide que la configuren "
                              "(cooprogreso printer --staff USUARIO --agency CÓDIGO).", code="sin_impresora")
    if not row[1]:
        raise ValidationError(f"La agencia {row[0]} no tiene impresora configurada "
                              "(cooprogreso printer --agency CÓDIGO --queue COLA).", code="sin_impresora")
    return row[0], row[1]


def print_pdf(command: str, queue: str, data: bytes, title: str) -> str:
    """Send `data` to `queue`; returns the CUPS job id. A Spanish error if CUPS refuses or does not answer."""
    check_queue(queue)
    title = re.sub(r"[^A-Za-z0-9_.-]", "_", title)[:60] or "documento"
    try:
        done = subprocess.run([command, "-d", queue, "-t", title], input=data, capture_output=True,
                              timeout=TIMEOUT_SECONDS, check=False)
    except FileNotFoundError:
        raise ServiceError(f"No se encontró el programa de impresión «{command}» (CUPS no está instalado).",
                           code="impresion") from None
    except subprocess.TimeoutExpired:
        raise ServiceError("La impresora de la agencia no respondió: inténtalo de nuevo o guarda el comprobante.",
                           code="impresion") from None
    job = _JOB_RE.search(done.stdout.decode("utf-8", "replace"))
    if done.returncode != 0 or job is None:
        raise ServiceError(f"No se pudo imprimir en «{queue}»: revisa que la impresora de la agencia esté "
                           "encendida y configurada en CUPS.", code="impresion")
    return job.group(1)
