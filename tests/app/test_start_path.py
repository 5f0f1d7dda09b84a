"""Start-up stays lean: the first screen loads no section, sign-in, TOML, paper or outside-system code and
reads only its own CSS; the command line loads only the command given; lazy services stay single;
the footer is rebuilt only when its keys change."""

import subprocess
import sys
import threading

import pytest
from textual import events
from textual.app import App
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Input

from backend.core.settings import Settings
from backend.service import Backend
from screens.shared.footer import Footer

# What the login screen never needs: sign-in and the operation flow load with the first sign-in, sections on use.
DEFERRED = ("backend.security.auth", "backend.security.otp", "backend.security.operations", "backend.security.staff",
            "backend.core.ledger", "backend.products.position", "backend.security.receipts", "pyotp",
            "tomllib", "screens.menu.menu", "screens.menu.commands", "screens.shared.widgets",
            "screens.products.position",
            # every area's backend and screens, the books audit, documents on paper, outside systems (#23)
            "backend.transfers", "backend.bill_payments", "backend.cards", "backend.products", "backend.contact",
            "backend.help", "backend.branch", "backend.demo", "backend.core.invariants", "backend.audit_books",
            "screens.transfers", "screens.bill_payments", "screens.cards", "screens.products", "screens.contact",
            "screens.branch", "screens.security.affiliation", "fpdf", "PIL", "qrcode", "httpx", "httpcore",
            "aiohttp", "textual_serve", "psycopg", "cryptography", "hypothesis",
            # a multi-line field's TextArea and its document model, only on the screens that write free text
            "textual.widgets._text_area", "textual.document")

PROBE = """
import sys
from backend.service import Backend
from backend.core.settings import Settings
from cooprogreso_tui.app import SCREENS_CSS, CooprogresoApp

app = CooprogresoApp(Backend(sys.argv[1], Settings(scrypt_log_n=8)))

async def first_screen(pilot):
    await pilot.pause()
    assert pilot.app.screen.query_one("#username").has_focus
    pilot.app.exit()

app.run(headless=True, size=(80, 24), auto_pilot=first_screen)
print(" ".join(m for m in {deferred!r} if m in sys.modules))
print(app.stylesheet.has_source(str(SCREENS_CSS)))
"""


# The real start, `cooprogreso --db X`, up to the sign-in screen: the app, headless, through cli.main.
CLI_PROBE = """
import sys
from textual import events
from textual.app import App
from cooprogreso_tui import cli

run = App.run

async def first_screen(pilot):
    await pilot.pause()
    assert pilot.app.screen.query_one("#username").has_focus
    pilot.app.exit()

App.run = lambda app: run(app, headless=True, size=(80, 24), auto_pilot=first_screen)
code = cli.main(["--db", sys.argv[1]])
print(code, " ".join(m for m in (*{deferred!r}, *cli.AREAS) if m in sys.modules))
"""


def test_a_plain_start_loads_no_area_command(tmp_path, monkeypatch):
    """A member's start (locally, over SSH, each browser tab) parses its command line without loading any
    area's commands (#23), nor anything the first screen defers."""
    monkeypatch.setenv("COOPROGRESO_SECRET_KEY_FILE", str(tmp_path / "keys.json"))
    monkeypatch.setenv("COOPROGRESO_LOG_DIR", str(tmp_path / "logs"))
    monkeypatch.delenv("COOPROGRESO_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))  # no file there: the defaults
    Backend(tmp_path / "coop.sqlite3", Settings(scrypt_log_n=8)).close()
    out = subprocess.run([sys.executable, "-c", CLI_PROBE.format(deferred=DEFERRED), str(tmp_path / "coop.sqlite3")],
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == "0"


def test_each_area_lists_the_commands_it_registers():
    """cli.AREAS names each area's commands, with their help, as its module registers them: a command
    left out could not be run, and `--help` shows the list."""
    import argparse
    import importlib

    from cooprogreso_tui import cli

    for module, commands in cli.AREAS.items():
        sub = argparse.ArgumentParser().add_subparsers()
        importlib.import_module(module).register(sub)
        assert tuple((a.dest, a.help) for a in sub._choices_actions) == commands, module


def test_an_area_command_parses_and_errs_as_before(capsys):
    from cooprogreso_tui import cli
    from cooprogreso_tui.cli_rates import _run as tasas

    parser = cli.build_parser()
    usage = parser.format_usage()
    args = parser.parse_args(["tasas", "--db", "x.sqlite3", "--load", "t.csv"])
    assert (args.command, args.target, args.load, args.handler) == ("tasas", "x.sqlite3", "t.csv", tasas)
    assert parser.format_usage() == usage  # the commands listed as before, in their order
    with pytest.raises(SystemExit) as stop:
        cli.build_parser().parse_args(["tasas", "--bogus"])
    assert stop.value.code == 2 and "argumentos no reconocidos: --bogus" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stop:
        cli.build_parser().parse_args(["tasa"])
    assert stop.value.code == 2 and "opción no válida: 'tasa'" in capsys.readouterr().err


def test_first_screen_loads_no_deferred_module(tmp_path, monkeypatch):
    monkeypatch.setenv("COOPROGRESO_SECRET_KEY_FILE", str(tmp_path / "keys.json"))
    out = subprocess.run([sys.executable, "-c", PROBE.format(deferred=DEFERRED), str(tmp_path / "coop.sqlite3")],
                         capture_output=True, text=True, check=True).stdout
    loaded, screens_css = out.split("\n")[:2]
    assert loaded == ""
    assert screens_css == "False"  # the other screens' rules are read with the first screen over the sign-in


@pytest.mark.sqlite_only(covered=True)
async def test_screens_over_the_sign_in_get_their_rules(backend):
    """screens.tcss, read late, still styles what opens over the sign-in (the affiliation box is 66 wide),
    and a change of theme afterwards keeps it."""
    from cooprogreso_tui.app import SCREENS_CSS
    from screens.security.affiliation import AffiliationScreen
    from tests.ui import make_app

    app = make_app(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.screen.query_one("#login-box").outer_size.width == 58
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert isinstance(app.screen, AffiliationScreen)
        assert app.stylesheet.has_source(str(SCREENS_CSS))
        assert app.screen.query_one("#affiliation-box").outer_size.width == 66
        app.theme = "claro"
        await pilot.pause()
        assert app.screen.query_one("#affiliation-box").outer_size.width == 66


def test_core_services_are_built_once_under_concurrent_first_use(tmp_path, monkeypatch):
    """Two workers asking at once get the one `ops`: a section registers its kinds where later calls look."""
    monkeypatch.setenv("COOPROGRESO_SECRET_KEY_FILE", str(tmp_path / "keys.json"))
    backend = Backend(tmp_path / "coop.sqlite3", Settings(scrypt_log_n=8))
    start = threading.Barrier(8)
    seen: list[tuple[int, int, int]] = []

    def ask() -> None:
        start.wait()
        seen.append((id(backend.ops), id(backend.auth), id(backend.otp)))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(seen)) == 1
    assert backend.ops.auth is backend.auth and backend.auth.otp is backend.otp is backend.ops.otp
    backend.close()


class _Toggle(Screen):
    """A screen whose one key is enabled or not (a dynamic action), to see the footer follow it."""

    BINDINGS = [Binding("ctrl+o", "open", "Abrir"), Binding("ctrl+y", "app.bell", "Sonar")]
    allowed = True

    def compose(self):
        yield Input(id="a")
        yield Input(id="b")
        yield Footer(show_command_palette=False)

    def check_action(self, action, parameters):
        return True if action != "open" or self.allowed else None

    def action_open(self) -> None:
        pass


def _keys(screen) -> list[tuple[str, bool]]:
    return screen.query_one(Footer).keys


async def test_footer_shows_its_keys_and_follows_their_changes_without_redrawing_for_nothing():
    class Toggle(App):
        def get_default_screen(self):
            return _Toggle()

    app = Toggle()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        footer = app.screen.query_one(Footer)
        assert _keys(app.screen) == [("Abrir", False), ("Sonar", False)]
        shown = footer._shown
        await pilot.press("tab")  # the second field: the same keys, nothing redrawn
        await pilot.pause()
        assert app.screen.focused.id == "b" and footer._shown is shown
        app.screen.allowed = False
        app.screen.refresh_bindings()
        await pilot.pause()
        assert _keys(app.screen) == [("Abrir", True), ("Sonar", False)]
        assert "Abrir" in _line(app, -1) and "Sonar" in _line(app, -1)


def _line(app, row: int) -> str:
    return "".join(segment.text for segment in app.screen._compositor.render_strips()[row])


def _cells(app, row: int) -> list[tuple[str, object]]:
    """A drawn row cell by cell, as it shows (not how it is split into segments, nor the offsets kept for the mouse)."""
    return [(ch, segment.style.clear_meta_and_links() if segment.style else None)
            for segment in app.screen._compositor.render_strips()[row] for ch in segment.text]


@pytest.mark.parametrize("theme", ["cooprogreso", "alto-contraste", "claro", "ansi"])
async def test_footer_looks_as_textuals_in_every_state(theme):
    """One widget draws the keys (start-up time): the same cells as Textual's Footer, a widget per key, in every
    theme, with a disabled key, and with the mouse over a key (enabled or not)."""
    from textual.widgets import Footer as TextualFooter
    from textual.widgets._footer import FooterKey

    from screens.shared.themes import THEMES

    class Keys(Screen):
        BINDINGS = [Binding("ctrl+o", "open", "Abrir"), Binding("ctrl+y", "app.bell", "Sonar"),
                    Binding("f5", "open", "Otra vez"),  # a second key for one action: the first is shown
                    Binding("ctrl+n", "nothing", "Oculta", show=False), Binding("escape", "app.bell", "Volver")]

        def __init__(self, footer) -> None:
            super().__init__()
            self.footer = footer

        def compose(self):
            yield Input()
            yield self.footer

        def check_action(self, action, parameters):
            return None if action == "open" else True

        def action_open(self) -> None:
            pass

    class Pair(App):
        def __init__(self, footer) -> None:
            super().__init__(ansi_color=theme == "ansi")
            self.footer = footer
            for _, registered in THEMES.values():
                self.register_theme(registered)

        def get_default_screen(self):
            return Keys(self.footer)

    drawn = []
    for footer in (TextualFooter(show_command_palette=False), Footer()):
        app = Pair(footer)
        async with app.run_test(size=(80, 24)) as pilot:
            if theme != "ansi":
                app.theme = theme
            for _ in range(5):  # Textual's composes its keys after a refresh
                await pilot.pause()
            states = [_cells(app, -1)]
            for hovered in (0, 1):  # the disabled key, then an enabled one
                if isinstance(footer, Footer):
                    footer._hovering(hovered)
                else:
                    keys = list(footer.query(FooterKey))
                    for index, key in enumerate(keys):
                        key.mouse_hover = index == hovered
                        key.update_node_styles()
                await pilot.pause()
                states.append(_cells(app, -1))
            drawn.append(states)
    assert "Abrir" in "".join(ch for ch, _ in drawn[1][0]) and "Otra vez" not in "".join(ch for ch, _ in drawn[1][0])
    for state, (textuals, ours) in enumerate(zip(*drawn)):
        assert [(i, a, b) for i, (a, b) in enumerate(zip(textuals, ours)) if a != b] == [], state


async def test_footer_keys_answer_the_mouse():
    """A click on a key presses it (on a disabled one it only rings), the key under the mouse gives its tooltip,
    and keys wider than the line come into view with the wheel."""
    pressed = []

    class Wide(Screen):
        BINDINGS = [Binding("ctrl+o", "press('o')", "Abrir", tooltip="Abre algo"),
                    Binding("ctrl+y", "press('y')", "Sonar"),
                    *(Binding(f"f{n}", f"press('{n}')", f"Tecla número {n}") for n in range(1, 9))]

        def compose(self):
            yield Footer()

        def check_action(self, action, parameters):
            return None if parameters == ("y",) else True

        def action_press(self, key: str) -> None:
            pressed.append(key)

    class Mouse(App):
        def get_default_screen(self):
            return Wide()

        def bell(self) -> None:
            pressed.append("bell")

    app = Mouse()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        footer = app.screen.query_one(Footer)
        assert _line(app, -1).startswith(" ^o Abrir  ^y Sonar  f1 Tecla número 1 ")
        await pilot.click(Footer, offset=(3, 0))
        await pilot.click(Footer, offset=(12, 0))
        await pilot.pause()
        assert pressed == ["o", "bell"]
        await pilot.hover(Footer, offset=(3, 0))
        assert footer.tooltip == "Abre algo"
        await pilot.hover(Footer, offset=(12, 0))
        assert footer.tooltip is None
        assert "f8 Tecla número 8" not in _line(app, -1)
        for _ in range(60):
            footer.post_message(events.MouseScrollDown(footer, 0, 0, 0, 0, 0, False, False, False))
        await pilot.pause()
        assert _line(app, -1).rstrip().endswith("f8 Tecla número 8")
        await pilot.click(Footer, offset=(78, 0))
        await pilot.pause()
        assert pressed == ["o", "bell", "8"]


@pytest.mark.sqlite_only(covered=True)
async def test_login_footer_keeps_its_keys_across_fields(backend):
    from tests.ui import make_app

    app = make_app(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert _keys(app.screen) == [("Regístrate aquí", False), ("Salir", False), ("Ayuda", False)]
        await pilot.press("tab")
        await pilot.pause()
        assert app.screen.focused.id == "password"
        assert _keys(app.screen) == [("Regístrate aquí", False), ("Salir", False), ("Ayuda", False)]


@pytest.mark.parametrize("theme", ["cooprogreso", "alto-contraste", "claro", "ansi"])
async def test_sign_in_buttons_look_as_textual_buttons_in_every_state(theme):
    """The sign-in's buttons carry a copy of the Button rules they can match (not Button's whole DEFAULT_CSS, at
    start-up): drawn in every theme and state (focus, hover, disabled, pressed) as Textual's own Button is."""
    from textual.containers import Horizontal
    from textual.geometry import Region
    from textual.widgets import Button

    from screens.security.login import SignInButton
    from screens.shared.themes import THEMES

    class Pair(App):
        def __init__(self) -> None:
            super().__init__(ansi_color=theme == "ansi")
            for _, registered in THEMES.values():
                self.register_theme(registered)

        def compose(self):
            for variant in ("default", "primary"):
                with Horizontal():
                    yield Button("Ingresar", variant=variant, compact=True)
                    yield SignInButton("Ingresar", variant=variant, compact=True)

    def drawn(button: Button) -> list[list[tuple]]:
        lines = button.render_lines(Region(0, 0, *button.size))
        return [[(segment.text, segment.style) for segment in line] for line in lines]

    app = Pair()
    async with app.run_test(size=(80, 24)) as pilot:
        if theme != "ansi":
            app.theme = theme
        for textuals, ours in (row.children for row in app.query(Horizontal)):
            assert isinstance(textuals, Button) and type(ours) is SignInButton
            for state in ("plain", "focus", "hover", "pressed", "disabled", "disabled hover"):
                seen = []
                for button in (textuals, ours):
                    button.disabled = "disabled" in state
                    button.mouse_hover = "hover" in state  # as the app sets it under the mouse
                    button.set_class(state == "pressed", "-active")
                    button.update_node_styles()
                    app.set_focus(button if state == "focus" else None)
                    await pilot.pause()
                    assert button.has_focus == (state == "focus")
                    seen.append((button.size, drawn(button)))
                    button.disabled, button.mouse_hover = False, False
                    button.set_class(False, "-active")
                assert seen[0] == seen[1], (textuals.variant, state)


@pytest.mark.sqlite_only(covered=True)
async def test_the_sign_in_styles_each_widget_once_it_is_mounted(backend, monkeypatch):
    """Textual restyled a widget at each class its constructor set (compact, a button's variant): a whole pass of
    the stylesheet over a widget not yet in the DOM, styled again once mounted; and the whole sign-in screen again
    when first shown. The sign-in skips those; a change of class once mounted and before the first showing (the
    user field's focus) restyles that widget as the screen is first shown, a later one (disabled) at once, and the
    screen is restyled when Textual asks for it on a later showing."""
    from textual.css.stylesheet import Stylesheet

    from tests.ui import make_app

    passes: list[tuple[str, bool]] = []
    update_nodes = Stylesheet.update_nodes

    def counted(stylesheet, nodes, animate=False):
        nodes = list(nodes)
        passes.extend((type(node).__name__, node.is_attached) for node in nodes)
        update_nodes(stylesheet, nodes, animate)

    monkeypatch.setattr(Stylesheet, "update_nodes", counted)
    app = make_app(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert [name for name, attached in passes if not attached] == []
        assert passes.count(("TextInput", True)) == 1  # the user field's focus
        assert ("LoginScreen", True) not in passes  # styled when mounted, not again when first shown
        app.screen.post_message(events.ScreenResume())  # shown again as Textual restyles it (a switch of screen)
        await pilot.pause()
        assert ("LoginScreen", True) in passes
        login = app.screen.query_one("#login")
        passes.clear()
        login.disabled = True
        await pilot.pause()
        assert ("SignInButton", True) in passes
        assert login.has_pseudo_class("disabled") and login.styles.text_opacity == 0.6
