"""Shared fixtures: a small demo co-op built once, copied fresh for every test, on a fixed clock.

Backend tests run on both engines: `db_path` is a SQLite file or, for the `[postgresql]` variant, a fresh
PostgreSQL database made from a template (COOPROGRESO_TEST_PG_URL; .ci/run starts a throwaway cluster).
UI modules and tests marked `sqlite_only` run on SQLite alone.
"""

from __future__ import annotations

import os
import re
import shutil
from datetime import date, datetime
from pathlib import Path

import pytest
from textual import _wait

from backend.core import accounts
from backend.core.clock import FixedClock
from backend.core.settings import Settings
from backend.demo.coop import create_demo
from backend.service import Backend
from tests import run_shared

# Textual's pilot waits after every key until the process looks idle, sampling CPU time every 20 ms; a 5 ms
# sample with the same idle share (5% of a sample) answers as surely, four times sooner.
_wait.SLEEP_GRANULARITY, _wait.SLEEP_IDLE = 0.005, 0.005 / 20

TODAY = date(2026, 11, 25)
NOW = datetime(2026, 11, 25, 10, 0, 0)
# Cheap KDF for tests only; the production default stays N = 2**17.
FAST = dict(scrypt_log_n=8, otp_resend_interval_seconds=30)


def fast_settings(**overrides) -> Settings:
    return Settings(**{**FAST, **overrides})


@pytest.fixture(scope="session", autouse=True)
def log_dir(tmp_path_factory):
    """Commands run by tests write their log file here, not in the user's log directory."""
    import os

    os.environ["COOPROGRESO_LOG_DIR"] = str(tmp_path_factory.mktemp("logs"))


@pytest.fixture(scope="session")
def demo_template() -> Path:
    """The small demo co-op on SQLite, built once per test run (tests/run_shared.py); tests copy it."""
    return run_shared.file_once("demo.sqlite3", lambda path: create_demo(
        path, seed=7, members=12, today=TODAY, settings=fast_settings(secret_key_file=str(run_shared.key_file()))))


@pytest.fixture(scope="session")
def empty_db_template() -> Path:
    """An empty SQLite database with every migration applied, made once per test run."""
    from backend.core.database import open_database

    return run_shared.file_once("empty.sqlite3", lambda path: open_database(path).close())  # no keys until opened


@pytest.fixture(scope="session")
def empty_db(empty_db_template, tmp_path_factory):
    """`empty_db()`: the path of a new copy of the empty, migrated database. Applying the migrations takes
    about 0.2 s; a copy a few milliseconds, so a test (or a hypothesis example) that needs a blank database
    but does not test the migrations themselves takes a copy."""
    def copy() -> Path:
        path = tmp_path_factory.mktemp("blank") / "blank.sqlite3"
        shutil.copy(empty_db_template, path)
        return path

    return copy


PG_URL = os.environ.get("COOPROGRESO_TEST_PG_URL", "")
SQLITE_ONLY_MODULES = ("test_ui_", "test_snapshots")


def pytest_generate_tests(metafunc) -> None:
    """Every test that uses the co-op's database runs on SQLite and on PostgreSQL (backend tests only)."""
    if "engine" not in metafunc.fixturenames:
        return
    marker = metafunc.definition.get_closest_marker("sqlite_only")
    # `sqlite_only(covered=True)`, or `covered="shapes"`: the PostgreSQL variant adds nothing (tests/pg_census.py says
    # when, rules 1 and 2); the census runs it anyway, to show that what it sends is sent by kept variants too
    census = marker is not None and marker.kwargs.get("covered") and metafunc.config.getoption("pg_census", False)
    if census or not (metafunc.module.__name__.split(".")[-1].startswith(SQLITE_ONLY_MODULES) or marker):
        metafunc.parametrize("engine", ["sqlite", "postgresql"], indirect=True)
    # else: not parametrised at all (test ids, and so snapshot names, stay as they were); `engine` is sqlite


# The slowest modules run first, so that with several workers the short tests fill the end instead of one long module
# finishing alone (seconds per module in a full run, heaviest first). The SSH module builds one branch server
# (a venv, accounts, sshd) for all its tests, so it stays on one worker (xdist_group; `--dist loadgroup` is
# in addopts); the demo scripts spread over the workers, each of which builds their demo database once.
SLOW_FIRST = ("test_ssh", "test_demos", "test_scheduled_properties", "test_dates_shown", "test_ui_focus",
              "test_web_browser", "test_races", "test_end_of_day_claims", "test_simulation", "test_ui_staff", "test_ui_cards",
              "test_ui_staff_queues", "test_ui_staff_qa", "test_ui_product_requests", "test_ui_services",
              "test_ui_transfers", "test_ui_staff_counterqa", "test_help",
              "test_snapshots_contacto", "test_ui_affiliation", "test_snapshots_cards", "test_ui_beneficiaries",
              "test_snapshots_solicitudes", "test_ui_login", "test_ui_products", "test_web", "test_scheduled")
ONE_WORKER = ("test_ssh",)
# What turns on a date (end of day, card cycles and statements, scheduled payments, plazo fijo, loans,
# deferrals, sessions and codes): `.ci/run` plays these again under faketime at other dates (`-m dates`).
DATE_SENSITIVE = ("test_end_of_day", "test_card_cycle", "test_card_arrears", "test_card_payments", "test_cli_cards", "test_scheduled",
                  "test_scheduled_properties", "test_maturities", "test_products", "test_product_requests",
                  "test_product_approvals", "test_deferrals", "test_auth", "test_otp", "test_operations",
                  "test_staff_auth", "test_tills", "test_clearing", "test_business_days", "test_end_of_day_claims",
                  "test_scheduled_limits", "test_codes_at_rest", "test_rate_caps", "test_uafe",
                  "test_cash_declaration", "test_status", "test_security_center", "test_ui_security_center",
                  "test_account_statement", "test_card_statement_doc", "test_read_only_open")


@pytest.hookimpl(optionalhook=True)  # a hook of pytest-xdist, which may be disabled (-p no:xdist)
def pytest_xdist_auto_num_workers(config) -> int:
    """`-n auto`: two workers per core. A Pilot test spends about half its time waiting for the app to go
    idle (Textual's pilot sleeps in 20 ms steps after every key), and other tests wait on subprocesses, sshd
    or PostgreSQL: a second worker per core keeps the cores busy during those waits."""
    return 2 * (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the xdist_group marks
def pytest_collection_modifyitems(config, items) -> None:
    def module(item) -> str:
        return item.module.__name__.split(".")[-1] if getattr(item, "module", None) else ""

    for item in items:
        if module(item) in ONE_WORKER:
            item.add_marker(pytest.mark.xdist_group(module(item)))
        if module(item) in DATE_SENSITIVE:
            item.add_marker(pytest.mark.dates)
    rank = {name: n for n, name in enumerate(SLOW_FIRST)}
    items.sort(key=lambda item: rank.get(module(item), len(SLOW_FIRST)))  # stable: same order inside a module


def require_pg() -> None:
    """Skip a PostgreSQL test locally when no server is given; in CI a missing server is a failure."""
    if not PG_URL:
        if os.environ.get("CI") == "true":
            pytest.fail("CI runs every backend test on PostgreSQL too: COOPROGRESO_TEST_PG_URL is not set")
        pytest.skip("PostgreSQL: set COOPROGRESO_TEST_PG_URL (see .ci/run) to run this variant")


@pytest.fixture
def engine(request) -> str:
    name = getattr(request, "param", "sqlite")
    if name == "postgresql":
        require_pg()
    return name


@pytest.fixture(scope="session")
def pg_server():
    require_pg()
    from . import pg_helpers

    server = pg_helpers.Server(PG_URL, os.environ.get("PYTEST_XDIST_WORKER", "main"))
    yield server
    server.close()


@pytest.fixture(scope="session")
def pg_template(pg_server) -> str:
    """The demo co-op on PostgreSQL, built once per test run (tests/run_shared.py); tests get copies of it."""
    name = run_shared.pg_name("tmpl")

    def build() -> None:
        pg_server.drop(name)
        pg_server.admin.execute(f'CREATE DATABASE "{name}"')
        create_demo(pg_server.url(name), seed=7, members=12, today=TODAY,
                    settings=fast_settings(secret_key_file=str(run_shared.key_file())))

    run_shared.built_once(name, build)
    return name


@pytest.fixture
def db_path(engine, request, tmp_path):
    if engine == "postgresql":
        server = request.getfixturevalue("pg_server")
        name = server.copy_of(request.getfixturevalue("pg_template"))
        yield server.target(name)
        server.drop_later(name)
        return
    path = tmp_path / "coop.sqlite3"
    shutil.copy(request.getfixturevalue("demo_template"), path)
    yield path


@pytest.fixture(scope="session")
def cups():
    """A private CUPS server on loopback with a cups-pdf queue (tests/cups_helpers.py); skipped only where CUPS
    cannot run (not installed, or not root for cups-pdf): `.ci/run` installs it."""
    from tests import cups_helpers

    reason = cups_helpers.why_not()
    if reason:
        pytest.skip(reason)
    server = cups_helpers.start()
    yield server
    cups_helpers.stop(server)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture(autouse=True)
def process_clock(clock, monkeypatch):
    """Every entry point a test calls (the CLI in-process, the app, a process it starts) reads the test's clock,
    never the real date: `.ci/run` runs the date-sensitive modules again under faketime to prove it."""
    from backend.core import clock as clock_module

    clock_module.set_process_clock(clock)
    monkeypatch.setenv(clock_module.CLOCK_ENV, clock.now().isoformat())
    yield clock
    clock_module.set_process_clock(None)


@pytest.fixture
def make_backend(db_path, clock):
    made = []

    def make(**overrides) -> Backend:
        backend = Backend(db_path, fast_settings(**overrides), clock)
        made.append(backend)
        return backend

    yield make
    for backend in made:
        backend.close()


@pytest.fixture
def backend(make_backend) -> Backend:
    return make_backend()


def last_code(backend: Backend) -> str:
    """The code in the newest message of the outbox, as the member would read it on the phone."""
    body = backend.outbox(last=1)[-1].body
    return re.search(r"\b(\d{6})\b", body).group(1)


def unaffiliated_cedula() -> str:
    from backend.demo.coop import UNAFFILIATED_CEDULA_BODY, cedula

    return cedula(UNAFFILIATED_CEDULA_BODY)


def demo_cedula() -> str:
    from backend.demo.coop import DEMO_CEDULA_BODY, cedula

    return cedula(DEMO_CEDULA_BODY)


def add_member(backend: Backend, *, cedula: str, first: str = "Ana", last: str = "Prueba Uno",
               mobile: str | None = "0991234678", status: str = "activo", balance: int = 0) -> tuple[int, int]:
    """A member with one savings account holding `balance` cents: (member_id, account_id)."""
    with backend.db.write() as conn:
        member = accounts.create_member(conn, id_type="cedula", id_number=cedula, first_names=first,
                                        last_names=last, mobile=mobile, email=None, created_at="2026-01-01 09:00:00",
                                        status=status)
        account = accounts.open_savings(conn, member, "2026-01-01")
        if balance:
            from backend.core.ledger import Leg, post

            caja = accounts.internal_account(conn, "caja")
            post(conn, kind="deposito", description="Depósito", posted_at="2026-01-02 09:00:00", actor="test",
                 legs=[Leg(account, balance, "Depósito inicial"), Leg(caja, -balance, "Depósito inicial")])
    return member, account


def affiliate(backend: Backend, cedula: str, username: str, password: str = "Clave2026x") -> None:
    start = backend.auth.start_affiliation("cedula", cedula)
    backend.auth.verify_affiliation_code(start.challenge.id, last_code(backend))
    backend.auth.complete_affiliation(start.challenge.id, username, password)


@pytest.fixture
def lucia(backend):
    """The demo user, signed in."""
    from .transfer_helpers import demo_member

    return demo_member(backend)


@pytest.fixture
def ana(backend):
    """A second affiliated member with $300.00, signed in."""
    from .transfer_helpers import other_member

    return other_member(backend)


def pytest_addoption(parser, pluginmanager) -> None:
    if not pluginmanager.has_plugin("xdist"):  # `-p no:xdist`: addopts' `--dist loadgroup` is then a no-op, not an error
        parser.addoption("--dist", default="no", help="pytest-xdist's, which this run has disabled: ignored")
    parser.addoption("--pg-census", action="store_true",
                     help="record the statements each [postgresql] test sends, and run the cut ones too (tests/pg_census.py)")


def pytest_configure(config):
    """Every test (and every CLI it starts) keeps the co-op's keys in a private key file of its own run
    (tests/run_shared.py), shared by the run's processes."""

    if config.getoption("pg_census", False):
        from tests import pg_census

        config.pluginmanager.register(pg_census, "pg_census")

    # The cyclic garbage collector ran ~10% of a test process's CPU (Textual's screens and messages are many
    # short-lived objects; the suite is CPU-bound, #23): what is loaded by now is frozen out of its passes, and a
    # pass comes every 50,000 allocations instead of 700. Reference counting still frees nearly everything at once.
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)

    config._cooprogreso_run = run_shared.start(hasattr(config, "workerinput"))
    if not hasattr(config, "workerinput"):  # once, in the controller: the xdist workers start after this
        _compile_the_project()
        run_shared.sweep(PG_URL)


def _compile_the_project() -> None:
    """Byte-compile the app's packages before the tests start hundreds of processes that import them
    (CLI commands, racing workers, demo players): with PYTHONDONTWRITEBYTECODE set, as on these machines,
    each of them would otherwise compile every module from source again."""
    import compileall

    root = Path(__file__).resolve().parent.parent
    for package in ("backend", "screens", "cooprogreso_tui"):
        compileall.compile_dir(root / package, quiet=1)


def pytest_unconfigure(config):
    run_shared.finish(getattr(config, "_cooprogreso_run", None), PG_URL)


def without_demo_cases(backend: Backend) -> None:
    """Drop the demo co-op's sample Contacto cases, for tests that count or number cases from one."""
    with backend.db.write() as conn:
        conn.execute("DELETE FROM contact_replies")
        conn.execute("DELETE FROM contact_cases")
