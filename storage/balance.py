"""The low-balance state: below SMS_LOW_BALANCE or not, and whether that was said.

One row (migration m013). A fall below the threshold is written before it is said and
marked said once Slack took it, so a restart does not say it again, and a warning that
Slack refused is still owed at the next check. Going back above clears both: the next
fall is a new crossing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlite_utils import Database

from storage.rows import iso
from storage.store import Store

__all__ = ["LowBalance"]


class LowBalance:
    def __init__(self, store: Store, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.clock = clock

    async def measured(self, low: bool, amount: str) -> bool:
        """Record a measurement; whether a low balance is owed a warning (just fell below,
        or fell earlier and the warning has not reached Slack yet)."""
        now = iso(self.clock())

        def write(db: Database) -> bool:
            was_low, said = db.execute("SELECT low, said FROM low_balance WHERE id = 1").fetchone()
            if low and not was_low:
                db.execute(
                    "UPDATE low_balance SET low = 1, said = 0, amount = ?, changed = ? "
                    "WHERE id = 1",
                    [amount, now],
                )
                return True
            if not low and was_low:
                db.execute(
                    "UPDATE low_balance SET low = 0, said = 0, amount = ?, changed = ? "
                    "WHERE id = 1",
                    [amount, now],
                )
            return bool(low and not said)

        return await self.store.write(write)

    async def said(self) -> None:
        """The warning reached Slack: not again until the balance has gone back above."""

        def write(db: Database) -> None:
            db.execute("UPDATE low_balance SET said = 1 WHERE id = 1 AND low = 1")

        await self.store.write(write)
