"""Every script in demos/ plays headless against a fresh demo co-op: a broken flow fails CI, and the
scripts that move money are checked in the database afterwards (the money moved, the books balance).
Plus the player itself: a failed expectation exits non-zero with the screen, --record writes asciicast
v2, and the staff code step works on demo databases only."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import sqlite3
from pathlib import Path
from types import SimpleNamespace

import pytest

from backend.service import Backend
from cooprogreso_tui import cli, play
from tests.channels import FAST_SET, ROOT, artifacts, make_demo

# The longest scripts first (a script's length is its number of steps): the longest one sets when the module ends.
DEMOS = sorted((ROOT / "demos").glob("*.toml"), key=lambda p: (-p.stat().st_size, p.name))
LUCIA_SAVINGS = "4100000019"  # the demo member's first savings account (where the scripts debit and credit)


@pytest.fixture(scope="module")
def demo_template(tmp_path_factory) -> Path:
    return make_demo(tmp_path_factory.mktemp("demos") / "demo.sqlite3")


def _play(script: Path, db: Path, *extra: str) -> SimpleNamespace:
    """`cooprogreso play --headless` in this process (the CLI's own entry point, its exit code and output):
    a subprocess per script would import the whole app again for each one."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main([*FAST_SET, "play", str(script), "--db", str(db), "--headless", *extra])
    return SimpleNamespace(returncode=code, stdout=out.getvalue(), stderr=err.getvalue())


def _headless(app, script: dict) -> play.Player:
    """`script` played by the headless player on `app` at 80×24; the player, for its failure and steps done."""
    player = play.Player(play.parse(script), pacing=play.Pacing.for_speed(1, headless=True), show_captions=False)
    app.run(headless=True, size=(80, 24), auto_pilot=player)
    return player


# -- what each money script must leave behind ---------------------------------------------------
def _state(conn) -> dict:
    def one(sql: str, *args):
        return conn.execute(sql, args).fetchone()

    def rows(sql: str, *args) -> list[tuple]:
        return [tuple(row) for row in conn.execute(sql, args)]

    lucia = one("SELECT u.id, u.member_id FROM users u WHERE u.username = 'demo'")
    card = one("SELECT id, balance FROM accounts WHERE member_id = ? AND kind = 'tarjeta' ORDER BY id", lucia[1])
    return {
        "savings": one("SELECT balance FROM accounts WHERE number = ?", LUCIA_SAVINGS)[0],
        "card": card[1],
        "bills": rows("SELECT amount, commission, state, account_id FROM bill_payments WHERE user_id = ?"
                      " AND origin = 'manual' ORDER BY id", lucia[0]),
        "card_payments": rows("SELECT amount, fee, option, card_account_id FROM card_payments WHERE user_id = ?"
                              " ORDER BY id", lucia[0]),
        "card_id": card[0],
        "deferrals": rows("SELECT principal, months, kind FROM card_deferrals WHERE user_id = ? ORDER BY id", lucia[0]),
        "deposits": rows("SELECT c.amount, c.state, a.number FROM counter_ops c JOIN accounts a"
                         " ON a.id = c.account_id WHERE c.kind = 'deposito' ORDER BY c.id"),
        "tills": rows("SELECT t.status, t.opening_amount FROM tills t JOIN staff_users s ON s.id = t.staff_id"
                      " WHERE s.username = 'cajero'"),
        "transfers": rows("SELECT kind, amount, fee FROM transfers WHERE user_id = ? ORDER BY id", lucia[0]),
        "users": [r[0] for r in rows("SELECT username FROM users ORDER BY id")],
    }


def _paid_a_bill(before, after) -> None:
    new = after["bills"][len(before["bills"]):]
    assert len(new) == 1 and new[0][2] == "pagado", new
    amount, commission = new[0][0], new[0][1]
    assert amount > 0 and after["savings"] == before["savings"] - amount - commission


def _paid_the_card(before, after) -> None:
    new = after["card_payments"][len(before["card_payments"]):]
    assert [(p[0], p[2], p[3]) for p in new] == [(100_00, "otro", after["card_id"])]
    assert after["savings"] == before["savings"] - 100_00 - new[0][1]
    assert after["card"] == before["card"] + 100_00


def _deferred_two_purchases(before, after) -> None:
    assert after["deferrals"][len(before["deferrals"]):] == [(40_00, 3, "consumos")]
    assert after["savings"] == before["savings"]


def _teller_deposit(before, after) -> None:
    assert before["tills"] == [] and after["tills"] == [("abierta", 500_00)]
    assert after["deposits"][len(before["deposits"]):] == [(150_00, "ejecutada", LUCIA_SAVINGS)]
    assert after["savings"] == before["savings"] + 150_00


def _transferred(kind: str, amount: int):
    def check(before, after) -> None:
        new = after["transfers"][len(before["transfers"]):]
        assert [(t[0], t[1]) for t in new] == [(kind, amount)]
        assert after["savings"] == before["savings"] - amount - new[0][2]  # out of 0019 (own: into 0027)

    return check


def _a_busy_morning(before, after) -> None:
    """25 transfers booked, 5 given up at the code (and confirmed again): none refused by the guessing budget."""
    new = after["transfers"][len(before["transfers"]):]
    assert [(t[0], t[1]) for t in new] == [("propia", n * 100) for n in range(1, 31) if n % 6]
    assert after["savings"] == before["savings"] - sum(t[1] for t in new)


def _affiliated(before, after) -> None:
    assert after["users"][len(before["users"]):] == ["jorge.chicaiza"]


END_STATE = {"afiliacion": _affiliated, "transferencia_mis_cuentas": _transferred("propia", 25_50),
             "transferencia_cooprogreso": _transferred("terceros", 40_00),
             "transferencia_interbancaria": _transferred("interbancaria", 15_00),
             "pago_servicios": _paid_a_bill, "pago_tarjetas": _paid_the_card, "diferido": _deferred_two_purchases,
             "deposito_cajero": _teller_deposit, "manana_de_un_socio": _a_busy_morning}


def _books(db: Path):
    backend = Backend(db, create=False)
    try:
        return _state(backend.db.conn), backend.check()
    finally:
        backend.close()


@pytest.mark.parametrize("script", DEMOS, ids=[p.stem for p in DEMOS])
def test_demo_script_plays(script, demo_template, tmp_path):
    db = tmp_path / "coop.sqlite3"
    shutil.copy(demo_template, db)
    before, _ = _books(db)
    shots = artifacts("demos") / script.stem
    out = _play(script, db, "--screenshots", str(shots))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "completa" in out.stdout
    after, problems = _books(db)
    assert problems == []
    if script.stem in END_STATE:
        END_STATE[script.stem](before, after)


def test_every_money_flow_has_its_script():
    assert set(END_STATE) <= {p.stem for p in DEMOS}


def test_the_readme_lists_every_demo_script():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert [p.name for p in DEMOS if f"| `{p.name}` |" not in readme] == []


def test_staff_code_step_is_refused_outside_a_demo_database(demo_template, tmp_path):
    db = tmp_path / "coop.sqlite3"
    shutil.copy(demo_template, db)
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE meta SET value = '0' WHERE key = 'demo'")
    conn.close()
    out = _play(ROOT / "demos" / "deposito_cajero.toml", db)
    assert out.returncode == 1
    assert "type_staff_code" in out.stderr and "Solo en bases de demostración" in out.stderr
    before, problems = _books(db)
    assert before["tills"] == [] and problems == []


def test_every_demo_parses():
    assert len(DEMOS) >= 2
    for script in DEMOS:
        assert play.load(script).steps


def test_a_failed_expectation_fails_the_run_and_shows_the_screen(demo_template, tmp_path):
    db = tmp_path / "coop.sqlite3"
    shutil.copy(demo_template, db)
    script = tmp_path / "roto.toml"
    script.write_text('title = "Roto"\ntimeout = 2\n[[step]]\nwait = "Usuario"\n[[step]]\nexpect = "Texto que no existe"\n')
    out = _play(script, db)
    assert out.returncode == 1
    assert "paso 2" in out.stderr and "Texto que no existe" in out.stderr and "Contraseña" in out.stderr


def test_record_writes_asciicast_v2(demo_template, tmp_path):
    db = tmp_path / "coop.sqlite3"
    shutil.copy(demo_template, db)
    script = tmp_path / "corto.toml"
    script.write_text('title = "Corto"\n[[step]]\nwait = "Usuario"\n[[step]]\ntype = "demo"\n'
                      '[[step]]\nexpect = "demo"\n')
    cast = tmp_path / "sesion.cast"
    out = _play(script, db, "--record", str(cast))
    assert out.returncode == 0, out.stderr
    lines = cast.read_text(encoding="utf-8").splitlines()
    header = json.loads(lines[0])
    assert header["version"] == 2 and (header["width"], header["height"]) == (80, 24)
    events = [json.loads(line) for line in lines[1:]]
    assert len(events) >= 2 and all(e[1] == "o" and isinstance(e[2], str) for e in events)
    assert [e[0] for e in events] == sorted(e[0] for e in events)
    assert any("demo" in e[2] for e in events[1:])


@pytest.mark.parametrize("text, message", [
    ('[[step]]\nwait = "x"\npress = "a"\n', "exactamente una acción"),
    ('[[step]]\nteclear = "x"\n', "clave desconocida"),
    ('size = [10, 5]\n[[step]]\nwait = "x"\n', "size"),
    ('title = "x"\n', "no tiene pasos"),
    ('[[step]]\ntype_code = "123456"\n', "type_code"),
    ('[[step]]\ntype_staff_code = true\n', "type_staff_code"),
    ('[[step]]\ntype_staff_code = "cajero; rm"\n', "type_staff_code"),
    ('[[step]]\npress = "a"\nnth = 2\n', "nth"),
    ('[[step]]\nclick = "a"\nnth = 0\n', "nth"),
    ('[[step]]\nclick = "a"\nwhen = 3\n', "when"),
    ('[[step\n', "TOML"),
])
def test_bad_scripts_are_refused_with_a_reason(tmp_path, text, message):
    path = tmp_path / "malo.toml"
    path.write_text(text)
    with pytest.raises(play.ScriptError, match=message):
        play.load(path)


def test_click_picks_the_nth_occurrence_from_the_top_or_the_bottom():
    lines = [" Pagar Servicios", "", "      Pagar      Cerrar"]
    assert play.find_text(lines, "Pagar") == (3, 0)
    assert play.find_text(lines, "Pagar", -1) == (8, 2)
    assert play.find_text(lines, "Pagar", 2) == (8, 2)
    assert play.find_text(lines, "Pagar", 3) is None


def test_a_step_with_when_is_skipped_if_its_text_is_not_on_screen(demo_template, tmp_path):
    db = tmp_path / "coop.sqlite3"
    shutil.copy(demo_template, db)
    script = tmp_path / "si.toml"
    script.write_text('title = "Condicional"\ntimeout = 2\n[[step]]\nwait = "Usuario"\n'
                      '[[step]]\nexpect = "Texto que no existe"\nwhen = "Tu caja está cerrada"\n'
                      '[[step]]\ntype = "demo"\nwhen = "Usuario"\n[[step]]\nexpect = "demo"\n')
    out = _play(script, db)
    assert out.returncode == 0, out.stderr


def test_a_click_on_a_button_still_shown_pressed_waits_for_it_to_come_up():
    """Textual's Button ignores a click within 0.2 s of its last press; the headless player clicks faster
    than that (manana_de_un_socio lost «Continuar» so, now and then): it waits as a person would."""
    from textual.app import App
    from textual.widgets import Button, Static

    class Pressable(Button):
        def _start_active_affect(self) -> None:  # Textual's own, which tests/ui turns off for every Button
            self.add_class("-active")
            self.set_timer(0.2, lambda: self.remove_class("-active"))

    class Counter(App):
        def compose(self):
            yield Pressable("Contar")
            yield Static("veces 0", id="n")

        def on_button_pressed(self) -> None:
            self.presses = getattr(self, "presses", 0) + 1
            self.query_one("#n", Static).update(f"veces {self.presses}")

    player = _headless(Counter(), {"timeout": 2, "step": [{"wait": "veces 0"}, {"click": "Contar"}, {"expect": "veces 1"},
                                    {"click": "Contar"}, {"expect": "veces 2"}]})
    assert player.failure is None, player.failure and (player.failure.message, player.failure.screen)
    assert player.done == 5


def test_a_click_on_a_button_scrolled_out_of_sight_scrolls_to_it_first():
    """A form can come back from a dialog scrolled to its top (manana_de_un_socio, under load, after the code
    dialog was cancelled): a person scrolls down to «Continuar»; so does the player, for a button only."""
    from textual.app import App
    from textual.containers import VerticalScroll
    from textual.widgets import Button, Static

    class TallForm(App):
        def compose(self):
            with VerticalScroll():
                yield Static("\n".join(f"línea {n}" for n in range(40)))
                yield Button("Continuar")
            yield Static("pulsado 0", id="n")

        def on_button_pressed(self) -> None:
            self.query_one("#n", Static).update("pulsado 1")

    player = _headless(TallForm(), {"timeout": 2, "step": [{"wait": "línea 0"}, {"click": "Continuar"},
                                    {"expect": "pulsado 1"}]})
    assert player.failure is None, player.failure and (player.failure.message, player.failure.screen)
    assert player.done == 3


def test_a_key_waits_for_the_screens_answers_as_a_person_sees_the_form_filled():
    """A form whose list comes from a worker: a key that sends it before the list is in is refused (F2 before
    the accounts came, in solicitud_producto under load). The player presses once the workers have answered."""
    import time as clock

    from textual import work
    from textual.app import App
    from textual.binding import Binding
    from textual.widgets import Static

    class Form(App):
        BINDINGS = [Binding("f2", "send", "Enviar")]
        accounts: list[str] = []

        def compose(self):
            yield Static("Formulario", id="out")

        def on_mount(self) -> None:
            self.load()

        @work(thread=True)
        def load(self) -> None:
            clock.sleep(0.3)
            self.accounts = ["Ahorros 4100000019"]

        def action_send(self) -> None:
            self.query_one("#out", Static).update("enviado" if self.accounts else "Elige tu cuenta")

    player = _headless(Form(), {"timeout": 2, "step": [{"wait": "Formulario"}, {"press": "f2"}, {"expect": "enviado"}]})
    assert player.failure is None, player.failure and (player.failure.message, player.failure.screen)


def test_a_call_that_hangs_fails_its_step_in_the_steps_time():
    """The player waits for the screen's answers only as long as the step's timeout: a call stuck (a row lock held
    elsewhere) fails the step with the screen, it does not hang the demo."""
    import time as clock

    from textual import work
    from textual.app import App
    from textual.widgets import Static

    class Stuck(App):
        def compose(self):
            yield Static("Formulario")

        def on_mount(self) -> None:
            self.load()

        @work(thread=True)
        def load(self) -> None:
            clock.sleep(1.5)

    started = clock.monotonic()
    player = _headless(Stuck(), {"timeout": 0.3, "step": [{"wait": "Formulario"}, {"press": "f2"}]})
    assert player.failure is not None and "sigue esperando una respuesta" in player.failure.message
    assert player.failure.step.number == 2 and clock.monotonic() - started < 5


def test_a_click_waits_for_a_dialog_on_its_way_out_not_the_screen_shown_under_it():
    """A dialog shows the screen under it: after Esc, «Continuar» is on screen while the dialog, still closing,
    takes the click (manana_de_un_socio lost one so under load). The player clicks once the dialog has gone."""
    from textual.app import App
    from textual.screen import ModalScreen
    from textual.widgets import Button, Static

    class Closing(ModalScreen):
        DEFAULT_CSS = "Closing { align: center middle; } Closing > Static { width: 20; height: 3; }"
        BINDINGS = [("escape", "leave")]

        def compose(self):
            yield Static("Código")

        def action_leave(self) -> None:
            self.app.set_timer(0.3, self.app.pop_screen)  # closing, not yet gone

    class Form(App):
        def compose(self):
            yield Button("Continuar")
            yield Static("veces 0", id="n")

        def on_mount(self) -> None:
            self.push_screen(Closing())

        def on_button_pressed(self) -> None:
            self.presses = getattr(self, "presses", 0) + 1
            self.query_one("#n", Static).update(f"veces {self.presses}")

    player = _headless(Form(), {"timeout": 2, "step": [{"wait": "Código"}, {"expect": "Continuar"}, {"press": "escape"},
                                    {"click": "Continuar"}, {"expect": "veces 1"}]})
    assert player.failure is None, player.failure and (player.failure.message, player.failure.screen)
    assert player.done == 5
