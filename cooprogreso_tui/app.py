"""The App: who is signed in, the idle timer, and moving between the login and member screens.

A session does no background work for the co-op: settlement, SMS delivery, card cycles, scheduled payments
and code masking run in `cooprogreso worker` (cooprogreso_tui/worker.py). What the app still runs in threads
is its own (keep-alive, logout, the demo phone); their failures are logged and said once on screen
(`background.BackgroundJobs`).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import events, work
from textual.actions import SkipAction
from textual.app import App, ScreenStackError
from textual.binding import Binding
from textual.screen import ModalScreen, Screen
from textual.worker import Worker, WorkerState

from screens.security.login import LoginScreen
from screens.shared.footer import spanish_select_lists
from screens.shared.styled import StyledWhenShown, restyled_later

from . import __version__
from .background import BackgroundJobs

MIN_SIZE = (80, 24)  # screens/shared/size.py's MIN_WIDTH, MIN_HEIGHT (tests/app/test_ui_layout.py keeps them equal)

if TYPE_CHECKING:  # the caller builds the Backend; sign-in's module loads with the first sign-in
    from textual.command import Provider
    from textual.dom import DOMNode

    from backend.security.auth import SignedIn
    from backend.service import Backend

SCREENS_CSS = Path(__file__).with_name("screens.tcss")  # every screen but the sign-in's (see push_screen)
HOLD_SECONDS = 3  # the longest typed keys wait for a search's results (then they go on as typed)
HELD_KEYS = 200  # a paste beyond this while a search is out is cut, not queued without end
SEARCH_ENTER = object()  # holds the keys between a search field's Enter and the start of its search
REPLAY = object()  # holds them from the end of the search until they go on
PHONE_SECONDS = 30  # a demo SMS toast: time to read a code, not a minute over the error lines
# What each of the session's own thread groups is called on screen when it fails.
JOBS = {
    "keepalive": "No se pudo confirmar tu sesión con el servidor",
    "logout": "No se pudo registrar el cierre de sesión",
    "phone": "El teléfono de demostración no pudo leer los mensajes",
    "theme": "No se pudo guardar tu tema",
}


def _coop_commands() -> type[Provider]:
    """The command palette's provider, as Textual takes a lazy one: its module loads with the first Ctrl+P."""
    from screens.menu.commands import CoopCommands

    return CoopCommands


class CooprogresoApp(App):
    CSS_PATH = "theme.tcss"
    TITLE = "Cooprogreso en Línea"
    BINDINGS = [Binding("ctrl+q", "quit", "Salir", id="app.quit", tooltip="Cerrar la aplicación", show=False),
                Binding("f1", "help", "Ayuda", id="app.help", tooltip="Ayuda de esta pantalla", show=False),
                # Tab moves focus as the app reads it. As a screen's binding (Textual's) it acted only once the
                # key had queued through the field, its containers and the screen back to the app, and every
                # key read meanwhile went to the old field: «500» Tab «Viaje» typed fast, pasted or sent in
                # one burst by SSH or the browser became «500Viaje». No field here takes Tab for itself.
                Binding("tab", "focus_next", show=False, priority=True, id="app.focus_next"),
                Binding("shift+tab", "focus_previous", show=False, priority=True, id="app.focus_previous"),
                # Enter in a field that moves on with Enter (its screen's ENTER_NEXT selector) has the same
                # cause, so the same cure: as Input.Submitted it moved focus only after the keys typed behind it
                # had already queued in the old field. Anywhere else Enter goes on to the focused widget.
                Binding("enter", "enter_next", show=False, priority=True, id="app.enter_next")]
    COMMANDS = {_coop_commands}  # loaded when the palette first opens (start-up time)

    def __init__(self, backend: Backend, *, export_dir: str | Path = ".",
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        spanish_select_lists()
        from screens.shared.themes import DEFAULT, THEMES

        for _, theme in THEMES.values():
            self.register_theme(theme)
        # The co-op's theme from the start, set as Textual's own default is: assigning `theme` here would
        # schedule a change of theme, a second parse of all the CSS before the first frame (start-up time).
        # Only where Textual's default (TEXTUAL_THEME may name another) is dark or light and uses ANSI colours
        # as ours does: the rest of what a change of theme does is then already done. Later changes go by `theme`.
        textuals, ours = self.current_theme, THEMES[DEFAULT][1]
        if (textuals.dark, textuals.ansi) == (ours.dark, ours.ansi):
            self.set_reactive(App.theme, DEFAULT)
            self.stylesheet.set_variables(self.get_css_variables())
            self.set_class(True, f"-theme-{DEFAULT}", update=False)
        else:
            self.theme = DEFAULT
        self.backend = backend
        self.export_dir = str(export_dir)
        self.signed_in: SignedIn | None = None
        self.monotonic = monotonic  # the idle timer's clock; tests pass one they can advance
        self._last_input = monotonic()
        self._last_keepalive = monotonic()
        self._phone_seen = backend.last_outbox_id()
        self._phone_toasts: list = []  # the demo phone's SMS on screen (Textual Notifications)
        self.jobs = BackgroundJobs(self._say, monotonic)
        self._key_holds: dict[int, float] = {}  # searches whose results the keys typed meanwhile wait for: until when
        self._held_keys: list[events.Key] = []

    @property
    def token(self) -> str:
        return self.signed_in.token if self.signed_in else ""

    def get_default_screen(self) -> Screen:
        return LoginScreen()

    def push_screen(self, *args: Any, **kwargs: Any) -> Any:
        """Every screen over the sign-in brings the other screens' rules first (parsed once, in order after
        theme.tcss's, so a tie goes as it did in one file): the sign-in screen is drawn without them. Under a
        screen that hides it (the menu) the sign-in takes them as it is next shown, not at once."""
        if not self.stylesheet.has_source(str(SCREENS_CSS)):
            self.stylesheet.read(SCREENS_CSS)
            screen = args[0] if args else kwargs.get("screen")
            hidden = [beneath for beneath in self.screen_stack if isinstance(beneath, StyledWhenShown)]
            if isinstance(screen, Screen) and not isinstance(screen, ModalScreen) and \
                    len(hidden) == len(self.screen_stack):
                self.stylesheet.update_nodes([self])
                for beneath in hidden:
                    beneath.restyle_when_resumed()
            else:
                self.stylesheet.update(self)
        return super().push_screen(*args, **kwargs)

    def update_styles(self, node: DOMNode, animate: bool = True) -> None:
        """Textual's restyle of a node whose classes or focus changed, unless nobody could see it before it is
        done again (screens/shared/styled.py `restyled_later`)."""
        if node is self or not restyled_later(node):
            super().update_styles(node, animate)

    def on_mount(self) -> None:
        self.set_interval(1, self._tick)
        self._check_size()

    def on_resize(self, event: events.Resize) -> None:
        self.call_after_refresh(self._check_size)

    def _check_size(self) -> None:
        """Below 80×24 a notice says the minimum size over whatever is open, and goes once it is reached."""
        width, height = self.size
        if width >= MIN_SIZE[0] and height >= MIN_SIZE[1] and "screens.shared.size" not in sys.modules:
            return  # large enough, and no notice can be up before its module is imported (start-up time, #23)
        from screens.shared.size import TooSmallScreen, too_small

        try:
            screen = self.screen
        except ScreenStackError:  # the app is closing (its once-a-second tick came after the last screen went)
            return
        on_top = screen if isinstance(screen, TooSmallScreen) else None
        if too_small(width, height):
            if on_top is None:
                self.push_screen(TooSmallScreen(width, height))
            else:
                on_top.show_size(width, height)
        elif on_top is not None:
            self.pop_screen()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The app's own background work: failures are logged and said once, never lost."""
        from backend.core.errors import SessionExpired

        group = event.worker.group
        if group not in JOBS:
            return
        if event.state == WorkerState.SUCCESS:
            self.jobs.succeeded(group)
        elif event.state == WorkerState.ERROR:
            error = event.worker.error
            if group == "keepalive" and isinstance(error, SessionExpired):
                self.end_session(error.message)
                return
            assert error is not None
            self.jobs.failed(group, error, f"{JOBS[group]}: {_describe(error)}")

    def _say(self, message: str) -> None:
        self.notify(message, title="Aviso del sistema", severity="warning", timeout=15, markup=False)

    def action_enter_next(self) -> None:
        """Enter moves to the next field as the app reads it, where the screen says Enter does that
        (ENTER_NEXT; ENTER_AFTER names a field's next where the focus order would not; in an ENTER_SUBMITS field,
        as a filter that applies and moves to its list, the field's Submitted follows the move). In a search field
        (ENTER_SEARCH) the keys read after it wait from now until the search is done (`hold_keys`), and the
        Enter goes on to the field, which reads what was typed before it."""
        from textual.widgets import Input

        screen, focused = self.screen, self.focused
        if not isinstance(focused, Input):
            raise SkipAction()

        def matches(selector: str) -> bool:
            return bool(selector) and any(node is focused for node in screen.query(selector))

        if matches(getattr(screen, "ENTER_NEXT", "")):
            after = getattr(screen, "ENTER_AFTER", {}).get(f"#{focused.id}")  # where the next in order is not it
            if after:  # set now, as focus_next does: Widget.focus() would wait while the keys behind queue here
                screen.set_focus(screen.query_one(after))
            else:
                screen.focus_next()
            if matches(getattr(screen, "ENTER_SUBMITS", "")):  # and the field's Enter still does its work, once
                focused.call_later(focused.action_submit)  # the keys typed before it (queued there) are in
            return
        if matches(getattr(screen, "ENTER_SEARCH", "")):
            self.hold_keys(SEARCH_ENTER)  # handed to the search's worker when the screen starts it
        raise SkipAction()

    # -- keys typed while a search is out ----------------------------------------------------------
    def hold_keys(self, owner: object) -> None:
        """Keys read from now until `owner` (a search's worker) is done wait, and then go where a person
        typing slowly would have put them: a teller types a cédula, Enter, then the amount, or ↓ Enter for
        a row, before the rows are there. Never longer than HOLD_SECONDS by `monotonic` (the app's clock, a
        test's to move): a search that hangs, or a screen closed under it, must not freeze the keyboard."""
        if owner is not SEARCH_ENTER:
            self._key_holds.pop(id(SEARCH_ENTER), None)  # the search the Enter asked for has started
        self._key_holds[id(owner)] = self.monotonic() + HOLD_SECONDS
        self.set_timer(HOLD_SECONDS + 0.05, self._release_overdue)  # just after it (timers may fire early); ticks too

    def release_keys(self, owner: object) -> None:
        """The search is done: the held keys go on, after what its results queued for the app (the list's
        focus), and before any key read from now (still held until then)."""
        self._release(id(owner))

    def _release(self, key: int) -> None:
        if self._key_holds.pop(key, None) is None:
            return
        if not self._key_holds:
            self._key_holds[id(REPLAY)] = self.monotonic() + HOLD_SECONDS
            self.call_later(self._replay_keys)

    def _release_overdue(self) -> None:
        """Holds past their HOLD_SECONDS end as if their search were done: its keys go on as typed."""
        now = self.monotonic()
        for key in [key for key, until in self._key_holds.items() if until <= now]:
            self._release(key)

    async def _replay_keys(self) -> None:
        self._key_holds.pop(id(REPLAY), None)
        if self._key_holds:  # another search started meanwhile: its results come first
            return
        held, self._held_keys = self._held_keys, []
        while held:
            await App.on_event(self, held.pop(0))
            if self._key_holds:  # that key started another search (an Enter): the rest wait for it too
                self._held_keys[:0] = held
                return

    # -- help ------------------------------------------------------------------------------------
    def action_help(self) -> None:
        """F1: what the screen on top is for and its keys."""
        from screens.help.help import HelpModal, screen_help

        if not isinstance(self.screen, HelpModal):
            self.push_screen(HelpModal(screen_help(self.screen)))

    def action_command_palette(self) -> None:
        from screens.menu.palette import Palette

        if not Palette.is_open(self):
            self.push_screen(Palette(placeholder="Busca una sección o un tema de ayuda…",
                                     id="--command-palette"))

    def about(self):
        """«Acerca de»: version and where this installation keeps its files."""
        import os

        from screens.help.help import About

        from . import config, logs  # the CLI has loaded both before the app; the app needs them only here

        config_file = os.environ.get(config.ENV_PREFIX + "CONFIG") or config.config_file()
        log_file = logs.log_dir(self.backend.settings.log_dir) / logs.FILE_NAME
        return About(__version__, str(config_file), str(log_file), str(self.backend.db.target), self.export_dir)

    # -- theme ---------------------------------------------------------------------------------
    def choose_theme(self, name: str) -> None:
        """From the command palette: the screens change at once, and whoever is signed in (member or staff)
        keeps it for next time."""
        from screens.shared.themes import THEMES

        if name not in THEMES:
            return
        self.theme = name
        if self.signed_in is not None:
            self._save_theme(self.token, name)

    @work(thread=True, exit_on_error=False, group="theme")
    def _save_theme(self, token: str, name: str) -> None:
        self.backend.auth.set_theme(token, name)

    # -- session -------------------------------------------------------------------------------
    def sign_in_origin(self):
        """The channel this process serves and the client's address, for the member's sign-in record."""
        import os

        from backend.security.origins import from_environment

        return from_environment(os.environ, web=self.is_web)

    def start_session(self, signed: SignedIn) -> None:
        from screens.menu.menu import MenuScreen
        from screens.shared.themes import DEFAULT, THEMES

        self.theme = signed.theme if signed.theme in THEMES else DEFAULT
        self.signed_in = signed
        self._last_input = self.monotonic()
        self.push_screen(MenuScreen(signed.role))

    def action_sign_out(self) -> None:
        self.sign_out()

    def sign_out(self) -> None:
        self._end("salir", "Cerraste tu sesión. ¡Hasta pronto!")

    def end_session(self, message: str) -> None:
        """The backend says the session is over (expired elsewhere): back to the login screen."""
        self._end(None, message)

    def _end(self, reason: str | None, message: str) -> None:
        from screens.shared.themes import DEFAULT

        token = self.token
        self.signed_in = None
        self.theme = DEFAULT  # the next person at this terminal starts from the co-op's own
        if token and reason:
            self._logout(token, reason)
        while len(self.screen_stack) > 1:
            self.pop_screen()
        login = self.screen_stack[0]
        if isinstance(login, LoginScreen):
            login.reset()
            login.show_notice(message)

    @work(thread=True, exit_on_error=False, group="logout")
    def _logout(self, token: str, reason: str) -> None:
        self.backend.auth.logout(token, reason)

    @work(thread=True, exit_on_error=False, group="keepalive", exclusive=True)
    def _keepalive(self, token: str) -> None:
        if self.signed_in and self.signed_in.role != "socio":
            self.backend.auth.staff(token)
        else:
            self.backend.auth.principal(token)

    # -- idle ----------------------------------------------------------------------------------
    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, (events.Key, events.MouseDown, events.MouseScrollDown, events.MouseScrollUp)):
            self._last_input = self.monotonic()
        if isinstance(event, events.Key) and self._key_holds and not event.is_forwarded:
            if len(self._held_keys) < HELD_KEYS:
                self._held_keys.append(event)
            return
        await super().on_event(event)

    def idle_seconds(self) -> float:
        """Since the person last pressed a key or used the mouse."""
        return self.monotonic() - self._last_input

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        """A steady cursor: a blinking one is output twice a second, forever, and that traffic keeps a dead
        SSH link (sshd never sees it idle, so its keep-alive never asks) or a dead websocket open."""
        if getattr(event.widget, "cursor_blink", False):
            event.widget.cursor_blink = False  # type: ignore[attr-defined]

    def _tick(self) -> None:
        self._release_overdue()  # a hung search's held keys, by this clock (tests move it: no real waiting)
        self._check_size()  # also after a sign-out emptied the stack or a dialog opened over the notice
        settings = self.backend.settings
        now = self.monotonic()
        idle = now - self._last_input
        if self.signed_in is None:
            # Nobody at the keys past a session's idle limit and a grace: the app ends, also at the login
            # screen, so a terminal or browser tab whose person (or link) is gone leaves no process behind.
            if idle >= settings.session_idle_seconds + settings.idle_exit_grace_seconds:
                self.exit(return_code=0, message="Cooprogreso en Línea se cerró por inactividad.")
            return
        limit = settings.session_idle_seconds if self.signed_in.role == "socio" else settings.staff_idle_seconds
        remaining = limit - idle
        if remaining <= 0:
            self._end("inactividad", "Tu sesión terminó por inactividad. Ingresa nuevamente.")
            return
        warn = int(remaining) + 1 if remaining <= settings.idle_warning_seconds else None
        self._show_idle(warn)
        # Tell the backend the member is still here, so its own idle limit agrees with ours.
        if idle < 60 and now - self._last_keepalive >= 60:
            self._last_keepalive = now
            self._keepalive(self.token)

    def _show_idle(self, seconds: int | None) -> None:
        from screens.shared.widgets import IdleBanner

        for screen in self.screen_stack:
            for banner in screen.query(IdleBanner):
                banner.show_remaining(seconds)

    # -- demo phone ----------------------------------------------------------------------------
    def show_demo_phone(self, challenge_id: str = "") -> None:
        """In a demo database, show each SMS to this person's phone as a notification: the signed-in
        member's, or before sign-in the one `challenge_id`'s code went to (never another member's)."""
        if self.backend.is_demo:
            self._read_phone(self.token, challenge_id)

    @work(thread=True, exit_on_error=False, group="phone")
    def _read_phone(self, token: str, challenge_id: str) -> None:
        messages, last = self.backend.demo_phone(self._phone_seen, token=token, challenge_id=challenge_id)
        self._phone_seen = max(self._phone_seen, last)
        if messages:
            self.call_from_thread(self._show_sms, messages[-1])

    def _show_sms(self, message) -> None:
        """The newest SMS only, in place of the ones before: stacked toasts pushed a code below the bottom of
        an 80×24 screen. Long enough to read a code; a click dismisses it sooner."""
        from textual.notifications import Notification, Notify

        from backend.core.identity import mask_phone

        self.hide_demo_phone()
        toast = Notification(message.body, f"📱 SMS a {mask_phone(message.recipient)}", "information",
                             PHONE_SECONDS, markup=False)
        self._phone_toasts.append(toast)
        self.post_message(Notify(toast))

    def hide_demo_phone(self) -> None:
        """Take the demo phone's SMS off the screen (a code that was just used would cover the receipt)."""
        shown = [toast for toast in self._phone_toasts if toast in self._notifications]
        for toast in shown:
            self._unnotify(toast, refresh=False)
        self._phone_toasts.clear()
        if shown:
            self._refresh_notifications()


def _describe(error: BaseException) -> str:
    """A service error's own Spanish message; anything else only by kind (details are in the log)."""
    from backend.core.errors import ServiceError
    from backend.core.text import visible

    if isinstance(error, ServiceError):
        return visible(error.message)
    return f"error inesperado ({type(error).__name__}); el detalle está en el registro"
