"""Typed service errors: a stable code for programs, a Spanish message for people.

The UI shows `message` as is, so every message is written for a member to read.
"""

from __future__ import annotations


class ServiceError(Exception):
    code = "error"

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.field = field

    def __str__(self) -> str:
        return self.message


class ValidationError(ServiceError):
    code = "invalid"


class AuthError(ServiceError):
    code = "auth"


class AccountLocked(AuthError):
    code = "locked"


class SessionExpired(AuthError):
    code = "session_expired"


class Forbidden(ServiceError):
    code = "forbidden"


class NotFound(ServiceError):
    code = "not_found"


class OtpError(ServiceError):
    """A code was refused; `tries_left` says whether the member may try again."""

    code = "otp"

    def __init__(self, message: str, *, code: str | None = None, tries_left: int = 0):
        super().__init__(message, code=code)
        self.tries_left = tries_left


class DeliveryError(ServiceError):
    code = "delivery"


class InsufficientFunds(ServiceError):
    code = "insufficient_funds"


class SchemaError(ServiceError):
    code = "schema"


# Why a file could not be used, in the house's Spanish: the OS's own text (`strerror`, «No such file or
# directory») is English and names no remedy. Each says what is wrong and, where a person can act, what to do.
_OS_REASONS = {
    "ENOENT": "no existe",
    "EACCES": "no hay permiso (revisa el dueño y los permisos)",
    "EPERM": "no hay permiso (revisa el dueño y los permisos)",
    "EROFS": "está en un disco de solo lectura",
    "ENOSPC": "el disco está lleno (libera espacio y vuelve a intentarlo)",
    "EDQUOT": "se agotó la cuota de disco (libera espacio y vuelve a intentarlo)",
    "EISDIR": "es una carpeta, no un archivo",
    "ENOTDIR": "una parte de la ruta no es una carpeta",
    "ELOOP": "es un enlace simbólico, que no se sigue",
    "EEXIST": "ya existe",
    "ENAMETOOLONG": "el nombre es demasiado largo",
    "EIO": "error de lectura o escritura del disco",
    "EMFILE": "hay demasiados archivos abiertos",
    "ENFILE": "hay demasiados archivos abiertos",
    "EBUSY": "está en uso",
    "ETXTBSY": "está en uso",
    "EXDEV": "está en otro disco",
}


def os_reason(exc: OSError) -> str:
    """Why an OSError happened, in Spanish («no existe», «no hay permiso…»), never the OS's English text."""
    import errno

    name = errno.errorcode.get(exc.errno or 0, "")
    return _OS_REASONS.get(name, f"error del sistema {name or exc.errno or type(exc).__name__}")


# SQLite's messages (sqlite3.Error's text) that reach a person, in Spanish.
_SQLITE_REASONS = (
    ("unable to open database file", "no se pudo abrir el archivo (¿existe su carpeta y hay permiso de escritura en "
                                     "ella?)"),
    ("attempt to write a readonly database", "la base es de solo lectura (revisa los permisos del archivo y de su "
                                             "carpeta)"),
    ("readonly database", "la base es de solo lectura (revisa los permisos del archivo y de su carpeta)"),
    ("database or disk is full", "el disco está lleno (libera espacio y vuelve a intentarlo)"),
    ("database is locked", "otro proceso la tiene ocupada; vuelve a intentarlo en un momento"),
    ("disk i/o error", "error de lectura o escritura del disco"),
    ("file is not a database", "el archivo no es una base SQLite o está dañado"),
    ("malformed", "el archivo de la base está dañado (restáuralo desde una copia)"),
    ("no such table", "le faltan tablas: no es una base de Cooprogreso o está incompleta"),
)


def sqlite_reason(exc: BaseException) -> str:
    """Why SQLite refused, in Spanish; SQLite's own text only when it is one we do not know (never a path)."""
    text = str(exc).strip().lower()
    for fragment, reason in _SQLITE_REASONS:
        if fragment in text:
            return reason
    return f"error de SQLite ({str(exc).strip() or type(exc).__name__})"
