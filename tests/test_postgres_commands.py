"""`smsbot send` and `smsbot audit` with DATABASE_URL: the same commands, the same rows.

Each command runs as a process against a real PostgreSQL server (tests/postgres.py) and
the gateway simulator; the same sends made through SQLite give the same audit, column for
column, but for the ids and times each database gave them.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from standins.gateway_simulator import GatewaySimulator, SimulatorConfig
from tests.cli import smsbot

NUMBERS = ["+2348031000010", "+2348031000019"]  # one delivers, one fails (ends in 9)
# Given by the database or the clock: differ between two runs of the same sends.
VARYING = {"created", "send_id", "msg_id", "updated"}


@pytest.fixture
async def gateway() -> AsyncIterator[GatewaySimulator]:
    sim = GatewaySimulator(SimulatorConfig(report_delay=0))
    sim.url = await sim.start()  # type: ignore[attr-defined]
    try:
        yield sim
    finally:
        await sim.stop()


async def send_then_audit(tmp_path: Path, sim: GatewaySimulator, database: dict[str, str]) -> Any:
    env = {
        "SMS_API_URL": sim.url,  # type: ignore[attr-defined]
        "SMS_APP_KEY": sim.config.app_key,
        "SMS_APP_SECRET": sim.config.app_secret,
        "SMS_SIGNATURE": "— smsbot",
        **database,
    }
    sent = await smsbot(tmp_path, "send", *NUMBERS, "-m", "Disk full on db-1", env=env)
    assert sent.code == 0, sent.stderr
    again = await smsbot(tmp_path, "send", NUMBERS[0], "-m", "Resolved", env=env)
    assert again.code == 0, again.stderr
    audit = await smsbot(tmp_path, "audit", "--since", "1d", "--format", "json", env=database)
    assert audit.code == 0, audit.stderr
    return json.loads(audit.stdout)


async def test_send_and_audit_on_postgresql_give_the_rows_they_give_on_sqlite(
    tmp_path: Path, gateway: GatewaySimulator, postgres_url: str
) -> None:
    (tmp_path / "pg").mkdir()
    (tmp_path / "lite").mkdir()
    on_postgres = await send_then_audit(tmp_path / "pg", gateway, {"DATABASE_URL": postgres_url})
    on_sqlite = await send_then_audit(
        tmp_path / "lite", gateway, {"DATABASE_PATH": str(tmp_path / "lite" / "smsbot.db")}
    )

    assert [row["mobile"] for row in on_postgres] == [*NUMBERS, NUMBERS[0]]
    assert on_postgres[0]["content"] == "Disk full on db-1"
    assert {row["kind"] for row in on_postgres} == {"cli"}
    assert all(row["msg_id"] for row in on_postgres)

    def steady(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{k: v for k, v in row.items() if k not in VARYING} for row in rows]

    assert steady(on_postgres) == steady(on_sqlite)
    assert not (tmp_path / "pg" / "smsbot.db").exists(), "nothing went to a SQLite file"


async def test_audit_of_a_postgresql_database_no_bot_has_used_says_so_in_one_line(
    tmp_path: Path, postgres_url: str
) -> None:
    """A database no bot has used yet has no tables: the audit says so in one line."""
    audit = await smsbot(
        tmp_path, "audit", "--since", "1d", "--format", "json", env={"DATABASE_URL": postgres_url}
    )
    assert audit.code == 2
    assert len(audit.problems) == 1 and "is it an smsbot database?" in audit.problems[0]
