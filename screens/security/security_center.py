"""«Centro de seguridad»: the member's sign-ins, open sessions, password, alerts and «No fui yo»."""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, DataTable, Input, Label, Static, TabbedContent, TabPane

from backend.core.errors import ServiceError
from backend.core.money import format_money
from backend.security.receipts import Receipt
from backend.security.security_center import PASSWORD_RULES, Alerts, Movement, NotMe, SessionInfo, SignIn
from screens.shared.base import MemberScreen
from screens.shared.confirm import ConfirmModal
from screens.shared.flow import start_authorised
from screens.shared.safe_text import safe_text, visible_lines
from screens.shared.widgets import money_input


def when(value: Any) -> str:
    return f"{value:%d/%m/%Y %H:%M}"


class NoticeModal(ModalScreen[None]):
    """What happened and what comes next, with one button: the member reads it before anything else."""

    HELP = "Lo que hicimos a tu pedido y lo que pasa ahora; «Entendido» lo cierra."
    BINDINGS = [Binding("escape", "close", "Entendido", id="notice.close")]

    def __init__(self, title: str, text: str) -> None:
        super().__init__()
        self.title_text, self.text = title, text

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(safe_text(self.title_text), classes="dialog-title")
            yield Static(safe_text(self.text), id="notice-text")
            with Horizontal(classes="buttons"):
                yield Button("Entendido", id="notice-ok", variant="primary", compact=True)

    def on_mount(self) -> None:
        self.query_one("#notice-ok", Button).focus()

    @on(Button.Pressed, "#notice-ok")
    def action_close(self) -> None:
        self.dismiss(None)


class SecurityCenterScreen(MemberScreen):
    HELP = ("Tus ingresos e intentos fallidos, tus sesiones abiertas, el cambio de contraseña, tus alertas por SMS y "
            "«No fui yo» si no reconoces un ingreso o un movimiento.")
    HELP_KEYS = [("n", "«No fui yo» sobre el ingreso o movimiento elegido"),
                 ("c", "Cerrar las demás sesiones (pestaña Sesiones)")]
    DEFAULT_CSS = """
    SecurityCenterScreen TabbedContent { height: 1fr; }
    SecurityCenterScreen DataTable { height: 1fr; }
    SecurityCenterScreen .hint { color: $text-muted; height: 1; }
    SecurityCenterScreen .row { height: 1; margin-bottom: 1; }
    SecurityCenterScreen .row Label { width: 22; }
    SecurityCenterScreen .row Input { width: 32; }
    SecurityCenterScreen #rules { height: auto; margin-bottom: 1; }
    SecurityCenterScreen .status { height: auto; }
    """
    ENTER_NEXT = "#current, #new"  # Enter moves on (the app does it: cooprogreso_tui/app.py); the last asks
    BINDINGS = [Binding("n", "not_me", "No fui yo", id="security.not_me",
                        tooltip="Bloquea tu acceso y abre un reclamo por el ingreso o movimiento elegido"),
                Binding("c", "close_others", "Cerrar las demás", id="security.close_others",
                        tooltip="Cierra tus otras sesiones abiertas")]

    def __init__(self) -> None:
        super().__init__()
        self.sign_in_rows: dict[str, SignIn] = {}
        self.movement_rows: dict[str, Movement] = {}

    def compose_body(self) -> ComposeResult:
        yield Label("Centro de seguridad", classes="section-title")
        with TabbedContent(id="tabs"):
            with TabPane("Ingresos", id="tab-ingresos"):
                yield Static("Tus ingresos e intentos fallidos. n: «No fui yo».", classes="hint")
                yield DataTable(id="sign-ins", cursor_type="row", zebra_stripes=True)
            with TabPane("Sesiones", id="tab-sesiones"):
                yield DataTable(id="sessions", cursor_type="row", zebra_stripes=True)
                yield Static("", id="sessions-status", classes="status")
                yield Button("Cerrar las demás sesiones", id="close-others", compact=True)
            with TabPane("Movimientos", id="tab-movimientos"):
                yield Static("Tus últimos movimientos. n: «No fui yo».", classes="hint")
                yield DataTable(id="movements", cursor_type="row", zebra_stripes=True)
            with TabPane("Contraseña", id="tab-clave"):
                yield Static(safe_text("La nueva contraseña debe tener: " + " ".join(PASSWORD_RULES)), id="rules")
                with Horizontal(classes="row"):
                    yield Label("Contraseña actual")
                    yield Input(id="current", password=True, max_length=128, compact=True)
                with Horizontal(classes="row"):
                    yield Label("Nueva contraseña")
                    yield Input(id="new", password=True, max_length=128, compact=True)
                with Horizontal(classes="row"):
                    yield Label("Repite la nueva")
                    yield Input(id="repeat", password=True, max_length=128, compact=True)
                yield Static("", id="password-status", classes="status")
                yield Button("Cambiar contraseña", id="change-password", variant="primary", compact=True)
            with TabPane("Alertas", id="tab-alertas"):
                yield Static("Te enviamos un SMS por cada movimiento desde el monto que indiques (vacío: sin "
                             "alerta) y, si lo eliges, cada vez que ingreses.", classes="status")
                with Horizontal(classes="row"):
                    yield Label("Movimientos desde $")
                    yield money_input("threshold")
                yield Checkbox("SMS en cada ingreso", id="sign-in-sms", compact=True)
                yield Static("", id="alerts-status", classes="status")
                yield Button("Guardar alertas", id="save-alerts", variant="primary", compact=True)

    def on_mount(self) -> None:
        super().on_mount()
        for selector, columns in (("#sign-ins", (("Fecha", 16), ("Canal", 14), ("Dirección", 16), ("Resultado", 24))),
                                  ("#sessions", (("Inicio", 16), ("Última actividad", 16), ("Canal", 14),
                                                 ("Dirección", 16), ("", 6))),
                                  ("#movements", (("Fecha", 16), ("Cuenta", 10), ("Monto", 12), ("Detalle", 32)))):
            table = self.query_one(selector, DataTable)
            for name, width in columns:
                table.add_column(safe_text(name), width=width)
        self.query_one("#sign-ins", DataTable).focus()
        self.reload()

    def reload(self) -> None:
        backend, token = self.coop.backend, self.coop.token
        center = backend.security_center
        self.call("sign_ins", lambda: center.sign_ins(token))
        self.call("sessions", lambda: center.sessions(token))
        self.call("movements", lambda: center.movements(token))
        self.call("alerts", lambda: center.alerts(token))

    # -- lists -----------------------------------------------------------------------------------------------
    def done_sign_ins(self, items: list[SignIn]) -> None:
        self.sign_in_rows = {str(s.id): s for s in items}
        table = self.query_one("#sign-ins", DataTable)
        table.clear()
        for s in items:
            table.add_row(when(s.at), safe_text(s.channel), safe_text(s.address or "—"),
                          safe_text(s.result, style="" if s.ok else "bold"), key=str(s.id))

    def done_sessions(self, items: list[SessionInfo]) -> None:
        table = self.query_one("#sessions", DataTable)
        table.clear()
        for s in items:
            table.add_row(when(s.started_at), when(s.last_seen_at), safe_text(s.channel), safe_text(s.address or "—"),
                          "Esta" if s.current else "", key=str(s.id))
        others = sum(not s.current for s in items)
        self.query_one("#sessions-status", Static).update(
            "No tienes otras sesiones abiertas." if not others else f"Tienes {others} sesión(es) abierta(s) además de esta.")

    def done_movements(self, items: list[Movement]) -> None:
        self.movement_rows = {str(m.id): m for m in items}
        table = self.query_one("#movements", DataTable)
        table.clear()
        for m in items:
            table.add_row(when(m.at), safe_text(m.account), format_money(m.amount),
                          safe_text(m.description, overflow="ellipsis", no_wrap=True), key=str(m.id))

    def done_alerts(self, alerts: Alerts) -> None:
        amount = self.query_one("#threshold", Input)
        amount.value = f"{alerts.movement_threshold / 100:.2f}" if alerts.movement_threshold else ""
        self.query_one("#sign-in-sms", Checkbox).value = alerts.sign_in_sms

    # -- sessions --------------------------------------------------------------------------------------------
    @on(Button.Pressed, "#close-others")
    def action_close_others(self) -> None:
        self.app.push_screen(ConfirmModal("¿Cerrar tus demás sesiones?", "Cada una se cerrará en su próxima acción; "
                                          "esta sesión sigue abierta.", accept="Cerrar sesiones"), self._close_others)

    def _close_others(self, yes: bool | None) -> None:
        if yes:
            center, token = self.coop.backend.security_center, self.coop.token
            self.call("close_others", lambda: center.close_other_sessions(token))

    def done_close_others(self, closed: int) -> None:
        self.notify(f"Cerramos {closed} sesión(es)." if closed else "No había otras sesiones abiertas.", markup=False)
        self.reload()

    # -- password --------------------------------------------------------------------------------------------
    @on(Button.Pressed, "#change-password")
    @on(Input.Submitted, "#repeat")
    def change_password(self) -> None:
        current, new, repeat = (self.query_one(f"#{name}", Input).value for name in ("current", "new", "repeat"))
        center, token = self.coop.backend.security_center, self.coop.token
        self.query_one("#password-status", Static).update("")
        start_authorised(self, lambda: center.prepare_password_change(token, current, new, repeat),
                         on_done=self._password_changed, on_error=self._password_refused)

    def _password_changed(self, receipt: Receipt) -> None:
        for name in ("current", "new", "repeat"):
            self.query_one(f"#{name}", Input).value = ""
        self.query_one("#password-status", Static).update("Tu contraseña cambió. Tus otras sesiones se cerraron.")
        self.reload()

    def _password_refused(self, error: ServiceError) -> None:
        self.query_one("#password-status", Static).update(safe_text(error.message, style="bold"))

    # -- alerts ----------------------------------------------------------------------------------------------
    @on(Button.Pressed, "#save-alerts")
    @on(Input.Submitted, "#threshold")
    def save_alerts(self) -> None:
        amount = self.query_one("#threshold", Input).value
        sign_in = self.query_one("#sign-in-sms", Checkbox).value
        center, token = self.coop.backend.security_center, self.coop.token
        self.call("save_alerts", lambda: center.set_alerts(token, amount, sign_in))

    def done_save_alerts(self, alerts: Alerts) -> None:
        parts = [f"SMS por movimientos desde {format_money(alerts.movement_threshold)}"
                 if alerts.movement_threshold else "sin alertas por movimientos"]
        parts.append("SMS en cada ingreso" if alerts.sign_in_sms else "sin SMS al ingresar")
        self.query_one("#alerts-status", Static).update(safe_text("Guardado: " + "; ".join(parts) + "."))

    def failed_save_alerts(self, error: ServiceError) -> None:
        self.query_one("#alerts-status", Static).update(safe_text(error.message, style="bold"))

    # -- «No fui yo» -----------------------------------------------------------------------------------------
    def _chosen(self) -> tuple[str, int, str] | None:
        """(what, id, description) of the highlighted sign-in or movement, on the tab showing it."""
        active = self.query_one("#tabs", TabbedContent).active
        selector, rows, what = (("#sign-ins", self.sign_in_rows, "sign_in") if active == "tab-ingresos" else
                                ("#movements", self.movement_rows, "movement") if active == "tab-movimientos" else
                                ("", {}, ""))
        if not selector or not rows:
            return None
        table = self.query_one(selector, DataTable)
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value if table.row_count else None
        item = rows.get(str(key))
        if item is None:
            return None
        if isinstance(item, SignIn):
            label = f"el ingreso del {when(item.at)} ({item.channel}{' · ' + item.address if item.address else ''})"
        else:
            label = f"el movimiento de {format_money(item.amount)} del {when(item.at)} en la cuenta {item.account}"
        return what, item.id, label

    def action_not_me(self) -> None:
        chosen = self._chosen()
        if chosen is None:
            self.notify("Elige un ingreso o un movimiento en su pestaña.", markup=False)
            return
        what, item_id, label = chosen
        self.app.push_screen(ConfirmModal(
            "¿No fuiste tú?",
            f"No reconoces {label}.\n\nBloquearemos tu acceso en línea (también esta sesión) y abriremos un "
            "reclamo. Para volver a ingresar tendrás que acercarte a una agencia con tu cédula.", accept="No fui yo"),
            lambda yes: self._not_me(yes, what, item_id))

    def _not_me(self, yes: bool | None, what: str, item_id: int) -> None:
        if yes:
            center, token = self.coop.backend.security_center, self.coop.token
            self.call("not_me", lambda: center.not_me(token, what, item_id))

    def done_not_me(self, result: NotMe) -> None:
        ended = f"Tu acceso en línea está bloqueado (reclamo N.º {result.case_number}). Acércate a una agencia."
        self.app.push_screen(NoticeModal("Bloqueamos tu acceso", result.message),
                             lambda _: self.coop.end_session(ended))

    def failed_not_me(self, error: ServiceError) -> None:
        self.notify(visible_lines(error.message), severity="error", markup=False)
