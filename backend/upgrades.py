"""Data upgrades an older database needs once, run at open by `backend.service.Backend` after its Context.

They seal what older schemas kept in the clear (card numbers, staff secrets) with this database's keys, so they
cannot be SQL migrations; they belong to their areas, so the core's Context does not run them. Each costs one
`meta` lookup once done (the marks are set by the migrations that made them necessary).
"""

from __future__ import annotations

from backend.core.context import Context


def run(ctx: Context) -> None:
    db, pepper = ctx.db, ctx.secret("otp_pepper")
    if db.get_meta("card_numbers_to_seal") is not None:  # an older database's card numbers
        from backend.security.card_numbers import seal_stored

        seal_stored(db, pepper)
    if db.get_meta("card_numbers_to_reseal") is not None:  # sealed before owners were bound
        from backend.security.card_numbers import reseal_stored

        reseal_stored(db, pepper, ctx.now_iso())
    if db.get_meta("staff_secrets_to_seal") is not None:  # an older database's staff secrets
        from backend.security import staff_secrets

        staff_secrets.seal_stored(db, pepper)
