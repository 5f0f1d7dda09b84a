"""The picker of the member's own accounts that every money form shares (origin, debit, own destination).

Its list is loaded again after an operation, on a refresh, on coming back to a form; meanwhile an account can
be closed or blocked (by a teller, in another session). The picker never swaps the account it shows for another
one: a member who does not read the confirmation would debit an account she did not choose. It is left without
a choice instead, and the form says which account is gone until she chooses one.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.console import RenderableType
from textual.widgets import Select, Static

from backend.core.identity import mask_account
from screens.shared.safe_text import safe_text

_SHOWN = object()  # `offer`'s default: keep the account the picker shows now


def gone_message(number: str) -> str:
    """Masked as the confirmations show an account (`******0019`)."""
    return f"La cuenta de ahorros {mask_account(number)} ya no está disponible; elige otra cuenta."


class AccountSelect(Select[int]):
    """A Select of account ids, filled by `offer` each time the form (re)loads its accounts. `note`: the
    selector of the line beside it (the field's error line) where it says an account is gone, until she
    chooses one."""

    def __init__(self, *, id: str, prompt: str, note: str, classes: str | None = None) -> None:
        super().__init__([], id=id, prompt=prompt, compact=True, classes=classes)
        self.note = note
        self.numbers: dict[int, str] = {}  # the accounts offered now, id → number
        self.loaded = False  # a first list was offered
        self.gone = ""  # what was said when the account shown left the list (cleared when she chooses)
        self.gone_id: int | None = None  # that account: offered again (unblocked), the note is done

    def offer(self, accounts: Iterable[tuple[RenderableType, int, str]], keep: object = _SHOWN,
              keep_number: str = "", first: bool | None = None) -> None:
        """Offer `accounts` (label, id, number) and show `keep` (by default the account shown now) if offered.

        `keep` no longer offered: nothing is shown and the note says so (kept in `gone` for the refusal). No
        account to keep: the first one when `first` (by default on the first list only: a picker left empty
        on purpose stays empty)."""
        accounts = list(accounts)
        wanted = self.selection if keep is _SHOWN else keep
        if first is None:
            first = not self.loaded
        number = keep_number or (self.numbers.get(wanted, "") if isinstance(wanted, int) else "")
        self.numbers = {account: digits for _, account, digits in accounts}
        self.loaded = True
        self.set_options([(label, account) for label, account, _ in accounts])
        if self.gone and self.gone_id in self.numbers:  # back in the list: not gone (she still chooses)
            said, self.gone, self.gone_id = self.gone, "", None
            self._say("", only_if=said)
        if isinstance(wanted, int) and wanted in self.numbers:
            self.value = wanted
        elif isinstance(wanted, int) and not isinstance(wanted, bool):
            self.gone = gone_message(number) if number else "La cuenta que elegiste ya no está disponible; elige otra cuenta."
            self.gone_id = wanted
            self._say(self.gone)
        elif first and accounts:
            self.value = accounts[0][1]

    def choose(self, account: int, number: str) -> None:
        """Show `account` (the one a registered service debits); not offered (closed or blocked since), none: the
        note says so. Before the first list nothing is known yet: the caller chooses again once it is offered."""
        if account in self.numbers:
            self.value = account
        elif self.loaded:
            self.clear()
            self.gone, self.gone_id = gone_message(number), account
            self._say(self.gone)

    @property
    def unchosen(self) -> str:
        """Why nothing is chosen when an account left the list and she has not chosen another; else ""."""
        return self.gone if self.selection is None else ""

    def on_select_changed(self, event: Select.Changed) -> None:
        """She chose an account: the note about the one gone is done (the event goes on to the form)."""
        if self.gone and self.selection is not None:
            said, self.gone, self.gone_id = self.gone, "", None
            self._say("", only_if=said)

    def _say(self, text: str, only_if: str | None = None) -> None:
        """Write the note line, shown while it says something (a `collapse` line takes no row when empty). The
        focus stays where the person is: a reload lands while she types elsewhere."""
        for line in self.screen.query(self.note).results(Static):
            if only_if is not None and str(line.content) != only_if:
                continue  # the line says something else now (a refusal): not ours to clear
            line.update(safe_text(text))
            line.display = bool(text) or not line.has_class("collapse")
