"""SMS_RETENTION_DAYS: finished sends older than N days go, with their report log; nothing
the bot still works on does, and without the setting nothing goes at all."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlite_utils import Database

from bot.clock import SystemClock
from standins.local import DEMO_CHANNEL, LocalSystem
from storage import Store
from storage.retention import Retention
from tests.conftest import SystemFactory
from tests.stored import rows

DELIVERS, FAILS, SILENT = "+2348031000010", "+2348031000019", "+2348031000017"


def settled(system: LocalSystem) -> bool:
    texts = [m.text for m in system.slack.channel_messages(DEMO_CHANNEL)]
    return any("1 delivered, 1 failed, 0 pending" in t for t in texts) and any(
        "1 pending" in t for t in texts
    )


async def run_two_days_later(make_system: SystemFactory, env: dict[str, str]) -> LocalSystem:
    offset = timedelta(0)
    system = await make_system(
        env=env,
        clock=SystemClock(lambda: datetime.now(UTC) + offset),
        silent_suffixes=("7",),
    )
    await system.slash(f"send {DELIVERS},{FAILS} finished")
    await system.slash(f"send {SILENT} still open")
    await system.wait_for(lambda: settled(system))
    await system.wait_for(lambda: not rows(system, "SELECT 1 FROM outbox"))
    offset = timedelta(days=2)
    await system.restart_bot()  # a prune round runs at start
    return system


async def test_finished_sends_older_than_the_retention_are_pruned_with_their_reports(
    make_system: SystemFactory,
):
    system = await run_two_days_later(make_system, {"SMS_RETENTION_DAYS": "1"})
    assert retention_running()
    await system.wait_for(lambda: len(rows(system, "SELECT id FROM sends")) == 1)
    (content,) = rows(system, "SELECT content FROM sends")[0]
    assert content == "still open"
    assert rows(system, "SELECT mobile FROM recipients") == [("2348031000017",)]
    assert rows(system, "SELECT count(*) FROM reports WHERE mobile != '2348031000017'") == [(0,)]
    counts = dict(rows(system, "SELECT state, n FROM state_counts WHERE n > 0"))
    assert sum(counts.values()) == 1


def retention_running() -> bool:
    return any(task.get_name() == "retention" for task in asyncio.all_tasks())


async def test_without_the_setting_nothing_is_pruned(make_system: SystemFactory):
    system = await run_two_days_later(make_system, {})
    assert not retention_running(), "no pruning loop runs unless SMS_RETENTION_DAYS is set"
    assert len(rows(system, "SELECT id FROM sends")) == 2
    assert rows(system, "SELECT count(*) FROM reports")[0][0] >= 2


async def test_an_alert_page_goes_with_its_closed_group_and_an_open_group_keeps_its_page(
    tmp_path: Path,
):
    old = "2025-01-01T00:00:00.000+00:00"
    store = Store(tmp_path / "r.db", lambda: datetime(2025, 3, 1, tzinfo=UTC))
    await store.open()
    try:

        def fill(db: Database) -> None:
            alert = {"team_id": "T", "user_id": "U", "channel_id": "C", "kind": "alert"}
            for send_id, closed in ((1, old), (2, None)):
                db["sends"].insert({"id": send_id, **alert, "content": "x", "created": old})
                db["recipients"].insert(
                    {
                        "send_id": send_id,
                        "msg_id": f"m{send_id}",
                        "mobile": "2348031000010",
                        "state": "delivered",
                        "updated": old,
                    }
                )
                db["alert_groups"].insert(
                    {
                        "integration_id": 1,
                        "integration": "db",
                        "group_key": f"g{send_id}",
                        "send_id": send_id,
                        "opened": old,
                        "closed": closed,
                        "notice": "{}",
                    }
                )
                db["alert_notes"].insert(
                    {"send_id": send_id, "kind": "firing", "text": "t", "created": old, "said": 1}
                )

        await store.write(fill)
        assert await Retention(store).prune(datetime(2025, 2, 1, tzinfo=UTC)) == 1
        left = await store.read(
            lambda db: (
                [
                    [row[0] for row in db.execute(f"SELECT send_id FROM {table}")]
                    for table in ("recipients", "alert_groups", "alert_notes")
                ]
                + [[row[0] for row in db.execute("SELECT id FROM sends")]]
            )
        )
        assert left == [[2], [2], [2], [2]]
    finally:
        await store.close()
