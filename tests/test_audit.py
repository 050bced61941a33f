"""`smsbot audit` as a subprocess against the database of a bot that is still running.

The sends are real (a signed slash command, the gateway simulator, its reports), and the
export runs with only PATH, HOME and DATABASE_PATH set (and its DATABASE_URL under
tests/on_postgres.py): no Slack or gateway variables.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.audit import parse_when
from standins.local import DEMO_CHANNEL, LocalSystem
from standins.slack import ChannelMessage, plain
from storage import DatabaseInUse
from storage.lock import DatabaseLock
from tests.cli import Run, smsbot
from tests.conftest import SystemFactory
from tests.stored import on_postgres

DELIVERS = "+2348031000010"
FAILS = "+2348031000019"
HEADER = (
    "created,team_id,user_id,channel_id,kind,send_id,retry_of,msg_id,mobile,slack_user,state,"
    "reason,error_code,report_time,updated,sender_id,send_at,zone,content,reports,integration"
)


async def audit(cwd: Path, database: Path, *args: str) -> Run:
    """Run `smsbot audit ARGS` with DATABASE_PATH as the only setting (tests/cli.py)."""
    return await smsbot(cwd, "audit", *args, env={"DATABASE_PATH": str(database)})


def settled(system: LocalSystem) -> ChannelMessage | None:
    """The tracked message once every recipient has an outcome."""
    messages = system.slack.channel_messages(DEMO_CHANNEL)
    return messages[0] if messages and " 0 pending" in messages[0].text else None


def sent_message(system: LocalSystem, content: str) -> ChannelMessage | None:
    """The tracked message of the send with this text, once the bot has posted it."""
    found = [m for m in system.slack.channel_messages(DEMO_CHANNEL) if content in plain(m)]
    return found[0] if found else None


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


async def test_audit_exports_sends_while_the_bot_runs(make_system: SystemFactory, tmp_path: Path):
    system = await make_system()
    await system.slash(f"send {DELIVERS},{FAILS} Your code is 279275 — ça marche")
    await system.wait_for(lambda: settled(system))
    msg_id = system.gateway.sent[0]["msgId"]

    if not on_postgres(system):  # The bot still holds its file's lock: audit must not need it.
        with pytest.raises(DatabaseInUse):
            DatabaseLock(system.database).acquire()

    day_after = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%d")
    as_csv, as_json, recent, future, future_json, before = await asyncio.gather(
        audit(tmp_path, system.database, "--since", "2000-01-01"),
        audit(tmp_path, system.database, "--since", "2000-01-01 00:00", "--format", "json"),
        audit(tmp_path, system.database, "--since", "1h", "--until", day_after),
        audit(tmp_path, system.database, "--since", day_after),
        audit(tmp_path, system.database, "--since", day_after, "--format", "json"),
        audit(tmp_path, system.database, "--since", "1h", "--until", "1m"),
    )

    assert as_csv.code == 0, as_csv.stderr
    assert as_csv.stdout.splitlines()[0] == HEADER
    found = rows(as_csv.stdout)
    assert [(r["mobile"], r["state"]) for r in found] == [
        (DELIVERS, "delivered"),
        (FAILS, "failed"),
    ]
    for row in found:
        assert row["user_id"] == "U0ALICE"
        assert row["channel_id"] == DEMO_CHANNEL
        assert row["team_id"]
        assert row["kind"] == "send"
        assert row["msg_id"] == msg_id
        assert row["content"] == "Your code is 279275 — ça marche"
        assert row["created"].endswith("+00:00")
        assert int(row["reports"]) >= 1
    assert found[1]["error_code"] == "UNDELIV"

    assert as_json.code == 0, as_json.stderr
    objects = json.loads(as_json.stdout)
    assert "ça marche" in as_json.stdout  # UTF-8, not \\u escapes
    assert [list(o) for o in objects] == [HEADER.split(",")] * 2
    as_text = [{k: "" if v is None else str(v) for k, v in o.items()} for o in objects]
    assert as_text == found
    assert isinstance(objects[0]["send_id"], int) and objects[0]["retry_of"] is None

    assert recent.code == 0 and rows(recent.stdout) == found
    assert future.code == 0 and future.stdout.splitlines() == [HEADER]
    assert future_json.code == 0 and json.loads(future_json.stdout) == []
    assert before.code == 0 and rows(before.stdout) == []

    # The bot went on unaffected: a later send settles and shows up too.
    await system.slash(f"send {DELIVERS} second")
    await system.wait_for(lambda: sent_message(system, "second"))
    later = await audit(tmp_path, system.database, "--since", "1d")
    assert [r["content"] for r in rows(later.stdout)][-1] == "second"


async def test_output_file_is_owner_only(make_system: SystemFactory, tmp_path: Path):
    system = await make_system()
    await system.slash(f"send {DELIVERS} private")
    await system.wait_for(lambda: sent_message(system, "private"))
    target = tmp_path / "audit.json"
    target.write_text("old")
    target.chmod(0o644)  # an existing file is tightened too

    done = await audit(
        tmp_path, system.database, "--since", "7d", "--format", "json", "--output", str(target)
    )

    assert done.code == 0, done.stderr
    assert done.stdout == ""
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    [row] = json.loads(target.read_text(encoding="utf-8"))
    assert row["mobile"] == DELIVERS and row["content"] == "private"


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["--since", "yesterday"], "--since"),
        (["--since", "2024-13-01"], "--since"),
        (["--since", "7d", "--until", "soon"], "--until"),
        (["--since", "2024-02-01", "--until", "2024-01-01"], "--until"),
    ],
)
async def test_bad_times_are_one_line_and_exit_2(tmp_path: Path, args: list[str], option: str):
    done = await audit(tmp_path, tmp_path / "smsbot.db", *args)
    assert done.code == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and option in lines[0], done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""


@pytest.mark.sqlite_only("a DATABASE_PATH naming no file; a PostgreSQL database has no path")
async def test_missing_database_is_one_line_and_exit_2(tmp_path: Path):
    target = tmp_path / "out.csv"
    done = await audit(tmp_path, tmp_path / "nope.db", "--since", "7d", "--output", str(target))
    assert done.code == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "nope.db" in lines[0] and "DATABASE_PATH" in lines[0]
    assert "Traceback" not in done.stderr
    assert not target.exists()
    assert not (tmp_path / "nope.db").exists()  # read-only: never creates the database


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7d", datetime(2024, 5, 3, 12, 30, tzinfo=UTC)),
        ("24h", datetime(2024, 5, 9, 12, 30, tzinfo=UTC)),
        ("30m", datetime(2024, 5, 10, 12, 0, tzinfo=UTC)),
        ("2024-05-01", datetime(2024, 5, 1, tzinfo=UTC)),
        ("2024-05-01 08:15", datetime(2024, 5, 1, 8, 15, tzinfo=UTC)),
    ],
)
def test_parse_when(text: str, expected: datetime):
    assert parse_when(text, datetime(2024, 5, 10, 12, 30, tzinfo=UTC)) == expected


async def test_audit_of_a_postgresql_database_no_bot_has_used_says_so_in_one_line(
    tmp_path: Path, postgres_url: str
) -> None:
    """A database no bot has used yet has no tables: the audit says so in one line."""
    audit = await smsbot(
        tmp_path, "audit", "--since", "1d", "--format", "json", env={"DATABASE_URL": postgres_url}
    )
    assert audit.code == 2
    assert len(audit.problems) == 1 and "is it an smsbot database?" in audit.problems[0]
