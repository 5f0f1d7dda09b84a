"""The log file: every unexpected error with its traceback, for the co-op's technicians.

Where: the `log_dir` setting, else the user log directory (platformdirs; `~/.local/state/cooprogreso/log`
on Linux), file `cooprogreso.log`, created 0600, rotated at 1 MB keeping 5 old files.
Never a code or a password: `Redact` rewrites every record — message, arguments and traceback — so that
any run of exactly six digits (an OTP) and any value named password/token/secret/código/clave… is
replaced by «[oculto]» before it reaches the file.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import re
import sys
from pathlib import Path

import platformdirs

from backend.core.text import visible

LOGGER = "cooprogreso"
FILE_NAME = "cooprogreso.log"
MAX_BYTES = 1_000_000
BACKUPS = 5
HIDDEN = "[oculto]"

_SIX_DIGITS = re.compile(r"(?<![0-9])[0-9]{6}(?![0-9])")
_NAMES = r"(?:password|passwd|pwd|passphrase|contrase(?:ñ|n)a|clave|token|secret\w*|pepper|otp|c(?:ó|o)digo|code|pin)"
# name=value, name: value, "name": "value", name='value' (in messages and in tracebacks' source lines)
_NAMED = re.compile(rf"(?i)(\b\w*{_NAMES}\w*[\"']?\s*[:=]\s*)([\"']?)([^\s\"',;)}}&]+)")


def redact(text: str) -> str:
    text = _NAMED.sub(lambda m: f"{m.group(1)}{m.group(2)}{HIDDEN}", text)
    return _SIX_DIGITS.sub(HIDDEN, text)


class Redact(logging.Filter):
    """Renders the record's message and traceback now, redacted, so no handler sees the raw values.

    The file is read in a terminal: control and invisible characters are shown as «\\u…» (`visible`), the
    message stays on its record's line, and every traceback line is indented, so only a record's own first
    line starts at the margin (an error's text cannot forge a record)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = visible(redact(record.getMessage()))
        record.args = None
        if record.exc_info:
            record.exc_text = _indented(redact(logging.Formatter().formatException(record.exc_info)))
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = _indented(redact(record.exc_text))
        if record.stack_info:
            record.stack_info = _indented(redact(record.stack_info))
        return True


def _indented(text: str) -> str:
    return "\n".join(line if line.startswith(" ") else f"  {line}" for line in
                     (visible(part) for part in text.split("\n")))


def log_dir(configured: str = "") -> Path:
    return Path(configured).expanduser() if configured else platformdirs.user_log_path("cooprogreso")


def setup(configured_dir: str = "") -> Path | None:
    """Send the "cooprogreso" logger to the rotated file (once per process); the file's path, or None.

    A log directory that cannot be written is not a reason to refuse to start: the app runs without it.
    """
    logger = logging.getLogger(LOGGER)
    path = log_dir(configured_dir) / FILE_NAME
    for handler in logger.handlers:
        if isinstance(handler, logging.handlers.RotatingFileHandler) and Path(handler.baseFilename) == path:
            return path
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY | os.O_APPEND | getattr(os, "O_NOFOLLOW", 0), 0o600))
        handler = logging.handlers.RotatingFileHandler(path, maxBytes=MAX_BYTES, backupCount=BACKUPS,
                                                       encoding="utf-8")
    except OSError:
        return None
    handler.addFilter(Redact())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(process)d %(threadName)s] "
                                           "%(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False  # never onto the terminal the app is drawing
    _log_uncaught(logger)
    return path


def _log_uncaught(logger: logging.Logger) -> None:
    """A crash of the CLI or the app is in the log too, with its traceback (and still shown as before)."""
    previous = sys.excepthook
    if getattr(previous, "_cooprogreso", False):
        return

    def hook(kind, value, tb):
        if not issubclass(kind, KeyboardInterrupt):
            logger.critical("uncaught %s", kind.__name__, exc_info=(kind, value, tb))
        previous(kind, value, tb)

    hook._cooprogreso = True  # type: ignore[attr-defined]
    sys.excepthook = hook
