"""`python -m smsbot` as a subprocess: configuration errors, `.env`, and the terminal commands.

Each run gets a temporary working directory (so no stray `.env` is read) and an
environment holding only PATH, HOME and PYTHONPATH plus what the test sets. The gateway
simulator runs in the test's loop, and the CLI is awaited with create_subprocess_exec so
the simulator keeps serving while the command talks to it.
"""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.config import variable_names
from standins.gateway_simulator import GatewaySimulator, SimulatorConfig
from tests.cli import REPO, Run, smsbot

REQUIRED_FOR_SERVE = (
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SMS_API_URL",
    "SMS_APP_KEY",
    "SMS_APP_SECRET",
)


@pytest.fixture
async def simulator() -> AsyncIterator[tuple[GatewaySimulator, str]]:
    """A gateway simulator on loopback that never pushes (no report URL)."""
    sim = GatewaySimulator(SimulatorConfig(report_delay=0))
    url = await sim.start()
    try:
        yield sim, url
    finally:
        await sim.stop()


def gateway_env(url: str, **overrides: str) -> dict[str, str]:
    return {"SMS_API_URL": url, "SMS_APP_KEY": "10002", "SMS_APP_SECRET": "abc123", **overrides}


def no_traceback(run: Run) -> None:
    assert "Traceback" not in run.stderr
    assert "Traceback" not in run.stdout


# bad configuration


async def test_serve_with_nothing_set_names_each_missing_variable(tmp_path: Path) -> None:
    run = await smsbot(tmp_path, "serve")
    assert run.code == 2
    no_traceback(run)
    assert len(run.problems) == len(REQUIRED_FOR_SERVE), run.stderr
    for name, line in zip(REQUIRED_FOR_SERVE, run.problems, strict=True):
        assert name in line
        assert "required" in line


async def test_terminal_command_needs_only_the_gateway_variables(tmp_path: Path) -> None:
    run = await smsbot(tmp_path, "balance")
    assert run.code == 2
    no_traceback(run)
    assert "SLACK_" not in run.stderr
    assert [n for n in REQUIRED_FOR_SERVE if n in run.stderr] == list(REQUIRED_FOR_SERVE[2:])
    assert len(run.problems) == 3


async def test_malformed_values_are_each_named_on_their_own_line(tmp_path: Path) -> None:
    env = {
        "SLACK_BOT_TOKEN": "xoxb-1",
        "SLACK_SIGNING_SECRET": "s",
        **gateway_env("ftp://gateway.example"),
        "PORT": "http",
        "SMS_DEFAULT_REGION": "XX",
    }
    run = await smsbot(tmp_path, "serve", env=env)
    assert run.code == 2
    no_traceback(run)
    assert len(run.problems) == 3, run.stderr
    named = {
        name: line for line in run.problems for name in ("SMS_API_URL", "PORT") if name in line
    }
    assert "ftp://gateway.example" in named["SMS_API_URL"]
    assert "'http'" in named["PORT"]
    assert any(line.startswith("smsbot: SMS_DEFAULT_REGION=") for line in run.problems)


@pytest.mark.parametrize("port", ["-1", "65536", "3000x", "1e3"])
async def test_port_outside_range_or_not_a_number_is_refused(tmp_path: Path, port: str) -> None:
    env = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", **gateway_env("http://gw")}
    run = await smsbot(tmp_path, "serve", env={**env, "PORT": port})
    assert run.code == 2
    no_traceback(run)
    assert len(run.problems) == 1 and "PORT" in run.problems[0]


async def test_bot_token_of_the_wrong_kind_is_refused(tmp_path: Path) -> None:
    env = {"SLACK_BOT_TOKEN": "xapp-1", "SLACK_SIGNING_SECRET": "s", **gateway_env("http://gw")}
    run = await smsbot(tmp_path, "serve", env=env)
    assert run.code == 2
    assert len(run.problems) == 1 and "SLACK_BOT_TOKEN" in run.problems[0]
    assert "xoxb-" in run.problems[0]


async def test_a_malformed_token_is_named_without_printing_its_value(tmp_path: Path) -> None:
    user_token, app_token = "xoxp-12345-user-token-value", "xoxb-67890-not-an-app-token"
    env = {
        "SLACK_BOT_TOKEN": user_token,
        "SLACK_APP_TOKEN": app_token,
        "SLACK_SIGNING_SECRET": "s",
        **gateway_env("http://gw"),
    }
    run = await smsbot(tmp_path, "serve", env=env)
    assert run.code == 2
    assert [line.split()[1] for line in run.problems] == ["SLACK_APP_TOKEN", "SLACK_BOT_TOKEN"]
    assert "xoxb-" in run.stderr and "xapp-" in run.stderr, "the rule is still said"
    for secret in (user_token, app_token, "12345", "67890"):
        assert secret not in run.stderr + run.stdout


async def test_unreachable_gateway_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    run = await smsbot(tmp_path, "balance", env=gateway_env("http://127.0.0.1:9"))
    assert run.code == 1
    no_traceback(run)
    assert "Could not connect to the SMS gateway" in run.stderr
    assert "abc123" not in run.stderr


# .env


async def test_env_file_is_read_and_real_environment_wins(
    tmp_path: Path, simulator: tuple[GatewaySimulator, str]
) -> None:
    _, url = simulator
    (tmp_path / ".env").write_text(
        f"SMS_API_URL={url}\nSMS_APP_KEY=wrong-key\nSMS_APP_SECRET=abc123\n"
    )
    run = await smsbot(tmp_path, "balance", env={"SMS_APP_KEY": "10002"})
    assert run.code == 0, run.stderr
    assert run.stdout.strip() == "Balance: 100.00 CNY"


async def test_env_file_values_are_used_when_environment_is_silent(
    tmp_path: Path, simulator: tuple[GatewaySimulator, str]
) -> None:
    # the control for the test above: the .env's wrong key really is what the CLI sends
    sim, url = simulator
    (tmp_path / ".env").write_text(
        f"SMS_API_URL={url}\nSMS_APP_KEY=wrong-key\nSMS_APP_SECRET=abc123\n"
    )
    run = await smsbot(tmp_path, "balance")
    assert run.code == 1
    no_traceback(run)
    assert "gateway code 1002" in run.stderr
    assert [op for op, _ in sim.requests] == ["balance"]


# the gateway from a terminal


async def test_send_prints_the_msgid_the_gateway_gave(
    tmp_path: Path, simulator: tuple[GatewaySimulator, str]
) -> None:
    sim, url = simulator
    run = await smsbot(tmp_path, "send", "+2348031000010", "-m", "hi", env=gateway_env(url))
    assert run.code == 0, run.stderr
    assert len(sim.sent) == 1
    assert sim.sent[0]["mobile"] == "2348031000010"
    assert sim.sent[0]["content"] == "hi"
    msg_id = sim.sent[0]["msgId"]
    assert f"msgId {msg_id}: sent to 1 number(s)" in run.stdout


async def test_send_with_sender_and_number_list(
    tmp_path: Path, simulator: tuple[GatewaySimulator, str]
) -> None:
    sim, url = simulator
    args = ("send", "+2348031000010,2348031000011", "-m", "hi all", "--from", "ACME")
    run = await smsbot(tmp_path, *args, env=gateway_env(url))
    assert run.code == 0, run.stderr
    assert sim.sent[0]["mobile"] == "2348031000010,2348031000011"
    assert sim.sent[0]["senderID"] == "ACME"
    assert "sent to 2 number(s)" in run.stdout


async def test_send_to_a_bad_number_fails_before_the_gateway(
    tmp_path: Path, simulator: tuple[GatewaySimulator, str]
) -> None:
    sim, url = simulator
    run = await smsbot(tmp_path, "send", "+23480", "-m", "hi", env=gateway_env(url))
    assert run.code == 1
    no_traceback(run)
    assert "+23480" in run.stderr
    assert sim.requests == []


async def test_send_refused_by_gateway_exits_non_zero_with_its_code(
    tmp_path: Path, simulator: tuple[GatewaySimulator, str]
) -> None:
    sim, url = simulator
    sim.balance = sim.balance * 0
    run = await smsbot(tmp_path, "send", "+2348031000010", "-m", "hi", env=gateway_env(url))
    assert run.code == 1
    no_traceback(run)
    assert "gateway code 1009" in run.stderr
    assert "msgId" not in run.stdout


async def test_status_prints_each_numbers_report(
    tmp_path: Path, simulator: tuple[GatewaySimulator, str]
) -> None:
    _, url = simulator
    sent = await smsbot(
        tmp_path, "send", "+2348031000010,+2348031000019", "-m", "hi", env=gateway_env(url)
    )
    match = re.search(r"msgId (\d+)", sent.stdout)
    assert match, sent.stdout
    msg_id = match[1]
    run = await smsbot(
        tmp_path, "status", msg_id, "+2348031000010", "+2348031000019", env=gateway_env(url)
    )
    assert run.code == 0, run.stderr
    lines = run.stdout.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"{msg_id} +234 803 100 0010 status=0 errorCode=DELIVRD")
    assert lines[1].startswith(f"{msg_id} +234 803 100 0019 status=2 errorCode=UNDELIV")


async def test_status_for_a_report_not_back_yet_says_status_1(tmp_path: Path) -> None:
    sim = GatewaySimulator(SimulatorConfig(report_delay=600))
    url = await sim.start()
    try:
        await smsbot(tmp_path, "send", "+2348031000010", "-m", "hi", env=gateway_env(url))
        msg_id = sim.sent[0]["msgId"]
        run = await smsbot(tmp_path, "status", msg_id, "+2348031000010", env=gateway_env(url))
    finally:
        await sim.stop()
    assert run.code == 0, run.stderr
    assert f"{msg_id} +234 803 100 0010 status=1" in run.stdout


async def test_demo_runs_a_round_trip_and_exits_0(tmp_path: Path) -> None:
    run = await smsbot(tmp_path, "demo", limit=30)
    assert run.code == 0, run.stderr
    no_traceback(run)
    assert "1 delivered" in run.stdout
    assert "1 failed" in run.stdout
    assert "undeliverable (UNDELIV)" in run.stdout
    left = await asyncio.to_thread(lambda: list(tmp_path.iterdir()))
    assert left == []  # the demo's database was temporary, not smsbot.db in cwd


# .env.example


def test_env_example_documents_every_variable() -> None:
    example = REPO / ".env.example"
    assert example.is_file(), ".env.example is missing at the repository root"
    text = example.read_text()
    missing = [
        name
        for name in variable_names()
        if not re.search(rf"^[ \t]*#?[ \t]*{re.escape(name)}=", text, re.MULTILINE)
    ]
    assert missing == [], f".env.example does not mention {missing}"


def test_variable_names_cover_the_documented_settings() -> None:
    names = variable_names()
    documented = {
        "SLACK_BOT_TOKEN",
        "SLACK_SIGNING_SECRET",
        "SLACK_APP_TOKEN",
        "SLACK_API_URL",
        "SMS_API_URL",
        "SMS_APP_KEY",
        "SMS_APP_SECRET",
        "SMS_REPORT_PATH",
        "DATABASE_PATH",
        "HOST",
        "PORT",
    }
    assert documented <= set(names)
    assert len(names) == len(set(names))


def closed_port() -> int:
    """A loopback port nothing listens on: a connection there is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("command", [["serve"], ["audit", "--since", "1d"]])
async def test_an_unreachable_database_url_is_one_line_that_never_shows_its_password(
    tmp_path: Path, command: list[str]
) -> None:
    url = f"postgresql://smsbot:hunter2-password@127.0.0.1:{closed_port()}/smsbot"
    env = {
        "SLACK_BOT_TOKEN": "xoxb-1",
        "SLACK_SIGNING_SECRET": "s",
        "DATABASE_URL": url,
        **gateway_env("http://gw"),
    }
    run = await smsbot(tmp_path, *command, env=env)
    assert run.code == 2
    assert len(run.problems) == 1, run.stderr
    assert "DATABASE_URL could not be opened" in run.problems[0]
    assert "127.0.0.1" in run.problems[0], "it says which server did not answer"
    assert "hunter2" not in run.stderr + run.stdout
    assert not (tmp_path / "smsbot.db").exists(), "nothing was written to SQLite instead"


async def test_database_url_of_another_kind_says_it_must_be_postgresql(tmp_path: Path) -> None:
    env = {"DATABASE_URL": "mysql://db.example.com/smsbot"}
    run = await smsbot(tmp_path, "audit", "--since", "1d", env=env)
    assert run.code == 2
    assert len(run.problems) == 1 and "postgresql://" in run.problems[0]
