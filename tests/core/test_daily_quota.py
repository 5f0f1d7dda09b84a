"""The day's cupo guarded in the usage upsert itself (`Usage.add_within`), on both engines."""

from backend.core import daily_quota


def test_add_within_adds_up_to_the_daily_and_no_further(backend):
    with backend.db.write() as conn:
        user = conn.execute("SELECT id FROM users ORDER BY id LIMIT 1").fetchone()[0]

    def add(amount: int) -> int | None:
        with backend.db.write() as conn:
            with conn.pipeline():
                cursor = daily_quota.TRANSFERS.add_within(conn, user, "2026-11-25", amount, 5_000_00, "terceros")
            row = cursor.fetchone()
        return None if row is None else row[0]

    assert add(6_000_00) is None  # over the cupo alone: no row written
    assert daily_quota.TRANSFERS.used(backend.db.conn, user, "2026-11-25", "terceros") == 0
    assert add(3_000_00) == 3_000_00  # the first of the day: inserted
    assert add(2_000_01) is None  # one cent past it: refused, the total unchanged
    assert add(2_000_00) == 5_000_00  # exactly the cupo: allowed
    assert add(1) is None
    assert daily_quota.TRANSFERS.used(backend.db.conn, user, "2026-11-25", "terceros") == 5_000_00
    assert daily_quota.TRANSFERS.used(backend.db.conn, user, "2026-11-25", "interbancaria") == 0
