"""Pruning what is finished and old, for a database whose size is bounded by choice.

Off unless SMS_RETENTION_DAYS is set. A send is pruned with its recipients and their
report log once it was created before the cut-off, its gateway call is answered, every
recipient is final and its channel message is up to date (no outbox row): nothing the bot
still does can need it. Orphan reports (for msgIds never stored) past the cut-off go too.
Work is done in small writes, so pruning a year never holds the writer for long.
"""

from __future__ import annotations

from datetime import datetime

from sqlite_utils import Database

from storage.rows import iso
from storage.store import Store

__all__ = ["PRUNABLE_SQL", "Retention"]

# Parameters: the cut-off, limit. Oldest first, from the index on `created`.
PRUNABLE_SQL = (
    "SELECT s.id, (SELECT count(*) FROM recipients r WHERE r.send_id = s.id) FROM sends s "
    "WHERE s.created < ? AND s.phase = 'done' "
    "AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.send_id = s.id) "
    "AND NOT EXISTS (SELECT 1 FROM recipients r WHERE r.send_id = s.id "
    "AND r.state NOT IN ('delivered', 'failed', 'unknown')) "
    "ORDER BY s.created LIMIT ?"
)
# Rows deleted per write, about: a bulk send of 1000 goes alone, small ones together.
BATCH_ROWS = 2000
CANDIDATES = 200


class Retention:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def prune(self, before: datetime) -> int:
        """Prune finished sends created before `before`; returns how many sends went."""
        cutoff = iso(before)
        total = 0
        while True:
            pruned = await self.store.write(lambda db: _prune_batch(db, cutoff))
            total += pruned
            if not pruned:
                break
        await self.store.write(lambda db: _prune_orphans(db, cutoff))
        return total


def _prune_batch(db: Database, cutoff: str) -> int:
    chosen: list[int] = []
    rows = 0
    for send_id, recipients in db.execute(PRUNABLE_SQL, [cutoff, CANDIDATES]):
        if chosen and rows + recipients > BATCH_ROWS:
            break
        chosen.append(send_id)
        rows += recipients
    if not chosen:
        return 0
    marks = ",".join("?" * len(chosen))
    db.execute(
        "DELETE FROM reports WHERE msg_id IN "
        f"(SELECT DISTINCT msg_id FROM recipients WHERE send_id IN ({marks}) "
        "AND msg_id IS NOT NULL)",
        chosen,
    )
    db.execute(f"DELETE FROM recipients WHERE send_id IN ({marks})", chosen)
    db.execute(f"DELETE FROM sends WHERE id IN ({marks})", chosen)
    return len(chosen)


def _prune_orphans(db: Database, cutoff: str) -> None:
    db.execute(
        "DELETE FROM reports WHERE id IN (SELECT id FROM reports "
        "WHERE outcome = 'orphan' AND received_at < ? LIMIT ?)",
        [cutoff, BATCH_ROWS],
    )
