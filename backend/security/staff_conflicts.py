"""Nobody on the staff decides about their own membership: a request, a withdrawal, a case, an unlock.

A staff user is linked to their cédula (`cooprogreso staff add --cedula`, or `staff link`); the member with
that cédula, or with a RUC made from it (a person's RUC is their cédula and `001`), is them. Their enrolled
name is compared too, folded like member search (`name_search.fold`: accents, case, spaces), for everyone:
for staff enrolled before cédulas (migration 23) and not linked yet, it is the check that remains.
One place for the rule: every staff action about a member calls `refuse_own` before it writes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from backend.core.context import Context, Principal
from backend.core.errors import Forbidden
from backend.core.name_search import fold, search_name

if TYPE_CHECKING:
    from backend.core.db import Connection

CODE = "propia"


def same_person(staff_cedula: str | None, staff_name: str, id_type: str, id_number: str, first_names: str,
                last_names: str) -> bool:
    if staff_cedula and (id_type, id_number) in (("cedula", staff_cedula), ("ruc", staff_cedula + "001")):
        return True
    return fold(staff_name) == search_name(first_names, last_names)


def is_own(conn: Connection, who: Principal, member_id: int) -> bool:
    staff = conn.execute("SELECT cedula, full_name FROM staff_users WHERE id = ?", (who.user_id,)).fetchone()
    member = conn.execute("SELECT id_type, id_number, first_names, last_names FROM members WHERE id = ?",
                          (member_id,)).fetchone()
    return bool(staff and member and same_person(staff[0], staff[1], *member))


def refuse_own(ctx: Context, who: Principal, member_id: int | None, *, action: str, message: str, **details: object) -> None:
    """Refuse (Forbidden, code «propia») and audit in a transaction of its own when the member is `who`."""
    if member_id is None:
        return
    with ctx.db.read() as conn:
        own = is_own(conn, who, member_id)
    if own:
        ctx.audit_now(who.username, action, "propia_rechazada", rol=who.role, member_id=member_id, **details)
        raise Forbidden(message, code=CODE)
