"""Socket Mode: no HTTP door for Slack's requests, and the HTTP server never waits on Slack.

The bot runs for real against the Slack stand-in, which serves Socket Mode too
(`apps.connections.open` and a websocket, standins/socket_mode.py), so the bot's own
slack_sdk Socket Mode client connects over a real websocket. The HTTP side is the public
one in Socket Mode (the gateway pushes reports to it): it must not send SMS for anyone
who finds it, and it must answer reports while Slack is away or refuses the bot.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from dataclasses import replace
from typing import Any

import pytest

from server.link import SlackLink
from server.slack import web_client
from standins.local import DEMO_CHANNEL, SIGNING_SECRET, LocalSystem
from standins.slack import APP_TOKEN
from standins.slack_requests import signed_headers, slash_command_body
from tests.conftest import SystemFactory
from tests.stored import rows

SOCKET_MODE = {"SLACK_APP_TOKEN": APP_TOKEN}
DELIVERS = "+2348031000010"


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def started(make_system: SystemFactory, env: dict[str, str]) -> LocalSystem:
    """The bot with these settings, serving HTTP within seconds whatever Slack does."""
    async with asyncio.timeout(15):
        return await make_system(env)


async def health(system: LocalSystem) -> tuple[int, dict[str, Any]]:
    assert system.session is not None
    async with system.session.get(system.url + "/healthz") as reply:
        return reply.status, json.loads(await reply.text())


async def health_once_slack_is(
    system: LocalSystem, state: str, *, with_problem: bool = False
) -> dict[str, Any]:
    """/healthz's body once it says `slack: state` (and why); fails naming what it said."""
    body: dict[str, Any] = {}
    for _ in range(200):
        status, body = await health(system)
        assert status == 200, body
        if body.get("slack") == state and (not with_problem or "slack_problem" in body):
            return body
        await asyncio.sleep(0.05)
    raise AssertionError(f"/healthz never said slack={state!r}; last said {body}")


async def post_events(system: LocalSystem, body: str, headers: dict[str, str]) -> int:
    assert system.session is not None
    async with system.session.post(system.url + "/slack/events", data=body, headers=headers) as r:
        await r.read()
        return r.status


async def push_report(system: LocalSystem, msg_id: str) -> tuple[int, Any]:
    """What the gateway does with a delivery report (gateway-api.md §5)."""
    assert system.session is not None
    body = {"msgId": msg_id, "mobile": DELIVERS[1:], "status": 0, "errorCode": "DELIVRD"}
    headers = {"Content-Type": "application/json;charset=utf-8", **system.report_headers()}
    async with system.session.post(system.report_url, json=body, headers=headers) as reply:
        answer = reply.status, await reply.json()
    await system.reports_applied()  # stored when answered, applied just after
    return answer


def stored_reports(system: LocalSystem, msg_id: str) -> int:
    [(count,)] = rows(system, "SELECT count(*) FROM reports WHERE msg_id = ?", [msg_id])
    return int(count)


def errors_from(caplog: pytest.LogCaptureFixture, logger: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == logger and r.levelno >= 40]


# item 8: the door


async def test_in_socket_mode_unsigned_or_forged_commands_to_slack_events_send_no_sms(
    make_system: SystemFactory,
) -> None:
    system = await started(make_system, SOCKET_MODE)
    await system.wait_for(lambda: system.slack.socket_mode.connected)
    body = slash_command_body(
        "/sms",
        f"send {DELIVERS} from a stranger",
        "U0MALLORY",
        DEMO_CHANNEL,
        response_url=system.slack.new_response_url(),
    )
    unsigned = {"Content-Type": "application/x-www-form-urlencoded"}
    forged = signed_headers("not-the-signing-secret", body)
    signed = signed_headers(SIGNING_SECRET, body)
    statuses = [await post_events(system, body, h) for h in (unsigned, forged, signed)]
    # the control: the same command over the socket, as Slack delivers it, does send
    ack = await system.slack.socket_slash_command(f"send {DELIVERS} from alice")
    assert "Sending your SMS" in json.dumps(ack)
    await system.wait_for(lambda: system.slack.channel_messages(DEMO_CHANNEL))
    assert [sent["content"] for sent in system.gateway.sent] == ["from alice"]
    assert statuses == [404, 404, 404]


# item 9: the HTTP server comes up first, and health says how Slack is doing


async def test_while_slack_is_unreachable_reports_are_stored_and_health_says_connecting(
    make_system: SystemFactory,
) -> None:
    unreachable = f"http://127.0.0.1:{closed_port()}/api/"
    system = await started(make_system, {**SOCKET_MODE, "SLACK_API_URL": unreachable})
    assert await push_report(system, "240924162017564896") == (200, {"code": 0, "msg": "ok"})
    assert stored_reports(system, "240924162017564896") == 1
    body = await health_once_slack_is(system, "connecting", with_problem=True)
    assert body["ok"] is True and body["slack_mode"] == "socket"
    assert "unreachable" in body["slack_problem"]


@pytest.mark.parametrize("env", [{}, SOCKET_MODE], ids=["http", "socket"])
async def test_a_rejected_bot_token_is_one_error_line_naming_the_variable(
    make_system: SystemFactory, caplog: pytest.LogCaptureFixture, env: dict[str, str]
) -> None:
    caplog.set_level(logging.DEBUG)
    revoked = "xoxb-revoked-0123456789"
    system = await started(make_system, {**env, "SLACK_BOT_TOKEN": revoked})
    body = await health_once_slack_is(system, "token rejected")
    assert body["slack_problem"] == "Slack rejected SLACK_BOT_TOKEN (invalid_auth)"
    assert await push_report(system, "240924162017564897") == (200, {"code": 0, "msg": "ok"})
    errors = errors_from(caplog, "server.link")
    assert len(errors) == 1, errors
    assert "SLACK_BOT_TOKEN" in errors[0]
    assert revoked not in caplog.text
    assert not system.slack.calls_to("apps.connections.open"), "no socket without a bot token"


async def test_a_rejected_app_token_is_one_error_line_naming_slack_app_token(
    make_system: SystemFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    wrong = "xapp-1-not-this-app-42"
    system = await started(make_system, {"SLACK_APP_TOKEN": wrong})
    body = await health_once_slack_is(system, "token rejected")
    assert body["slack_problem"] == "Slack rejected SLACK_APP_TOKEN (invalid_auth)"
    errors = errors_from(caplog, "server.link")
    assert len(errors) == 1 and "SLACK_APP_TOKEN" in errors[0], errors
    assert wrong not in caplog.text
    assert not system.slack.socket_mode.sockets


async def test_health_says_connected_once_the_socket_is_up(make_system: SystemFactory) -> None:
    system = await started(make_system, SOCKET_MODE)
    body = await health_once_slack_is(system, "connected")
    assert "slack_problem" not in body
    assert system.slack.socket_mode.connected
    assert [c.method for c in system.slack.calls][:2] == ["auth.test", "apps.connections.open"]


async def test_a_bot_started_while_slack_was_failing_connects_once_slack_answers(
    make_system: SystemFactory,
) -> None:
    system = await started(make_system, SOCKET_MODE)
    await health_once_slack_is(system, "connected")
    system.slack.fail_next["auth.test"] = ["internal_error"]
    await system.restart_bot()
    body = await health_once_slack_is(system, "connecting", with_problem=True)
    assert body["slack_problem"] == "Slack answered internal_error"
    await health_once_slack_is(system, "connected")
    assert len(system.slack.calls_to("auth.test")) == 3


async def test_retries_back_off_doubling_to_a_ceiling_and_say_a_rejection_once(
    system: LocalSystem, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    assert system.settings is not None
    delays: list[float] = []
    eight_tries = asyncio.Event()

    async def sleep(seconds: float) -> None:
        """The link's clock: records each wait instead of waiting, and holds after 8."""
        delays.append(seconds)
        if len(delays) == 8:
            eight_tries.set()
            await asyncio.Future()

    await health_once_slack_is(system, "connected")
    before = len(system.slack.calls_to("auth.test"))
    client = web_client(replace(system.settings, slack_bot_token="xoxb-wrong-token"))
    running = asyncio.create_task(SlackLink(client, sleep=sleep).run())
    try:
        await asyncio.wait_for(eight_tries.wait(), timeout=10)
    finally:
        running.cancel()
    assert delays == [1, 2, 4, 8, 16, 32, 60, 60]
    assert len(system.slack.calls_to("auth.test")) - before == 8
    errors = errors_from(caplog, "server.link")
    assert len(errors) == 1 and "SLACK_BOT_TOKEN" in errors[0], errors
