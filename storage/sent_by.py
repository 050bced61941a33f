"""A person's own sends, newest first: what their App Home lists.

One query family of its own (beside `sends`), read on a reader thread like every read.
Alert pages sent in an integration creator's name are left out, as the rate limit leaves
them out: they are monitoring's sends, not the person's.
"""

from __future__ import annotations

from sqlite_utils import Database

from storage.rows import SendView, load_send
from storage.store import Store

__all__ = ["RECENT_BY_SENDER_SQL", "SentBy"]

RECENT_BY_SENDER_SQL = (
    "SELECT id FROM sends WHERE user_id = ? AND kind != 'alert' ORDER BY id DESC LIMIT ?"
)


class SentBy:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def recent(self, user_id: str, limit: int = 10) -> list[SendView]:
        """The person's latest `limit` sends with their recipients, newest first."""

        def read(db: Database) -> list[SendView]:
            rows = db.execute(RECENT_BY_SENDER_SQL, [user_id, limit]).fetchall()
            return [view for (send_id,) in rows if (view := load_send(db, send_id))]

        return await self.store.read(read)
