"""«Depósito / Retiro en efectivo»: find the member (cédula, name or account), check who they are,
then one confirmation and the printed-style receipt — or, for a large withdrawal, the supervisor."""

from __future__ import annotations

import uuid

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Button, Input, Label, OptionList, Select, Static
from textual.widgets.option_list import Option

from backend.branch.counter import CashQuote, CashResult, MemberCard
from backend.core.errors import ServiceError
from backend.core.money import format_money
from backend.core.name_search import MemberSearch
from backend.core.text import ascii_digits
from screens.branch.staff_declaration import DeclarationModal
from screens.branch.staff_till import show_counter_receipt
from screens.shared.base import MemberScreen
from screens.shared.confirm import ConfirmModal
from screens.shared.safe_text import safe_text
from screens.shared.text_entry import TextInput
from screens.shared.widgets import money_input

TITLES = {"deposito": "Depósito en efectivo", "retiro": "Retiro en efectivo"}


class CashScreen(MemberScreen):
    ENTER_SEARCH = "#search"  # keys typed after its Enter wait for the rows (cooprogreso_tui/app.py)
    ENTER_NEXT = "#dep-id, #dep-name"  # Enter moves on (the app does it), from the names back to the amount
    ENTER_AFTER = {"#dep-name": "#amount"}
    DEFAULT_CSS = """
    CashScreen #search-row, CashScreen #amount-row { height: 1; margin: 1 1 0 1; }
    CashScreen #search { width: 40; margin-right: 1; }
    CashScreen #found-count { height: auto; margin: 0 1; }
    CashScreen #found { height: auto; max-height: 12; margin: 0 1; }
    CashScreen.-chosen #found { max-height: 4; }
    CashScreen #identity { height: auto; margin: 0 1; padding: 0 1; border: round $success; }
    CashScreen #account { width: 60; margin: 1 1 0 1; }
    CashScreen #amount { width: 16; margin-right: 1; }
    CashScreen #depositor { width: 15; margin-right: 1; }
    CashScreen #third-row { height: 1; margin: 0 1; }
    CashScreen #dep-id { width: 12; margin-right: 1; }
    CashScreen #dep-name { width: 1fr; }
    CashScreen #cash-error { margin: 0 1; height: auto; }
    """

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self.cards: list[MemberCard] = []
        self.card: MemberCard | None = None
        self.searched = ""  # the text the list was found with: an account number picks that account
        self.key = uuid.uuid4().hex  # one key per operation: a second submit books nothing more
        self.declaration: dict | None = None  # licitud de fondos, once given for this operation

    def compose_body(self) -> ComposeResult:
        yield Label(TITLES[self.kind], classes="section-title")
        with Horizontal(id="search-row"):
            yield TextInput(id="search", placeholder="Cédula, nombres o número de cuenta", max_length=80, compact=True)
            yield Button("Buscar", id="find", compact=True)
        yield Static("", id="found-count")
        yield OptionList(id="found")
        yield Static("", id="identity")
        yield Select([], id="account", prompt="Cuenta de ahorros", compact=True)
        with Horizontal(id="amount-row"):
            yield Label("Monto (USD): ")
            # Typed whole to `backend.core.money.parse_money`: no `restrict` silently dropping a character («1e9»).
            yield money_input("amount")
            if self.kind == "deposito":  # the cash adds up by the person who brings it (UAFE), not the owner
                yield Label("¿Quién deposita? ")
                yield Select([("El titular", "titular"), ("Otra persona", "otra")], id="depositor", value="titular",
                             allow_blank=False, compact=True)
            yield Button("Depositar" if self.kind == "deposito" else "Retirar", id="go", variant="primary",
                         compact=True)
        if self.kind == "deposito":
            with Horizontal(id="third-row"):
                yield Label("Quien deposita: ")
                yield TextInput(id="dep-id", placeholder="Cédula", max_length=10, compact=True)
                yield TextInput(id="dep-name", placeholder="Nombres y apellidos", max_length=80, compact=True)
        yield Static("", id="cash-error", classes="error")

    def on_mount(self) -> None:
        super().on_mount()
        for selector in ("#identity", "#account", "#amount-row", *(("#third-row",) if self.kind == "deposito"
                                                                     else ())):  # «Otra persona» shows the third
            self.query_one(selector).display = False
        self.query_one("#search", Input).focus()

    def _error(self, text: str) -> None:
        self.query_one("#cash-error", Static).update(safe_text(text))

    @on(Input.Submitted, "#search")
    @on(Button.Pressed, "#find")
    def find(self) -> None:
        self._error("")
        self.remove_class("-chosen")  # the list gets the room until a member is chosen
        self.searched = self.query_one("#search", Input).value
        self.call("find", self.coop.backend.counter.find_member, self.coop.token, self.searched, hold_keys=True)

    def done_find(self, cards: MemberSearch) -> None:
        self.cards = list(cards)
        found = self.query_one("#found", OptionList)
        found.clear_options()
        for card in cards:
            found.add_option(Option(safe_text(f"{card.name} · {card.id_masked}"), id=str(card.member_id)))
        count = cards.note or (f"Se muestran {len(cards)} de {cards.total}." if len(cards) > 1 else "")
        self.query_one("#found-count", Static).update(safe_text(count))  # «Se muestran 10 de 37; afina la búsqueda.»
        if not cards:
            self._error("No se encontró ningún socio.")
        elif len(cards) == 1:
            self.choose(cards[0])
        else:
            found.focus()

    def failed_find(self, error) -> None:
        self._error(error.message)

    @on(OptionList.OptionSelected, "#found")
    def picked(self, event: OptionList.OptionSelected) -> None:
        self.choose(next(c for c in self.cards if str(c.member_id) == event.option.id))

    def choose(self, card: MemberCard) -> None:
        self.card = card
        self.declaration = None
        self.add_class("-chosen")
        state = f" · {card.opening}" if card.opening else ("" if card.status == "activo" else " · INACTIVO")
        lines = [f"{card.name} · {card.id_masked}" + state, "Verifica su identidad preguntando:"]
        lines += [f"  {q} → {a}" for q, a in card.check_questions]
        identity = self.query_one("#identity", Static)
        identity.update(safe_text("\n".join(lines)))
        identity.display = True
        account = self.query_one("#account", Select)
        self._accounts(card)
        if card.accounts:
            account.value = self._searched_account(card)
        account.display = True
        if self.kind == "deposito":
            self.query_one("#depositor", Select).value = "titular"
        self.query_one("#amount-row").display = True
        self.query_one("#amount", Input).focus()
        if not card.accounts:
            self._error("El socio no tiene una cuenta de ahorros activa.")

    def _searched_account(self, card: MemberCard) -> int:
        """The account whose number was searched (as the backend reads digits), else the first."""
        try:
            number = ascii_digits(self.searched, field="buscar", label="La búsqueda")
        except ServiceError:
            number = ""
        return next((a.id for a in card.accounts if a.number == number), card.accounts[0].id)

    def _accounts(self, card: MemberCard) -> None:
        account = self.query_one("#account", Select)
        chosen = account.value
        account.set_options([(safe_text(f"Ahorros {a.number} · Disponible {format_money(a.available)}"), a.id)
                             for a in card.accounts])
        if any(a.id == chosen for a in card.accounts):
            account.value = chosen

    def _refresh_card(self) -> None:
        """After a booking or a hold the available balance changed: ask again, by the account's number."""
        account = self.query_one("#account", Select).value
        number = next((a.number for a in self.card.accounts if a.id == account), None) if self.card else None
        if number:
            self.call("refresh", self.coop.backend.counter.find_member, self.coop.token, number)

    def done_refresh(self, cards: MemberSearch) -> None:
        card = next((c for c in cards if self.card and c.member_id == self.card.member_id), None)
        if card is not None:
            self.card = card
            self._accounts(card)

    def failed_refresh(self, error) -> None:
        pass  # the figures on screen stay as they were; the booking itself is done

    @on(Select.Changed, "#depositor")
    def depositor_changed(self, event: Select.Changed) -> None:
        other = event.value == "otra"
        self.query_one("#third-row").display = other
        if not other:
            for selector in ("#dep-id", "#dep-name"):
                self.query_one(selector, Input).value = ""
        self.declaration = None  # a declaration is of the person who deposits
        if other:
            self.query_one("#dep-id", Input).focus()

    def depositor(self) -> dict | None:
        """The third person bringing the cash ({name, id_type, id_number}), None when the owner brings it; the
        backend checks the cédula's check digit and the name, and sums the cash by this person."""
        if self.kind != "deposito" or self.query_one("#depositor", Select).value != "otra":
            return None
        return {"name": self.query_one("#dep-name", Input).value, "id_type": "cedula",
                "id_number": self.query_one("#dep-id", Input).value}

    @on(Input.Submitted, "#amount")
    @on(Button.Pressed, "#go")
    def go(self) -> None:
        account = self.query_one("#account", Select).value
        if self.card is None or not isinstance(account, int):
            self._error("Busca al socio y elige su cuenta.")
            return
        self._error("")
        self.call("quote", self.coop.backend.counter.quote, self.coop.token, self.kind, account,
                  self.query_one("#amount", Input).value, self.declaration, self.depositor())

    def failed_quote(self, error) -> None:
        if error.code == "declaracion":  # a large cash deposit: the origin of funds first
            counter, token, amount = self.coop.backend.counter, self.coop.token, self.query_one("#amount", Input).value
            account = self.query_one("#account", Select).value
            if not isinstance(account, int):  # the account was unselected meanwhile
                self._error("Busca al socio y elige su cuenta.")
                return
            depositor = self.depositor()
            self.app.push_screen(DeclarationModal(error.message, lambda declared: counter.quote(
                token, self.kind, account, amount, declared, depositor), person=depositor), self._declared)
            return
        self._error(error.message)
        target = {"depositante": "#dep-name", "id_number": "#dep-id"}.get(error.field or "")
        if target and self.depositor() is not None:
            self.query_one(target, Input).focus()

    def _declared(self, answer: tuple[dict, CashQuote] | None) -> None:
        if answer is not None:
            self.declaration, quote = answer
            self.done_quote(quote)

    def done_quote(self, quote: CashQuote) -> None:
        self.quoted = quote
        details = "\n".join(f"{label}: {value}" for label, value in quote.lines)
        accept = "Enviar a aprobación" if quote.needs_approval else "Confirmar"
        self.app.push_screen(ConfirmModal(quote.title, details, accept=accept), self._confirmed)

    def _confirmed(self, yes: bool | None) -> None:
        if not yes:
            return
        account = self.query_one("#account", Select).value
        self.call("cash", self.coop.backend.counter.cash, self.coop.token, self.kind, account,
                  self.query_one("#amount", Input).value, self.key, self.declaration, self.depositor())

    def done_cash(self, result: CashResult) -> None:
        self.key = uuid.uuid4().hex
        self.declaration = None
        self.query_one("#amount", Input).value = ""
        if self.kind == "deposito":  # the next deposit is the owner's until the teller says otherwise again
            self.query_one("#depositor", Select).value = "titular"
        self._refresh_card()
        if result.state == "por_aprobar":
            self._error("")
            self.query_one("#cash-error", Static).update(safe_text(
                f"Retiro {result.reference} enviado al supervisor. No entregues el efectivo hasta que lo apruebe; "
                "lo verás en «Mi caja».", style="bold"))
            return
        if result.receipt is not None:
            show_counter_receipt(self, result.receipt)

    def failed_cash(self, error) -> None:
        self._refresh_card()  # whatever stopped it (another till, a hold), the figures on screen are read again
        if error.code == "declaracion":  # the threshold was reached meanwhile (another till): ask it now
            self.failed_quote(error)
            return
        self._error(error.message)
