"""Data upgrades an older database needs once, run at open by `backend.service.Backend` after its Context.

They seal what older schemas kept in the clear (card numbers, staff secrets) with this database's keys, so they
cannot be SQL migrations; they belong to their areas, so the core's Context does not run them. Their marks (set by the
migrations that made them necessary) are read with the open's other `meta` rows, in one query.
"""

from __future__ import annotations

from collections.abc import Mapping

from backend.core.context import Context

# The marks `run` looks for: read with the key rows in the open's one query (backend/service.py).
MARKS = ("card_numbers_to_seal", "card_numbers_to_reseal", "staff_secrets_to_seal")


def run(ctx: Context, marks: Mapping[str, str | None] | None = None) -> None:
    db, pepper = ctx.db, ctx.secret("otp_pepper")
    if marks is None:
        marks = db.get_metas(MARKS)
    if marks["card_numbers_to_seal"] is not None:  # an older database's card numbers
        from backend.security.card_numbers import seal_stored

        seal_stored(db, pepper)
    if marks["card_numbers_to_reseal"] is not None:  # sealed before owners were bound
        from backend.security.card_numbers import reseal_stored

        reseal_stored(db, pepper, ctx.now_iso())
    if marks["staff_secrets_to_seal"] is not None:  # an older database's staff secrets
        from backend.security import staff_secrets

        staff_secrets.seal_stored(db, pepper)
