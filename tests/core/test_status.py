"""`cooprogreso status` for monitoring (issue #20): exit 0/1/2 as ok/warning/critical, with --json, read-only."""

import hashlib
import json
import time
from datetime import datetime

import pytest

from backend.core import keys
from backend.core.clock import FixedClock, iso, set_process_clock
from cooprogreso_tui import cli


def status(capsys, target, *extra) -> tuple[int, dict]:
    capsys.readouterr()
    code = cli.main(["status", "--db", str(target), "--json", *extra])
    report = json.loads(capsys.readouterr().out)
    assert report["codigo"] == code
    return code, {c["name"]: c for c in report["verificaciones"]}


def test_a_running_coop_reports_each_check_and_its_worst_level(backend, db_path, capsys):
    from backend.core import worker_lease

    code, checks = status(capsys, db_path)
    assert code == 2 and checks["proceso_de_fondo"]["level"] == "CRÍTICO"  # no worker has ever run here
    assert worker_lease.Lease(backend.db, 30).hold()  # a worker's heartbeat: the co-op is running
    code, checks = status(capsys, db_path)
    assert checks["proceso_de_fondo"]["level"] == "OK", checks["proceso_de_fondo"]
    assert {"base", "esquema", "claves", "proceso_de_fondo", "liquidacion", "mensajes", "tasas"} <= set(checks)
    assert any(name.startswith("calendario") for name in checks)
    assert checks["claves"]["level"] == "OK" and backend.db.get_meta(keys.FINGERPRINT_META) in checks["claves"]["message"]
    assert checks["base"]["level"] == checks["esquema"]["level"] == "OK"
    assert code == max({"OK": 0, "AVISO": 1, "CRÍTICO": 2}[c["level"]] for c in checks.values())
    assert code < 2


def test_a_stale_rate_table_warns_and_a_fresh_one_does_not(backend, db_path, capsys):
    from backend.core import rates

    newest = max(c.valid_from for c in rates.default_book().caps_on(datetime(2026, 11, 25).date()))
    for days, level in ((30, "OK"), (400, "AVISO")):
        day = newest.toordinal() + days
        set_process_clock(FixedClock(datetime.fromordinal(day).replace(hour=10)))
        _, checks = status(capsys, db_path)
        assert checks["tasas"]["level"] == level, checks["tasas"]


def test_the_rate_table_loaded_into_the_database_is_the_one_status_checks(backend, db_path, tmp_path, capsys):
    """`cooprogreso tasas --load` of the current table ends the warning; status read the shipped table only."""
    from backend.core import rates

    newest = max(c.valid_from for c in rates.default_book().caps_on(datetime(2026, 11, 25).date()))
    day = datetime.fromordinal(newest.toordinal() + 400).replace(hour=10)
    set_process_clock(FixedClock(day))
    assert status(capsys, db_path)[1]["tasas"]["level"] == "AVISO"
    table = tmp_path / "tasas.csv"
    table.write_text("segment,valid_from,valid_to,max_effective,verified,source\n"
                     f"consumo,{day:%Y-%m-%d},,16.77,si,BCE (prueba)\n", encoding="utf-8")
    rates.load_file(backend.ctx, table, "cli")
    _, checks = status(capsys, db_path)
    assert checks["tasas"]["level"] == "OK" and f"{day:%d/%m/%Y}" in checks["tasas"]["message"], checks["tasas"]


@pytest.mark.sqlite_only(covered=True)
def test_a_wrong_key_file_is_critical_and_nothing_is_written(backend, db_path, engine, tmp_path, monkeypatch, capsys):
    backend.close()
    before = hashlib.sha256(db_path.read_bytes()).hexdigest() if engine == "sqlite" else None
    monkeypatch.setenv("COOPROGRESO_SECRET_KEY_FILE", str(tmp_path / "typo.json"))
    code, checks = status(capsys, db_path)
    assert code == 2 and checks["claves"]["level"] == "CRÍTICO"
    assert not (tmp_path / "typo.json").exists()
    if engine == "sqlite":
        assert hashlib.sha256(db_path.read_bytes()).hexdigest() == before


def test_messages_waiting_too_long_warn(backend, db_path, capsys, clock):
    _, checks = status(capsys, db_path)
    assert checks["mensajes"]["level"] == checks["liquidacion"]["level"] == "OK"
    with backend.db.write() as conn:
        conn.execute("INSERT INTO outbox (created_at, channel, recipient, body, status) VALUES (?, 'sms', '0999', 'x',"
                     " 'pendiente')", (iso(clock.now().replace(hour=9)),))
    _, checks = status(capsys, db_path)
    assert checks["mensajes"]["level"] == "AVISO" and "1 esperan" in checks["mensajes"]["message"]


def test_the_worker_heartbeat_is_read_when_the_worker_table_exists(backend, db_path, capsys):
    with backend.db.write() as conn:  # the lease row `cooprogreso worker` keeps (its own migration makes the table)
        conn.execute("CREATE TABLE IF NOT EXISTS worker_lease (name TEXT PRIMARY KEY, holder TEXT NOT NULL,"
                     " heartbeat_ms BIGINT NOT NULL, expires_ms BIGINT NOT NULL, released INTEGER NOT NULL DEFAULT 0)")
    _, checks = status(capsys, db_path)
    assert checks["proceso_de_fondo"]["level"] == "CRÍTICO"  # none has ever run
    now = int(time.time() * 1000)
    for beat, expires, level in ((now - 2_000, now + 28_000, "OK"), (now - 90_000, now + 10_000, "AVISO"),
                                 (now - 120_000, now - 90_000, "CRÍTICO")):
        with backend.db.write() as conn:
            conn.execute("DELETE FROM worker_lease")
            conn.execute("INSERT INTO worker_lease (name, holder, heartbeat_ms, expires_ms, released)"
                         " VALUES ('background', 'host:1:ab', ?, ?, 0)", (beat, expires))
        _, checks = status(capsys, db_path)
        assert checks["proceso_de_fondo"]["level"] == level, checks["proceso_de_fondo"]


def test_an_unreachable_database_is_critical_in_one_line(tmp_path, capsys):
    capsys.readouterr()
    assert cli.main(["status", "--db", str(tmp_path / "no-existe.sqlite3")]) == 2
    out = capsys.readouterr()
    assert out.out.startswith("CRÍTICO") and "Traceback" not in out.out + out.err
    assert not (tmp_path / "no-existe.sqlite3").exists()


def test_another_programs_database_is_not_told_to_migrate(engine, request, tmp_path, capsys):
    """A database of another program (SQLite tables, or a PostgreSQL database with other tables) has no schema
    version: status says it is not a Cooprogreso database, not «ejecuta cooprogreso migrate» (which would refuse)."""
    import sqlite3

    if engine == "postgresql":
        import psycopg

        server = request.getfixturevalue("pg_server")
        name = server.fresh_database("ajena")
        request.addfinalizer(lambda: server.drop_later(name))
        with psycopg.connect(server.url(name), autocommit=True) as conn:
            conn.execute("CREATE TABLE facturas (id INT)")
        target = server.url(name)
    else:
        target = tmp_path / "ajena.sqlite3"
        conn = sqlite3.connect(target)
        conn.execute("CREATE TABLE facturas (id INT)")
        conn.commit()
        conn.close()
        before = target.read_bytes()
    code, checks = status(capsys, target)
    said = " ".join(c["message"] for c in checks.values())
    assert code == 2 and "no es de Cooprogreso" in said.replace("pero no de", "no es de")
    assert "migrate" not in said
    assert cli.main(["migrate", "--db", str(target)]) != 0  # what the advice would have run: refused
    if engine == "sqlite":
        assert target.read_bytes() == before
