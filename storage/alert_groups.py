"""Alert groups: one per firing episode of a group key, with its page and its thread notes.

A group opens with the notice that starts it firing and closes with the one that resolves
it; another firing notice later opens a new group. Every change here is written in the
same commit as `AlertNotices.mark_done` of the notice that caused it, so a restart redoes
exactly the notices not acted on. The group that pages is written in the commit that
writes the page's send down, before the gateway is called (`opening`, for `Sends.begin`):
a crash during the call leaves the send `calling` (shown `unknown` at the next start) and
the notice done, so the page is never sent twice.

Notes are said in the page's thread by the outbox worker, at most once: `mark_said` before
the post (see README, "Slack call semantics").
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlite_utils import Database

from storage.alerts import AlertNotices
from storage.outbox import enqueue
from storage.rows import NewSend, iso
from storage.store import Store

__all__ = [
    "OPEN_GROUP_SQL",
    "PAGES_SINCE_SQL",
    "UNSAID_SQL",
    "AlertGroup",
    "AlertGroups",
    "NewGroup",
    "Note",
]

_GROUP = (
    "id, integration_id, integration, group_key, send_id, opened, closed, paged, problem, "
    "notice, fingerprints"
)
OPEN_GROUP_SQL = (
    f"SELECT {_GROUP} FROM alert_groups "
    "WHERE integration_id = ? AND group_key = ? AND closed IS NULL"
)
# Pages an integration sent since a moment: what SMS_ALERT_PAGES_PER_HOUR counts.
PAGES_SINCE_SQL = (
    "SELECT count(*) FROM alert_groups "
    "WHERE integration_id = ? AND paged IS NOT NULL AND paged >= ?"
)
GROUP_OF_SEND_SQL = f"SELECT {_GROUP} FROM alert_groups WHERE send_id = ?"
UNSAID_SQL = (
    "SELECT id, send_id, kind, text FROM alert_notes WHERE send_id = ? AND said = 0 ORDER BY id"
)


@dataclass(frozen=True)
class AlertGroup:
    id: int
    integration_id: int
    integration: str  # its name when the group opened
    group_key: str
    send_id: int  # the page's send (with no recipients when nobody was texted)
    opened: str
    closed: str | None
    paged: str | None  # when it texted someone; None if held back or nobody reachable
    problem: str | None  # why nobody (or not everybody) was texted, in words (Slack mrkdwn)
    notice: str  # the latest AlertNotice.to_json() of the group
    fingerprints: tuple[str, ...]  # every firing alert seen in the group

    @classmethod
    def from_row(cls, row: Sequence[object]) -> AlertGroup:
        *head, fingerprints = row
        return cls(*head, fingerprints=tuple(json.loads(str(fingerprints or "[]"))))  # type: ignore[arg-type]


@dataclass(frozen=True)
class NewGroup:
    integration_id: int
    integration: str
    group_key: str
    notice: str
    fingerprints: tuple[str, ...]
    paged: bool
    problem: str | None = None


@dataclass(frozen=True)
class Note:
    id: int
    send_id: int
    kind: str  # "firing", "added" or "resolved"
    text: str  # Slack mrkdwn, escaped when written


def _insert(db: Database, group: NewGroup, send_id: int, now: str) -> None:
    db["alert_groups"].insert(
        {
            "integration_id": group.integration_id,
            "integration": group.integration,
            "group_key": group.group_key,
            "send_id": send_id,
            "opened": now,
            "paged": now if group.paged else None,
            "problem": group.problem,
            "notice": group.notice,
            "fingerprints": json.dumps(sorted(group.fingerprints)),
        }
    )


class AlertGroups:
    """The alert worker's state, and the notes the outbox worker says in page threads."""

    def __init__(self, store: Store, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.clock = clock

    async def open_group(self, integration_id: int, group_key: str) -> AlertGroup | None:
        def read(db: Database) -> AlertGroup | None:
            row = db.execute(OPEN_GROUP_SQL, [integration_id, group_key]).fetchone()
            return AlertGroup.from_row(row) if row else None

        return await self.store.read(read)

    async def of_send(self, send_id: int) -> AlertGroup | None:
        def read(db: Database) -> AlertGroup | None:
            row = db.execute(GROUP_OF_SEND_SQL, [send_id]).fetchone()
            return AlertGroup.from_row(row) if row else None

        return await self.store.read(read)

    async def pages_since(self, integration_id: int, since: datetime) -> int:
        return await self.store.read(
            lambda db: int(db.execute(PAGES_SINCE_SQL, [integration_id, iso(since)]).fetchone()[0])
        )

    def opening(self, group: NewGroup, notice_id: int) -> Callable[[Database, int], None]:
        """What `Sends.begin` writes in the page's commit: the group, and the notice done."""
        now = iso(self.clock())

        def write(db: Database, send_id: int) -> None:
            _insert(db, group, send_id, now)
            AlertNotices.mark_done(db, notice_id)

        return write

    async def open_unpaged(self, send: NewSend, group: NewGroup, notice_id: int) -> int:
        """A group that texts nobody (held back, or nobody reachable): its send has no
        recipients, and its tracked message says why. Returns the send's id."""
        now = iso(self.clock())

        def write(db: Database) -> int:
            row = {**send.__dict__, "created": now, "goes_out": now, "phase": "done"}
            send_id = int(db["sends"].insert(row).last_pk)
            _insert(db, group, send_id, now)
            enqueue(db, send_id, now)
            AlertNotices.mark_done(db, notice_id)
            return send_id

        return await self.store.write(write)

    async def note(
        self,
        group: AlertGroup,
        notice_id: int,
        *,
        kind: str,
        text: str,
        notice: str,
        fingerprints: Sequence[str],
        close: bool,
    ) -> None:
        """A later notice of an open group: its note for the thread, the group's newest
        state (closed when resolved), the tracked message's edit, and the notice done."""
        now = iso(self.clock())

        def write(db: Database) -> None:
            db["alert_notes"].insert(
                {"send_id": group.send_id, "kind": kind, "text": text, "created": now}
            )
            db.execute(
                "UPDATE alert_groups SET notice = ?, fingerprints = ?, closed = ? WHERE id = ?",
                [notice, json.dumps(sorted(fingerprints)), now if close else None, group.id],
            )
            enqueue(db, group.send_id, now)
            AlertNotices.mark_done(db, notice_id)

        await self.store.write(write)

    async def mark_done(self, notice_id: int) -> None:
        """A notice that changes nothing (resolved with no open group, or unreadable)."""
        await self.store.write(lambda db: AlertNotices.mark_done(db, notice_id))

    async def unsaid(self, send_id: int) -> list[Note]:
        def read(db: Database) -> list[Note]:
            return [Note(*row) for row in db.execute(UNSAID_SQL, [send_id])]

        return await self.store.read(read)

    async def mark_said(self, note_ids: Sequence[int], said: bool = True) -> None:
        """Marked before the post: a lost answer loses the note, never doubles it."""
        ids = list(note_ids)
        marks = ",".join("?" * len(ids))
        await self.store.write(
            lambda db: db.execute(
                f"UPDATE alert_notes SET said = ? WHERE id IN ({marks})", [int(said), *ids]
            )
        )
