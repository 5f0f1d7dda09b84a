"""Scripted demo sessions: a TOML script of keys, typed text, clicks on visible text and expectations.

One player drives the real app through Textual's pilot, so the same script runs for a trainer in a
visible terminal (paced, with captions), headless in CI (as fast as the app answers), and in the
browser channel (`cooprogreso web --play`). Steps name what the member sees, not widget ids, so a
script survives a redesign of the screens. A failed expectation ends the run with the screen printed.
"""

from __future__ import annotations

import asyncio
import io
import json
import re
import time
import tomllib
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from rich.cells import cell_len
from rich.console import Console
from textual import events
from textual.errors import NoWidget
from textual.keys import REPLACED_KEYS, _character_to_key, _get_unicode_name_from_key
from textual.screen import ModalScreen
from textual.worker import WorkerState

from backend.core.errors import ServiceError
from backend.core.files import read_text_limited

ACTIONS = ("caption", "wait", "expect", "expect_not", "type", "press", "click", "type_code", "type_staff_code",
           "sleep", "screenshot")
OPTIONS = ("timeout", "pause", "below", "nth", "when")
CODE = re.compile(r"(?<!\d)(\d{6})(?!\d)")
MAX_SCRIPT_BYTES = 2**20


class ScriptError(ValueError):
    """The script itself is wrong (not the app): unreadable TOML, unknown step, bad value."""


class PlayFailed(Exception):
    def __init__(self, step: Step, message: str, screen: str) -> None:
        super().__init__(message)
        self.step, self.message, self.screen = step, message, screen


@dataclass(frozen=True)
class Step:
    number: int
    action: str
    value: Any
    timeout: float | None = None
    pause: float | None = None
    below: int = 0  # click: this many rows under the text (the field under its label)
    nth: int = 1  # click: which occurrence of the text, from the top (-1: the last one)
    when: str | None = None  # run the step only if this text is on screen (e.g. open the till if it is closed)

    def describe(self) -> str:
        return f"paso {self.number} ({self.action} = {self.value!r})"


@dataclass(frozen=True)
class Script:
    path: Path
    title: str
    size: tuple[int, int] = (80, 24)
    timeout: float = 10.0
    steps: tuple[Step, ...] = field(default=())


def load(path: str | Path) -> Script:
    path = Path(path)
    try:
        data = tomllib.loads(read_text_limited(path, max_bytes=MAX_SCRIPT_BYTES, what="El guion"))
    except ServiceError as exc:
        raise ScriptError(exc.message) from None
    except tomllib.TOMLDecodeError as exc:
        raise ScriptError(f"El guion {path} no es TOML válido: {exc}") from exc
    return parse(data, path)


def parse(data: dict, path: Path = Path("<guion>")) -> Script:
    unknown = set(data) - {"title", "size", "timeout", "step"}
    if unknown:
        raise ScriptError(f"Claves desconocidas en el guion: {', '.join(sorted(unknown))}")
    size = data.get("size", [80, 24])
    if not (isinstance(size, list) and len(size) == 2 and all(isinstance(n, int) and 20 <= n <= 500 for n in size)):
        raise ScriptError("size debe ser [ancho, alto], p. ej. [80, 24]")
    timeout = data.get("timeout", 10)
    if not isinstance(timeout, (int, float)) or not 0 < timeout <= 300:
        raise ScriptError("timeout debe ser un número de segundos entre 0 y 300")
    raw_steps = data.get("step", [])
    if not isinstance(raw_steps, list) or not raw_steps:
        raise ScriptError("El guion no tiene pasos: agrega tablas [[step]].")
    steps = [_step(n, raw) for n, raw in enumerate(raw_steps, 1)]
    return Script(path, str(data.get("title", path.stem)), (size[0], size[1]), float(timeout), tuple(steps))


def _step(number: int, raw: Any) -> Step:
    if not isinstance(raw, dict):
        raise ScriptError(f"Paso {number}: debe ser una tabla [[step]].")
    actions = [k for k in raw if k in ACTIONS]
    unknown = [k for k in raw if k not in ACTIONS and k not in OPTIONS]
    if unknown:
        raise ScriptError(f"Paso {number}: clave desconocida {unknown[0]!r} (acciones: {', '.join(ACTIONS)}).")
    if len(actions) != 1:
        raise ScriptError(f"Paso {number}: debe tener exactamente una acción ({', '.join(ACTIONS)}).")
    action = actions[0]
    value = raw[action]
    if action == "press":
        value = [value] if isinstance(value, str) else value
        if not (isinstance(value, list) and value and all(isinstance(k, str) and k for k in value)):
            raise ScriptError(f"Paso {number}: press espera una tecla o una lista de teclas.")
        value = tuple(value)
    elif action == "sleep":
        if not isinstance(value, (int, float)) or not 0 <= value <= 60:
            raise ScriptError(f"Paso {number}: sleep espera segundos entre 0 y 60.")
    elif action == "type_code":
        if value is not True:
            raise ScriptError(f"Paso {number}: type_code = true escribe el código que muestra el teléfono simulado.")
    elif action == "type_staff_code":
        if not (isinstance(value, str) and re.fullmatch(r"[A-Za-z0-9._-]{1,64}", value)):
            raise ScriptError(f"Paso {number}: type_staff_code espera el usuario del personal, p. ej. \"cajero\".")
    elif not isinstance(value, str) or not value:
        raise ScriptError(f"Paso {number}: {action} espera un texto.")
    for option in ("timeout", "pause"):
        if option in raw and (not isinstance(raw[option], (int, float)) or not 0 <= raw[option] <= 300):
            raise ScriptError(f"Paso {number}: {option} espera segundos entre 0 y 300.")
    below = raw.get("below", 0)
    if not isinstance(below, int) or not 0 <= below <= 20 or (below and action != "click"):
        raise ScriptError(f"Paso {number}: below (filas bajo el texto, 0 a 20) solo acompaña a click.")
    nth = raw.get("nth", 1)
    if not isinstance(nth, int) or isinstance(nth, bool) or not -20 <= nth <= 20 or nth == 0 \
            or ("nth" in raw and action != "click"):
        raise ScriptError(f"Paso {number}: nth (1 = la primera aparición, -1 = la última) solo acompaña a click.")
    when = raw.get("when")
    if when is not None and not (isinstance(when, str) and when):
        raise ScriptError(f"Paso {number}: when espera el texto que debe estar en pantalla para dar el paso.")
    return Step(number, action, value, raw.get("timeout"), raw.get("pause"), below, nth, when)


# -- what is on the screen -----------------------------------------------------------------------
def _render(app, *, ansi: bool) -> str:
    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), force_terminal=True, color_system="truecolor",
                      record=not ansi, legacy_windows=False, safe_box=False)
    update = app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    if ansi:
        return update.render_segments(console)
    console.print(update)
    return console.export_text()


def screen_lines(app) -> list[str]:
    return _render(app, ansi=False).splitlines()


def screen_text(app) -> str:
    return "\n".join(screen_lines(app))


def find_text(lines: list[str], text: str, nth: int = 1) -> tuple[int, int] | None:
    """Cell coordinates (x, y) of the middle of `text` on screen: standing alone (between spaces or
    box edges) if it does anywhere, else inside longer text. `nth` picks among those occurrences,
    from the top (1 the first, -1 the last): «Pagar» is both a title and, further down, the button."""
    alone = re.compile(r"(?<![^\s▊▎│┃])" + re.escape(text) + r"(?![^\s▊▎│┃])")
    for pattern in (alone, re.compile(re.escape(text))):
        spots = [(cell_len(line[:found.start()]) + cell_len(text) // 2, y)
                 for y, line in enumerate(lines) for found in pattern.finditer(line)]
        if spots:
            index = nth - 1 if nth > 0 else nth
            return spots[index] if -len(spots) <= index < len(spots) else None
    return None


def _clickable(app, spot: tuple[int, int] | None, below: int = 0) -> bool:
    """The text is on screen, not behind a dialog and not on a button still shown pressed.

    A dialog shows the screen under it: just after Esc closed the code dialog, «Continuar» was on screen while
    the dialog, on its way out, still took the click (lost under load). And Textual's Button ignores a click
    within its active effect (0.2 s) of the last one, and the headless player is faster than that (it clicked
    «Continuar» again 0.2 s after the code dialog it had opened was cancelled, and the click was lost)."""
    if spot is None:
        return False
    try:
        widget, _ = app.get_widget_at(spot[0], spot[1] + below)
    except NoWidget:  # nothing there to be pressed
        return True
    if widget is app.screen and isinstance(widget, ModalScreen):  # the text is the screen under a dialog
        return False
    return not widget.has_class("-active")


def _scroll_to_button(app, label: str) -> bool:
    """A button labelled `label` on the screen in front, scrolled out of sight, is scrolled into it, as a person
    scrolls the form to reach it: a form can come back from a dialog scrolled to its top (seen under load after
    the code dialog was cancelled). True when it scrolled."""
    from textual.widgets import Button

    for button in app.screen.query(Button):
        if str(button.label) == label and button.display:
            button.scroll_visible(animate=False, immediate=True)
            return True
    return False


def phone_code(app) -> str | None:
    """The newest 6-digit code the simulated phone (a demo database's SMS notifications) shows."""
    for note in reversed(list(getattr(app, "_notifications", []))):
        if "SMS" in note.title:
            found = CODE.findall(note.message)
            if found:
                return found[-1]
    return None


def staff_code(app, username: str) -> str:
    """The demo staff user's authenticator code right now, as `cooprogreso staff code` prints it.
    The backend refuses outside a demo database, so a script cannot sign staff in on a real co-op."""
    from backend.core.errors import ServiceError

    try:
        return app.backend.auth.staff_directory.current_code(username)
    except ServiceError as exc:
        raise StaffCodeRefused(exc.message) from exc


class StaffCodeRefused(Exception):
    pass


# -- recording -----------------------------------------------------------------------------------
class Recorder:
    """asciicast v2: a JSON header line, then [seconds, "o", data] for each change of the screen."""

    def __init__(self, out: TextIO, width: int, height: int, title: str) -> None:
        self.out, self.start, self.last = out, time.monotonic(), ""
        out.write(json.dumps({"version": 2, "width": width, "height": height, "timestamp": int(time.time()),
                              "title": title, "env": {"TERM": "xterm-256color"}}) + "\n")

    def frame(self, app) -> None:
        data = _render(app, ansi=True)
        if data != self.last:
            self.last = data
            seconds = round(time.monotonic() - self.start, 3)
            self.out.write(json.dumps([seconds, "o", "\x1b[H" + data]) + "\n")


# -- the player ----------------------------------------------------------------------------------
@dataclass
class Pacing:
    key: float = 0.0  # after each key
    char: float = 0.0  # after each typed character
    caption: float = 0.0  # how long a caption stays when the step gives no pause
    sleep_factor: float = 0.0  # scale of `sleep` steps

    @classmethod
    def for_speed(cls, speed: float, headless: bool) -> Pacing:
        if headless:
            return cls()
        return cls(0.35 / speed, 0.07 / speed, 2.5 / speed, 1 / speed)


async def _reached(pump) -> None:
    """Until `pump` (the app or a widget) has handled every message queued for it before now."""
    reached = asyncio.Event()
    if pump.call_later(reached.set):
        await reached.wait()


async def _key_handled(app) -> None:
    """Until the key sent to `app` has gone its way: the app has taken it (its bindings, then forwarding it
    to the focused widget), and that widget and each container up to the screen have handled what was queued
    for them by then (the key as it bubbles, what its handlers posted). Pilot's own wait puts a message in
    every widget of the screen for each key (a sixth of manana_de_un_socio's messages were those)."""
    await _reached(app)
    node = app.focused or app.screen
    for pump in (node, *node.ancestors):
        if pump is app:
            break
        await _reached(pump)


class Player:
    """The auto-pilot: `app.run(auto_pilot=player)`; afterwards `player.failure` is None or PlayFailed."""

    def __init__(self, script: Script, *, pacing: Pacing, show_captions: bool, screenshots: Path | None = None,
                 recorder: Recorder | None = None, log: TextIO | None = None) -> None:
        self.script, self.pacing, self.show_captions = script, pacing, show_captions
        self.screenshots, self.recorder, self.log = screenshots, recorder, log
        self.failure: PlayFailed | None = None
        self.done = 0

    async def __call__(self, pilot) -> None:
        app = pilot.app
        try:
            await pilot.pause(0.1)
            for step in self.script.steps:
                await self._run(pilot, step)
                self.done = step.number
                self._frame(app)
        except PlayFailed as failed:
            self.failure = failed
            self._shot(app, f"{failed.step.number:02d}-fallo")
        finally:
            self._frame(app)
            app.exit()

    async def _run(self, pilot, step: Step) -> None:
        app = pilot.app
        action, value = step.action, step.value
        timeout = step.timeout if step.timeout is not None else self.script.timeout
        if step.when is not None:
            await self._settle(pilot, step, timeout)
            if step.when not in screen_text(app):
                return
        if action == "caption":
            if self.log:
                print(f"» {value}", file=self.log, flush=True)
            pause = self.pacing.caption if step.pause is None else step.pause * self.pacing.sleep_factor
            if self.show_captions:
                app.notify(value, title="Demostración", timeout=max(pause, 1.0) + 1, markup=False)
            await self._sleep(pilot, pause)
        elif action in ("wait", "expect"):
            await self._wait_for(pilot, step, lambda: value in screen_text(app), timeout,
                                 f"no apareció «{value}» en pantalla")
        elif action == "expect_not":
            await self._settle(pilot, step, timeout)
            if value in screen_text(app):
                raise PlayFailed(step, f"apareció «{value}» en pantalla", screen_text(app))
        elif action == "type":
            await self._type(pilot, value)
        elif action == "press":
            # after the screen's answers are in, as a person sees the form filled: F2 before the account list
            # came asked «Elige tu cuenta de ahorros» (solicitud_producto, now and then under load)
            await self._answered(pilot, step, time.monotonic() + timeout, timeout)
            for key in value:
                await self._key(pilot, key)
                await self._sleep(pilot, self.pacing.key)
        elif action == "click":
            spot: tuple[int, int] | None = None

            def found() -> bool:  # where the text is, from the same render (a second one would cost as much)
                nonlocal spot
                spot = find_text(screen_lines(app), value, step.nth)
                if spot is None and step.nth == 1 and _scroll_to_button(app, value):
                    return False  # scrolled: looked for again after a pause
                return _clickable(app, spot, step.below)

            deadline = time.monotonic() + timeout
            while True:
                if time.monotonic() > deadline:  # found each time, but never twice in the same place
                    raise PlayFailed(step, f"«{value}» no se queda quieto en pantalla para hacer clic (tras {timeout:g} s)",
                                     screen_text(app))
                await self._wait_for(pilot, step, found, timeout, f"no hay «{value}» en pantalla para hacer clic",
                                     deadline=deadline)
                # Still there once the app has handled what was pending and its workers have answered: an answer
                # that lands late (a busy machine) can move the focus and scroll the form, and the click went
                # where the text had been (lost, or on another widget).
                where = (app.screen, spot)
                await self._answered(pilot, step, deadline, timeout)
                await pilot.pause()
                if found() and (app.screen, spot) == where:
                    break
            x, y = spot or (0, 0)
            await pilot.click(offset=(x, y + step.below))
            await self._sleep(pilot, self.pacing.key)
        elif action == "type_code":
            await self._wait_for(pilot, step, lambda: phone_code(app) is not None, timeout,
                                 "el teléfono simulado no mostró ningún código")
            await self._type(pilot, phone_code(app) or "")
        elif action == "type_staff_code":
            try:
                code = staff_code(app, value)
            except StaffCodeRefused as exc:
                raise PlayFailed(step, str(exc), screen_text(app)) from exc
            await self._type(pilot, code)
        elif action == "sleep":
            await self._sleep(pilot, value * self.pacing.sleep_factor)
        elif action == "screenshot":
            await self._settle(pilot, step, timeout)
            self._shot(app, f"{step.number:02d}-{value}")
        await self._handled(pilot)

    async def _type(self, pilot, text: str) -> None:
        for char in text:
            await self._key(pilot, char)
            await self._sleep(pilot, self.pacing.char)

    async def _key(self, pilot, key: str) -> None:
        """One key. Paced, as Pilot.press sends it; unpaced, as a terminal delivers a fast typist's keys:
        sent like Pilot.press sends it and handled by the screen before the next, without its two waits for
        the process to go idle after every key (≥ 40 ms each: most of a headless script's wall time)."""
        if self.pacing.key:
            await pilot.press(key)
            return
        if len(key) == 1 and not key.isalnum():  # the event Pilot.press makes (App._press_keys), step by step
            key = _character_to_key(key)
        try:
            char: str | None = unicodedata.lookup(_get_unicode_name_from_key(REPLACED_KEYS.get(key, key)))
        except KeyError:
            char = key if len(key) == 1 else None
        event = events.Key(key, char)
        event.set_sender(pilot.app)
        pilot.app._driver.send_message(event)
        await _key_handled(pilot.app)

    async def _handled(self, pilot) -> None:
        """After a step: paced, until the app goes idle (Pilot.pause); unpaced, until the app and the focused
        widget's way up have handled what the step sent (each key was waited for already, a click by Pilot;
        the next wait, expect or click polls for what it needs anyway)."""
        if self.pacing.key:
            await pilot.pause()
        else:
            await _key_handled(pilot.app)

    async def _wait_for(self, pilot, step: Step, ready, timeout: float, message: str,
                        deadline: float | None = None) -> None:
        deadline = time.monotonic() + timeout if deadline is None else deadline
        while not ready():
            if time.monotonic() > deadline:
                raise PlayFailed(step, f"{message} (tras {timeout:g} s)", screen_text(pilot.app))
            self._frame(pilot.app)
            await pilot.pause(0.05)

    async def _settle(self, pilot, step: Step, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for _ in range(3):
            await self._answered(pilot, step, deadline, timeout)
            await pilot.pause()

    async def _answered(self, pilot, step: Step, deadline: float, timeout: float) -> None:
        """Until the app's workers have answered, within the step's time: a call that hangs (a row lock held
        elsewhere) fails the step with the screen, never the whole demo without a word. A worker that failed or
        was replaced by a newer call has answered too (its screen shows what it has to)."""
        app = pilot.app
        while any(worker.state in (WorkerState.PENDING, WorkerState.RUNNING) for worker in app.workers):
            if time.monotonic() > deadline:
                raise PlayFailed(step, f"la pantalla sigue esperando una respuesta (tras {timeout:g} s)",
                                 screen_text(app))
            await pilot.pause(0.02)

    async def _sleep(self, pilot, seconds: float) -> None:
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            self._frame(pilot.app)
            await pilot.pause(min(0.1, left))

    def _frame(self, app) -> None:
        if self.recorder is not None:
            self.recorder.frame(app)

    def _shot(self, app, name: str) -> None:
        if self.screenshots is not None:
            self.screenshots.mkdir(parents=True, exist_ok=True)
            safe = re.sub(r"[^A-Za-z0-9._-]+", "_", name)
            (self.screenshots / f"{safe}.svg").write_text(app.export_screenshot(title=self.script.title),
                                                         encoding="utf-8")
