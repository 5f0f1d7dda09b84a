"""`cooprogreso close-cycle`: closes due statements once, then nothing; `check` stays clean."""

import pytest

from tests.core.test_database import cli


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_close_cycle_twice_then_check(db_path):
    first = cli("close-cycle", "--db", str(db_path), "--date", "2027-01-20")
    assert first.returncode == 0, first.stderr
    assert "estados de cuenta cerrados" in first.stdout and "cerrados 0" not in first.stdout
    again = cli("close-cycle", "--db", str(db_path), "--date", "2027-01-20")
    assert again.returncode == 0 and "estados de cuenta cerrados 0" in again.stdout
    assert cli("check", "--db", str(db_path)).returncode == 0


@pytest.mark.sqlite_only(covered=True)
def test_close_cycle_refuses_a_bad_date_and_a_missing_file(db_path, tmp_path):
    bad = cli("close-cycle", "--db", str(db_path), "--date", "30/02/2027")  # dd/mm/aaaa is read (#21); an impossible day is not
    assert bad.returncode == 2 and "Fecha no válida" in bad.stderr
    missing = cli("close-cycle", "--db", str(tmp_path / "no.sqlite3"))
    assert missing.returncode == 2 and not (tmp_path / "no.sqlite3").exists()
