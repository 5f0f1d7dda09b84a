"""Shared steps for transfer tests: two signed-in members and a way to confirm with the sent code."""

from __future__ import annotations

from dataclasses import dataclass

from backend.transfers.transfers import TransferRequest

from .conftest import add_member, affiliate, last_code


@dataclass
class Member:
    token: str
    member_id: int
    accounts: list[int]


def demo_member(backend) -> Member:
    token = backend.auth.login("demo", "Demo-2026!").token
    member_id = backend.auth.principal(token).member_id
    return Member(token, member_id, [o.account_id for o in backend.transfers.origins(token)])


def other_member(backend, cedula="1104680135", username="ana.prueba", balance=300_00) -> Member:
    member_id, account = add_member(backend, cedula=cedula, first="Ana María", last="Prueba Uno", balance=balance)
    affiliate(backend, cedula, username)
    token = backend.auth.login(username, "Clave2026x").token
    return Member(token, member_id, [account])


def number_of(backend, account_id: int) -> str:
    return backend.db.conn.execute("SELECT number FROM accounts WHERE id = ?", (account_id,)).fetchone()[0]


def gone_note(backend, account_id: int) -> str:
    """How a picker says a chosen account has gone (closed or blocked meanwhile), its number masked."""
    return f"La cuenta de ahorros ******{number_of(backend, account_id)[-4:]} ya no está disponible"


def withdraw(backend, account_id, status):
    """What a teller's session does meanwhile: the account closed or blocked (no service does it: SQL, as the
    backend's own tests do)."""
    with backend.db.write() as tx:
        tx.execute("UPDATE accounts SET status = ? WHERE id = ?", (status, account_id))


def offered(select):
    """The account ids a picker offers now."""
    return [value for _, value in select._options if isinstance(value, int)]


def balance_of(backend, account_id: int) -> int:
    return backend.db.conn.execute("SELECT balance FROM accounts WHERE id = ?", (account_id,)).fetchone()[0]


def transfer(backend, who: Member, request: TransferRequest, code: str | None = None):
    draft = backend.transfers.prepare(who.token, request)
    backend.ops.request_code(who.token, draft.id)
    return backend.ops.authorise(who.token, draft.id, code or last_code(backend))


def save_beneficiary(backend, token: str, form, editing_id: int | None = None, code: str | None = None):
    """Add a beneficiary, or change its account, through the authorised-operation flow."""
    pending = backend.beneficiaries.prepare_save(token, form, editing_id)
    backend.ops.request_code(token, pending.id)
    receipt = backend.ops.authorise(token, pending.id, code or last_code(backend))
    return backend.beneficiaries.get(token, receipt.result_id)
