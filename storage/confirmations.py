"""Sends waiting for their Send button: who asked, where, the request, and its state.

A press claims its confirmation in one commit on the single writer thread: the state
goes from `pending` to `sent` (or `cancelled`, or `expired`) once, so two presses, two
people or a retried request send once. Rows are kept a day after they stop mattering,
so a late press is still answered in words, then dropped when the next one is stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlite_utils import Database

from storage.rows import iso
from storage.store import Store

__all__ = ["Claim", "Confirmations", "PendingConfirmation"]

PENDING, SENT, CANCELLED, EXPIRED = "pending", "sent", "cancelled", "expired"
KEPT = timedelta(days=1)  # a press on a day-old confirmation is answered "no longer in my records"

Outcome = Literal["claimed", "gone", "not_yours", "sent", "cancelled", "expired"]


@dataclass(frozen=True)
class PendingConfirmation:
    team_id: str
    user_id: str
    channel_id: str
    request: str  # the parsed request as JSON; the listener layer reads it back


@dataclass(frozen=True)
class Claim:
    outcome: Outcome  # "claimed": this press won; otherwise why nothing happens
    pending: PendingConfirmation | None = None  # set when claimed


class Confirmations:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def add(self, pending: PendingConfirmation, now: datetime) -> int:
        """Store a request waiting for its Send; returns the id the buttons carry."""

        def write(db: Database) -> int:
            db.execute("DELETE FROM confirmations WHERE created < ?", [iso(now - KEPT)])
            cursor = db.execute(
                "INSERT INTO confirmations (team_id, user_id, channel_id, request, created, "
                "state) VALUES (?, ?, ?, ?, ?, ?)",
                [
                    pending.team_id,
                    pending.user_id,
                    pending.channel_id,
                    pending.request,
                    iso(now),
                    PENDING,
                ],
            )
            return int(cursor.lastrowid or 0)

        return await self.store.write(write)

    async def claim(self, confirmation_id: int, user_id: str, expires_before: datetime) -> Claim:
        """Send pressed: `claimed` for the first press of the asker within the time."""
        return await self.store.write(
            lambda db: _settle(db, confirmation_id, user_id, SENT, expires_before)
        )

    async def cancel(self, confirmation_id: int, user_id: str) -> Claim:
        """Cancel pressed: `claimed` if it was still pending (and is cancelled now)."""
        return await self.store.write(
            lambda db: _settle(db, confirmation_id, user_id, CANCELLED, None)
        )


def _settle(
    db: Database,
    confirmation_id: int,
    user_id: str,
    state: str,
    expires_before: datetime | None,
) -> Claim:
    """Read and move the state in one transaction: the writer thread runs one at a time."""
    row = db.execute(
        "SELECT team_id, user_id, channel_id, request, created, state FROM confirmations "
        "WHERE id = ?",
        [confirmation_id],
    ).fetchone()
    if row is None:
        return Claim("gone")
    team_id, asker, channel_id, request, created, current = row
    if asker != user_id:
        return Claim("not_yours")
    if current != PENDING:
        return Claim(current)
    if expires_before is not None and created < iso(expires_before):
        db.execute("UPDATE confirmations SET state = ? WHERE id = ?", [EXPIRED, confirmation_id])
        return Claim("expired")
    db.execute("UPDATE confirmations SET state = ? WHERE id = ?", [state, confirmation_id])
    return Claim("claimed", PendingConfirmation(team_id, asker, channel_id, request))
