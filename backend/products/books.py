"""The products' invariants for `cooprogreso check` (registered in backend/core/invariants.py): a loan owes its
principal less the capital of the cuotas marked paid (each by an entry that exists); a closed plazo fijo holds
nothing. Loans and plazos fijos are few beside the postings: the end of day runs the full check."""

from __future__ import annotations

from typing import Any

from backend.core import invariants
from backend.core.money import format_money


def check(conn: Any) -> list[str]:
    problems = []
    for number, balance, principal, repaid in conn.execute(
        "SELECT a.number, a.balance, l.principal,"
        " COALESCE(SUM(CASE WHEN i.paid_entry_id IS NOT NULL THEN i.principal ELSE 0 END), 0)"
        " FROM loans l JOIN accounts a ON a.id = l.account_id LEFT JOIN loan_installments i ON i.loan_id = l.account_id"
        " GROUP BY a.id, a.number, a.balance, l.principal"
        " HAVING a.balance != COALESCE(SUM(CASE WHEN i.paid_entry_id IS NOT NULL THEN i.principal ELSE 0 END), 0)"
        " - l.principal"
    ):
        problems.append(f"crédito {number}: saldo {format_money(balance)} ≠ capital pagado {format_money(repaid)}"
                        f" − desembolso {format_money(principal)}")
    for loan, n in conn.execute(
        "SELECT a.number, i.number FROM loan_installments i JOIN accounts a ON a.id = i.loan_id"
        " LEFT JOIN entries e ON e.id = i.paid_entry_id WHERE i.paid_entry_id IS NOT NULL AND e.id IS NULL"
    ):
        problems.append(f"crédito {loan}: la cuota {n} está pagada por un asiento que no existe")
    for number, balance in conn.execute(
        "SELECT a.number, a.balance FROM term_deposits d JOIN accounts a ON a.id = d.account_id"
        " WHERE a.status = 'cerrada' AND a.balance != 0"
    ):
        problems.append(f"plazo fijo {number}: cerrado con saldo {format_money(balance)}")
    return problems


invariants.register("productos", check)
