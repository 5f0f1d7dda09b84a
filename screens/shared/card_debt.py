"""A card's debt in the same words on every screen (Productos, Estado de cuenta, Pago de Tarjetas)."""

from __future__ import annotations

from backend.core.money import format_money


def debt_text(consumos: int, diferidos: int) -> str:
    """Consumos, diferidos pendientes and their total side by side (backend/core/card_debt.py computes them)."""
    return (f"Consumos {format_money(consumos)} · Diferidos pendientes {format_money(diferidos)} · "
            f"Deuda total {format_money(consumos + diferidos)}")
