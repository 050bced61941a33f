"""Each terminal command checks only the settings it reads: a bad PORT cannot stop `audit`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.config import variable_names
from standins.gateway_simulator import GatewaySimulator, SimulatorConfig
from tests.cli import smsbot
from tests.stored import database_env

GARBAGE = "?? not valid ??"


@pytest.fixture
async def gateway_url() -> AsyncIterator[str]:
    sim = GatewaySimulator(SimulatorConfig(report_delay=0))
    try:
        yield await sim.start()
    finally:
        await sim.stop()


def everything_bad_but(**good: str) -> dict[str, str]:
    """Every variable the bot knows set to nonsense, except the ones given."""
    return {**dict.fromkeys(variable_names(), GARBAGE), **good}


def database(path: Path) -> dict[str, str]:
    """The database settings good: the SQLite file, and DATABASE_URL unset (it is read too),
    or set to the file's PostgreSQL database under tests/on_postgres.py."""
    return {"DATABASE_URL": "", **database_env(path)}


def gateway(url: str, **more: str) -> dict[str, str]:
    """The gateway's settings good, and every other setting bad unless given."""
    return everything_bad_but(
        SMS_API_URL=url,
        SMS_APP_KEY="10002",
        SMS_APP_SECRET="abc123",
        SMS_GATEWAY_TIMEOUT="5",
        LOG_LEVEL="INFO",
        **more,
    )


async def test_balance_reads_only_the_gateway_settings(tmp_path: Path, gateway_url: str):
    run = await smsbot(tmp_path, "balance", env=gateway(gateway_url))
    assert run.code == 0, run.stderr
    assert run.stdout.startswith("Balance: ")


async def test_send_and_status_read_only_what_a_send_needs(tmp_path: Path, gateway_url: str):
    env = gateway(
        gateway_url,
        **database(tmp_path / "bot.db"),
        SMS_SENDER_ID="ACME",
        SMS_SIGNATURE="-- ops",
        SMS_DEFAULT_REGION="NG",
    )
    sent = await smsbot(tmp_path, "send", "08031000010", "-m", "hi", env=env)
    assert sent.code == 0, sent.stderr
    msg_id = sent.stdout.split()[1].rstrip(":")
    status = await smsbot(tmp_path, "status", msg_id, "08031000010", env=env)
    assert status.code == 0, status.stderr
    assert "+234 803 100 0010" in status.stdout


async def test_audit_reads_only_the_database_settings(tmp_path: Path, gateway_url: str):
    stored = database(tmp_path / "bot.db")
    good = gateway(gateway_url, **stored, SMS_SENDER_ID="", SMS_SIGNATURE="")
    good["SMS_DEFAULT_REGION"] = ""
    assert (await smsbot(tmp_path, "send", "+2348031000010", "-m", "hi", env=good)).code == 0
    run = await smsbot(tmp_path, "audit", "--since", "1d", env=everything_bad_but(**stored))
    assert run.code == 0, run.stderr
    assert "+2348031000010" in run.stdout


async def test_a_setting_a_command_reads_is_still_checked(tmp_path: Path, gateway_url: str):
    run = await smsbot(tmp_path, "balance", env=gateway(gateway_url))
    assert run.code == 0
    bad_timeout = gateway(gateway_url)
    bad_timeout["SMS_GATEWAY_TIMEOUT"] = "soon"
    run = await smsbot(tmp_path, "balance", env=bad_timeout)
    assert run.code == 2
    assert run.problems == [
        "smsbot: SMS_GATEWAY_TIMEOUT='soon' is not valid: must be a number greater than 0"
    ]


async def test_serve_still_checks_everything(tmp_path: Path):
    run = await smsbot(tmp_path, "serve", env={"PORT": "http"})
    assert run.code == 2
    assert any(line.startswith("smsbot: PORT='http' is not valid") for line in run.problems)


async def test_a_gateway_error_is_said_once(tmp_path: Path, gateway_url: str):
    env = gateway(gateway_url, **database(tmp_path / "bot.db"))
    env.update(SMS_APP_SECRET="wrong", SMS_SENDER_ID="", SMS_SIGNATURE="", SMS_DEFAULT_REGION="")
    balance = await smsbot(tmp_path, "balance", env=env)
    assert balance.code == 1
    assert balance.problems == ["smsbot: The gateway rejected the app secret (gateway code 1003)"]
    send = await smsbot(tmp_path, "send", "+2348031000010", "-m", "hi", env=env)
    assert send.code == 1
    assert send.problems == [
        "1 number(s) not sent: The gateway rejected the app secret (gateway code 1003)"
    ]


async def test_a_sent_msgid_is_printed_once_and_debug_shows_the_log(
    tmp_path: Path, gateway_url: str
):
    env = gateway(gateway_url, **database(tmp_path / "bot.db"))
    env.update(SMS_SENDER_ID="", SMS_SIGNATURE="", SMS_DEFAULT_REGION="")
    quiet = await smsbot(tmp_path, "send", "+2348031000010", "-m", "hi", env=env)
    assert quiet.code == 0 and quiet.stderr == ""
    assert len(quiet.stdout.splitlines()) == 1 and "msgId" in quiet.stdout
    loud = await smsbot(
        tmp_path, "send", "+2348031000010", "-m", "hi", env={**env, "LOG_LEVEL": "DEBUG"}
    )
    assert loud.code == 0 and "SMS gateway accepted 1 number(s) as msgId" in loud.stderr
