"""`smsbot send` from a terminal: the same send path as Slack, and exit codes a script can trust.

Each phone is texted once however it is written; the signature and the default sender ID
apply; the send is written to DATABASE_PATH before the gateway is called and completed
after, so `smsbot audit` shows it, even when the command is killed mid-call. The exit code
says which of sent, rejected (nothing went out), unknown (may have gone out) or partly sent.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from standins.gateway_simulator import GatewaySimulator, SimulatorConfig
from standins.manual_clock import ManualClock
from tests.cli import REPO, smsbot
from tests.conftest import SystemFactory
from tests.stored import database_env, rows, with_database_url

SENT, REJECTED, UNKNOWN, PARTLY = 0, 1, 3, 4


@pytest.fixture
async def gateway() -> AsyncIterator[GatewaySimulator]:
    sim = GatewaySimulator(SimulatorConfig(report_delay=0))
    sim.url = await sim.start()  # type: ignore[attr-defined]
    try:
        yield sim
    finally:
        await sim.stop()


def env_for(sim: GatewaySimulator, **more: str) -> dict[str, str]:
    return {
        "SMS_API_URL": sim.url,  # type: ignore[attr-defined]
        "SMS_APP_KEY": sim.config.app_key,
        "SMS_APP_SECRET": sim.config.app_secret,
        "SMS_GATEWAY_TIMEOUT": "1",
        **more,
    }


def sends_made(sim: GatewaySimulator) -> list[dict[str, Any]]:
    return [body for op, body in sim.requests if op == "send"]


async def held(sim: GatewaySimulator, seconds: float = 20) -> None:
    """Return once the gateway has a send request in hand."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not sends_made(sim):
        assert loop.time() < deadline, "the send never reached the gateway"
        await asyncio.sleep(0.05)


async def audit(folder: Path) -> list[dict[str, Any]]:
    run = await smsbot(folder, "audit", "--since", "1d", "--format", "json")
    assert run.code == 0, run.stderr
    return list(json.loads(run.stdout))


async def test_each_phone_is_texted_once_however_it_is_written(
    tmp_path: Path, gateway: GatewaySimulator
) -> None:
    written = ("+2348031000010", "234 803 100 0010", "+234 803 100 0010,2348031000011")
    args = ("send", *written, "2348031000010", "-m", "hi")
    run = await smsbot(tmp_path, *args, env=env_for(gateway))
    assert run.code == SENT, run.stderr
    assert [body["mobile"] for body in sends_made(gateway)] == ["2348031000010,2348031000011"]
    assert "sent to 2 number(s)" in run.stdout


async def test_signature_default_sender_and_an_audit_row_like_a_slack_send(
    tmp_path: Path, gateway: GatewaySimulator
) -> None:
    env = env_for(gateway, SMS_SIGNATURE="ACME", SMS_SENDER_ID="ACMEINFO")
    run = await smsbot(tmp_path, "send", "+2348031000010", "-m", "hi", env=env)
    assert run.code == SENT, run.stderr
    (body,) = sends_made(gateway)
    assert (body["content"], body["senderID"]) == ("【ACME】hi", "ACMEINFO")

    (row,) = await audit(tmp_path)
    assert row["msg_id"] == gateway.sent[0]["msgId"]
    assert (row["mobile"], row["state"], row["content"]) == ("+2348031000010", "accepted", "hi")
    assert (row["kind"], row["sender_id"]) == ("cli", "ACMEINFO") and not row["channel_id"]


OUTCOMES: dict[str, tuple[dict[str, Any], int, str]] = {
    "refused with 1007": ({"send_code": 1007}, REJECTED, "not sent"),
    "refused for balance": ({"balance": Decimal(0)}, REJECTED, "gateway code 1009"),
    "9999": ({"send_code": 9999}, UNKNOWN, "may or may not have been sent"),
    "timeout": ({"send_delay": 2.0}, UNKNOWN, "may or may not have been sent"),
    "dropped connection": ({"send_drop": True}, UNKNOWN, "may or may not have been sent"),
}


@pytest.mark.parametrize("outcome", list(OUTCOMES))
async def test_exit_code_says_sent_rejected_or_unknown(
    tmp_path: Path, gateway: GatewaySimulator, outcome: str
) -> None:
    knobs, code, words = OUTCOMES[outcome]
    for name, value in knobs.items():
        setattr(gateway.config, name, value)
    gateway.balance = gateway.config.balance
    run = await smsbot(tmp_path, "send", "+2348031000010", "-m", "hi", env=env_for(gateway))
    assert run.code == code, (run.code, run.stderr)
    assert words in run.stderr, run.stderr
    assert "Traceback" not in run.stderr and "msgId" not in run.stdout
    if code == UNKNOWN:
        assert "not re-sent" in run.stderr, run.stderr
        (row,) = await audit(tmp_path)
        assert row["state"] == "unknown"
    else:
        assert await audit(tmp_path) == []
    assert len(sends_made(gateway)) == 1


async def test_a_send_partly_refused_exits_4_and_names_both_parts(
    tmp_path: Path, gateway: GatewaySimulator
) -> None:
    gateway.balance = Decimal("50.00")  # 1000 numbers at 0.05: the second batch is refused
    numbers = [f"+234803100{n:04d}" for n in range(1001)]
    run = await smsbot(tmp_path, "send", *numbers, "-m", "bulk", env=env_for(gateway))
    assert run.code == PARTLY, (run.code, run.stderr)
    assert "sent to 1000 number(s)" in run.stdout
    assert "1 number(s) not sent" in run.stderr and "gateway code 1009" in run.stderr


async def test_help_documents_the_exit_codes(tmp_path: Path) -> None:
    run = await smsbot(tmp_path, "send", "--help")
    assert run.code == 0
    for line in ("0  sent", "1  rejected", "3  unknown", "4  partly sent"):
        assert line in run.stdout, run.stdout


async def test_a_send_killed_while_the_gateway_holds_it_is_on_record_as_unknown(
    tmp_path: Path, gateway: GatewaySimulator
) -> None:
    gateway.config.send_delay = 60
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "PYTHONPATH": str(REPO),
        **env_for(gateway, SMS_GATEWAY_TIMEOUT="120"),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "smsbot",
        "send",
        "+2348031000010",
        "-m",
        "hi",
        cwd=tmp_path,
        env=with_database_url(env, tmp_path),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    await held(gateway)
    process.send_signal(signal.SIGKILL)
    await process.wait()

    (row,) = await audit(tmp_path)
    assert (row["mobile"], row["state"], row["msg_id"]) == ("+2348031000010", "unknown", None)


async def test_send_beside_a_running_bot_shares_its_database_and_posts_nothing(
    tmp_path: Path, make_system: SystemFactory
) -> None:
    clock = ManualClock()
    system = await make_system(clock=clock)
    assert system.settings is not None
    database = system.settings.database_path
    env = {**system.environment(), **database_env(database)}
    run = await smsbot(tmp_path, "send", "+2348031000010", "-m", "from cron", env=env)
    assert run.code == SENT, run.stderr
    sent = rows(env, "SELECT s.kind, r.msg_id FROM sends s JOIN recipients r ON r.send_id = s.id")
    assert sent == [("cli", system.gateway.sent[0]["msgId"])]
    await system.gateway.wait_for_pushes(1, timeout=10)  # the report is in the bot's database
    await clock.advance(10.0)  # the worker's rounds after it: none may post a message for it
    assert system.slack.calls_to("chat.postMessage") == []


@pytest.mark.sqlite_only("a DATABASE_PATH that is a directory; PostgreSQL has no file")
async def test_a_database_path_that_cannot_hold_the_record_sends_nothing(
    tmp_path: Path, gateway: GatewaySimulator
) -> None:
    folder = tmp_path / "a-directory"
    folder.mkdir()
    env = env_for(gateway, DATABASE_PATH=str(folder))
    run = await smsbot(tmp_path, "send", "+2348031000010", "-m", "hi", env=env)
    assert run.code == REJECTED, (run.code, run.stderr)
    assert run.problems == [run.problems[0]] and "DATABASE_PATH" in run.problems[0], run.stderr
    assert "nothing was sent" in run.stderr and "Traceback" not in run.stderr
    assert sends_made(gateway) == []


@pytest.mark.sqlite_only("a DATABASE_PATH in a missing directory; PostgreSQL has no file")
async def test_a_database_path_in_a_missing_directory_sends_nothing_and_creates_nothing(
    tmp_path: Path, gateway: GatewaySimulator
) -> None:
    missing = tmp_path / "no-such-folder"
    env = env_for(gateway, DATABASE_PATH=str(missing / "bot.db"))
    run = await smsbot(tmp_path, "send", "+2348031000010", "-m", "hi", env=env)
    assert run.code == REJECTED, (run.code, run.stderr)
    assert "DATABASE_PATH" in run.stderr and "Traceback" not in run.stderr
    assert not missing.exists()
    assert sends_made(gateway) == []


# One delivers, one fails (ends in 9); ids and times differ between two runs of the same sends.
BOTH_WAYS = ["+2348031000010", "+2348031000019"]
GIVEN_BY_THE_DATABASE = {"created", "send_id", "msg_id", "updated"}


async def send_then_audit(tmp_path: Path, sim: GatewaySimulator, database: dict[str, str]) -> Any:
    env = env_for(sim, SMS_SIGNATURE="— smsbot", **database)
    sent = await smsbot(tmp_path, "send", *BOTH_WAYS, "-m", "Disk full on db-1", env=env)
    assert sent.code == 0, sent.stderr
    again = await smsbot(tmp_path, "send", BOTH_WAYS[0], "-m", "Resolved", env=env)
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

    assert [row["mobile"] for row in on_postgres] == [*BOTH_WAYS, BOTH_WAYS[0]]
    assert on_postgres[0]["content"] == "Disk full on db-1"
    assert {row["kind"] for row in on_postgres} == {"cli"}
    assert all(row["msg_id"] for row in on_postgres)

    def steady(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{k: v for k, v in row.items() if k not in GIVEN_BY_THE_DATABASE} for row in rows]

    assert steady(on_postgres) == steady(on_sqlite)
    assert not (tmp_path / "pg" / "smsbot.db").exists(), "nothing went to a SQLite file"
