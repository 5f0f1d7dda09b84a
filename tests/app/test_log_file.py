"""The log file: every unexpected error with its traceback, never a code or a password."""

import logging
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from cooprogreso_tui import logs

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def log_file(tmp_path):
    logger = logging.getLogger(logs.LOGGER)
    before = list(logger.handlers)
    path = logs.setup(str(tmp_path / "logs"))
    yield path
    for handler in logger.handlers[:]:
        if handler not in before:
            logger.removeHandler(handler)
            handler.close()


def test_errors_reach_the_file_with_traceback_and_without_secrets(log_file):
    log = logging.getLogger("cooprogreso")
    try:
        code, password = "482913", "Clave2026x"
        raise RuntimeError(f"verify failed for code {code} password={password}")
    except RuntimeError as exc:
        log.error("unexpected failure in %s with code=%s token: %s", "verify", "123456", "abcDEF.987", exc_info=exc)
    log.warning('{"password": "Otra-Clave!", "codigo": "000111", "user": "demo"}')
    text = log_file.read_text()
    assert "Traceback (most recent call last)" in text and "RuntimeError" in text and "test_log_file.py" in text
    for secret in ("482913", "123456", "Clave2026x", "abcDEF.987", "Otra-Clave!", "000111"):
        assert secret not in text
    assert "[oculto]" in text and '"user": "demo"' in text
    assert stat.S_IMODE(log_file.stat().st_mode) == 0o600


def test_the_log_rotates(log_file):
    log = logging.getLogger("cooprogreso")
    for n in range(2 * logs.MAX_BYTES // 1000 + 10):
        log.info("línea %d %s", n, "x" * 1000)
    assert log_file.with_name(logs.FILE_NAME + ".1").exists()
    assert log_file.stat().st_size <= logs.MAX_BYTES


def test_a_cli_crash_is_logged(tmp_path):
    """Any command's unexpected error ends up in the file given by `log_dir` (here via the environment)."""
    script = ("import sys\nfrom cooprogreso_tui import cli\n"
              "cli.AREAS = {}\n"
              "def boom(*a):\n    raise ZeroDivisionError('secret=hunter2 code 654321')\n"
              "cli._check = boom\nsys.exit(cli.main(['check', '--db', sys.argv[1]]))\n")
    env = {"COOPROGRESO_LOG_DIR": str(tmp_path / "logs"), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", script, str(tmp_path / "x.sqlite3")], capture_output=True,
                         text=True, cwd=ROOT, env=env)
    assert out.returncode != 0
    text = (tmp_path / "logs" / logs.FILE_NAME).read_text()
    assert "ZeroDivisionError" in text and "Traceback" in text
    assert "hunter2" not in text and "654321" not in text


def test_hostile_text_in_a_logged_error_reaches_the_file_visible_and_on_its_own_line(log_file):
    """A technician reads the log in a terminal (tail, less, journalctl): an escape sequence, a direction override
    or a line break carried by an error (an outside system's answer, a stored text) must neither steer that
    terminal nor forge a record of its own."""
    log = logging.getLogger("cooprogreso")
    hostile = "Cuenta\x1b]0;pwned\x07 cerrada\u202eodot\n2026-11-25 10:00:00,000 INFO cooprogreso todo bien"
    try:
        raise ValueError(hostile)
    except ValueError as exc:
        log.error("settlement of %s failed: %s", "T-1", hostile, exc_info=exc)
    log.warning(hostile)
    text = log_file.read_text(encoding="utf-8")
    assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
    assert "\\u001b]0;pwned\\u0007" in text and "\\u202e" in text
    forged = [line for line in text.splitlines() if line.startswith("2026-11-25 10:00:00,000 INFO")]
    assert forged == []  # the record's own lines start with its time; a typed one never does
