"""Helpers for Pilot-driven tests at 80×24."""

from __future__ import annotations


from textual._compositor import Compositor
from textual._context import active_app
from textual.css.stylesheet import Stylesheet
from textual.widgets import Button, DataTable, Input, TextArea
from textual.worker import WorkerFailed

from backend.security.auth import SignedIn
from cooprogreso_tui.app import CooprogresoApp

SIZE = (80, 24)


def _steady_cursors() -> None:
    """A blinking cursor makes a screenshot depend on the machine's load (lit or not at that instant):
    in tests every cursor stays lit. Likewise a pressed button stays lit for 0.2 s after a click: in tests
    it does not light up, so a screenshot never depends on how fast the steps after the click ran."""
    Input._toggle_cursor = lambda self: None  # type: ignore[method-assign]
    TextArea._toggle_cursor_blink_visible = lambda self: None  # type: ignore[method-assign]
    Button._start_active_affect = lambda self: None  # type: ignore[method-assign]


class _ParsedCss:
    """Textual parses the same stylesheets for every app it starts (its parse cache belongs to the app); a
    test process starts hundreds of apps, so they share one cache, keyed also by the theme's variables."""

    shared: dict = {}

    def __init__(self, sheet: Stylesheet) -> None:
        self.sheet = sheet
        self._seen: dict | None = None  # the variables dict whose key is in _variables_key
        self._variables_key: tuple = ()

    def _key(self, key: tuple) -> tuple:
        variables = self.sheet._variables
        if variables is not self._seen:  # Textual replaces the dict (set_variables), never edits it: sort once a dict
            self._variables_key = tuple(sorted(variables.items()))
            self._seen = variables
        return (self._variables_key, key)

    def __getitem__(self, key: tuple):
        return self.shared[self._key(key)]

    def __setitem__(self, key: tuple, rules) -> None:
        self.shared[self._key(key)] = rules

    def clear(self) -> None:  # new variables mean other keys: nothing to forget
        pass


def _share_parsed_css() -> None:
    if getattr(Stylesheet, "_parses_shared", False):
        return
    init = Stylesheet.__init__

    def shared_init(self, *args, **kwargs) -> None:
        init(self, *args, **kwargs)
        self._parse_cache = _ParsedCss(self)

    Stylesheet.__init__ = shared_init  # type: ignore[method-assign]
    Stylesheet._parses_shared = True  # type: ignore[attr-defined]


def _unseen_frames_unrendered() -> None:
    """A headless app renders each change of the screen into a frame that its driver then drops: in tests
    nobody sees those frames, so the compositor skips them. What a test reads is rendered whole when it reads
    it (`screen_text`, screenshots, the demo player's screen), from the same widgets and layout: the same
    screen. A third of a Pilot test's CPU went into frames never looked at."""
    if getattr(Compositor, "_unseen_frames_skipped", False):
        return
    render_update = Compositor.render_update

    def rendered_when_seen(self, full: bool = False, screen_stack=None, simplify: bool = False):
        if not full and active_app.get().is_headless:
            return None  # its dirty regions stay dirty: the next full render draws them
        return render_update(self, full, screen_stack, simplify)

    Compositor.render_update = rendered_when_seen  # type: ignore[method-assign]
    Compositor._unseen_frames_skipped = True  # type: ignore[attr-defined]


_unseen_frames_unrendered()  # at import: every test module is imported at collection, so every app (the demo
# player's too) in a test process runs the same way


def make_app(backend, tmp_path=None, monotonic=None) -> CooprogresoApp:
    _steady_cursors()
    _share_parsed_css()
    if monotonic is None:
        return CooprogresoApp(backend, export_dir=str(tmp_path or "."))
    return CooprogresoApp(backend, export_dir=str(tmp_path or "."), monotonic=monotonic)


class FakeMonotonic:
    """The idle timer's clock, moved by the test instead of waiting (call `app._tick()` after moving it)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


async def settle(pilot) -> None:
    """Let workers finish and the messages they post land (a worker's failure is its screen's to show), and the
    tables they filled measure their columns (a DataTable does it when its queue goes idle, which on a busy
    machine can come after the pilot's own idle check)."""

    for _ in range(3):
        for worker in list(pilot.app.workers):
            try:
                await worker.wait()
            except WorkerFailed:
                pass
        await pilot.pause()
    waited = 0
    while waited < 200 and any(t._require_update_dimensions or t._updated_cells
                               for t in pilot.app.screen.query(DataTable)):
        waited += 1
        await pilot.pause(0.01)
    if waited:  # a table measured its columns just now: let it draw them
        await pilot.pause()


async def type_into(pilot, selector: str, text: str) -> None:
    """Fill an Input: focus it and set its value (one Changed message, as after typing the whole text).

    Fast, and what most tests mean; it bypasses the field's `restrict` and `max_length`, so a test about
    what typing lets through uses `type_keys`.
    """
    widget = pilot.app.screen.query_one(selector, Input)
    widget.focus()
    widget.value = text
    widget.cursor_position = len(text)  # where typing leaves it
    await pilot.pause()


async def type_keys(pilot, selector: str, text: str) -> None:
    """Type into an Input key by key, as a person does: for tests where typing itself is what is tested."""
    widget = pilot.app.screen.query_one(selector, Input)
    widget.focus()
    widget.value = ""
    await pilot.pause()
    if text:
        await pilot.press(*text)


def screen_text(app) -> str:
    """What the member sees, as plain text: the screen's lines as the compositor draws them for a screenshot
    (the same full render, modal screens over the ones below), read as text, without building the SVG."""
    update = app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    return "\n".join("".join(strip.text for strip in line) for line in update.strips)


async def login(pilot, username: str = "demo", password: str = "Demo-2026!") -> None:
    await pilot.pause()
    await type_into(pilot, "#username", username)
    await type_into(pilot, "#password", password)
    await pilot.press("enter")
    await settle(pilot)


async def signed_in(pilot, section: str | None = None, username: str = "demo", password: str = "Demo-2026!",
                    code=None) -> None:
    """Start already signed in, for a test whose subject comes after the sign-in: a real session from the
    backend (the sign-in screen's own calls, `auth.login` then, for staff, `auth.staff_code` with
    `code(backend)`), then the section under test opened by the menu's own call. Typing the sign-in and
    walking the menu cost ~45 ms CPU a test, a quarter of reaching a section; tests of the sign-in, the
    menu, navigation or focus order go through the screens (`login`)."""
    app = pilot.app
    await pilot.pause()
    signed = app.backend.auth.login(username, password, app.sign_in_origin())
    if not isinstance(signed, SignedIn):
        assert code is not None, f"{username} is staff: pass code=lambda backend: …"
        signed = app.backend.auth.staff_code(signed.ticket, code(app.backend))
    app.start_session(signed)
    await pilot.pause()
    if section is not None:
        app.screen.open_section(section)
    await settle(pilot)


async def refused_until_chosen(pilot, picker, choice, gone: str, submit) -> None:
    """A form whose chosen account has gone: sending it is refused and the note stays; choosing `choice` takes the
    note away and the form goes on to the confirmation. `submit()`: the form's own way of sending."""
    from screens.shared.confirm import ConfirmModal

    app = pilot.app
    form = app.screen
    await submit()
    assert app.screen is form and picker.selection is None and gone in screen_text(app)
    picker.value = choice
    await pilot.pause()
    assert gone not in screen_text(app)
    await submit()
    assert isinstance(app.screen, ConfirmModal)
