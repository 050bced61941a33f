"""Socket Mode: no HTTP door for Slack's requests.

The bot runs for real against the Slack stand-in, which serves Socket Mode too
(`apps.connections.open` and a websocket, standins/socket_mode.py), so the bot's own
slack_sdk Socket Mode client connects over a real websocket. The HTTP side is the public
one in Socket Mode (the gateway pushes reports to it): it must not send SMS for anyone
who finds it.
"""

from __future__ import annotations

import asyncio
import json

from standins.local import DEMO_CHANNEL, SIGNING_SECRET, LocalSystem
from standins.slack import APP_TOKEN
from standins.slack_requests import signed_headers, slash_command_body
from tests.conftest import SystemFactory

SOCKET_MODE = {"SLACK_APP_TOKEN": APP_TOKEN}
DELIVERS = "+2348031000010"


async def started(make_system: SystemFactory, env: dict[str, str]) -> LocalSystem:
    """The bot with these settings, serving HTTP within seconds whatever Slack does."""
    async with asyncio.timeout(15):
        return await make_system(env)


async def post_events(system: LocalSystem, body: str, headers: dict[str, str]) -> int:
    assert system.session is not None
    async with system.session.post(system.url + "/slack/events", data=body, headers=headers) as r:
        await r.read()
        return r.status


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
