"""`/sms send` end to end: signed Slack request → gateway → reports → the channel message."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.clock import SystemClock
from standins.local import DEMO_CHANNEL, LocalSystem
from standins.slack import ChannelMessage, plain
from tests.conftest import SystemFactory

DELIVERS = "+2348031000010"
FAILS = "+2348031000019"


def tracked(system: LocalSystem, channel: str = DEMO_CHANNEL) -> ChannelMessage | None:
    messages = system.slack.channel_messages(channel)
    return messages[0] if messages else None


def settled(system: LocalSystem, channel: str = DEMO_CHANNEL) -> ChannelMessage | None:
    message = tracked(system, channel)
    return message if message and " 0 pending" in message.text else None


async def test_send_posts_tracked_message_and_shows_delivery_and_failure(system: LocalSystem):
    status, ack = await system.slash(f"send {DELIVERS},{FAILS} Your code is 279275")
    assert status == 200
    assert "Sending your SMS to 2 numbers" in ack

    message = await system.wait_for(lambda: settled(system))
    assert "1 delivered, 1 failed, 0 pending" in message.text
    msg_id = system.gateway.sent[0]["msgId"]
    assert msg_id in message.text
    shown = plain(message)
    assert "Your code is 279275" in shown
    assert "+234 803 ••• 0010" in shown and "+234 803 ••• 0019" in shown
    assert "2348031000010" not in shown and "2348031000019" not in shown
    assert "undeliverable (UNDELIV)" in shown

    replies = await system.wait_for(lambda: system.slack.thread(DEMO_CHANNEL, message.ts))
    assert len(replies) == 1 and "0019" in replies[0].text

    body = system.gateway.sent[0]
    assert body["mobile"] == "2348031000010,2348031000019"
    assert body["content"] == "Your code is 279275"
    confirmation = system.slack.responses[-1]["text"]
    assert "+234 803 100 0010" in confirmation and msg_id in confirmation
    assert system.slack.responses[-1]["response_type"] == "ephemeral"


async def test_ack_comes_within_three_seconds_even_when_gateway_is_slow(make_system: SystemFactory):
    system = await make_system(env={"SMS_GATEWAY_TIMEOUT": "4"}, send_delay=3.5)
    started = time.monotonic()
    status, _ = await system.slash(f"send {DELIVERS} hello")
    assert status == 200
    assert time.monotonic() - started < 3
    message = await system.wait_for(lambda: tracked(system), timeout=10)
    assert "1 delivered" in (await system.wait_for(lambda: settled(system))).text
    assert message.ts


async def test_lost_gateway_answer_marks_recipients_unknown_and_never_resends(
    make_system: SystemFactory,
):
    system = await make_system(env={"SMS_GATEWAY_TIMEOUT": "0.5"}, send_delay=2)
    await system.slash(f"send {DELIVERS} hello")
    response = await system.wait_for(lambda: system.slack.responses)
    assert "did not answer" in response[0]["text"]
    assert "will not re-send" in response[0]["text"]
    message = await system.wait_for(lambda: tracked(system))
    assert "1 unknown" in message.text
    assert len(system.gateway.sent) == 1


async def test_report_before_send_answer_is_kept_and_applied(make_system: SystemFactory):
    system = await make_system(report_delay=0, send_delay=1.0)
    await system.slash(f"send {DELIVERS} early report")
    await system.gateway.wait_for_pushes(1, timeout=5)
    assert system.gateway.pushes[0]["answer"] == {"code": 0, "msg": "ok"}
    message = await system.wait_for(lambda: settled(system))
    assert "1 delivered, 0 failed, 0 pending" in message.text


async def test_large_send_is_split_and_coalesced_into_few_updates(make_system: SystemFactory):
    system = await make_system(
        env={"SMS_MAX_RECIPIENTS": "5000", "SMS_CONFIRM_ABOVE": "5000"},
        report_delay=0.5,
        fail_suffixes=(),
    )
    numbers = ",".join(f"+234803100{n:04d}" for n in range(1200))
    await system.slash(f"send {numbers} maintenance tonight")
    message = await system.wait_for(
        lambda: (m := tracked(system)) and "1200 delivered" in m.text and m, timeout=30
    )
    assert [len(b["mobile"].split(",")) for b in system.gateway.sent] == [1000, 200]
    assert len({b["msgId"] for b in system.gateway.sent}) == 2
    updates = system.slack.calls_to("chat.update")
    assert 1 <= len(updates) <= 20, len(updates)
    assert "0 failed, 0 pending" in message.text


async def test_bot_outside_private_channel_still_sends_and_updates_in_dm(
    system: LocalSystem,
):
    system.slack.refuse["G0PRIVATE"] = "not_in_channel"
    await system.slash(f"send {DELIVERS} hi", channel_id="G0PRIVATE", user_id="U0BOB")
    response = await system.wait_for(lambda: system.slack.responses)
    assert "direct messages" in response[0]["text"]
    assert len(system.gateway.sent) == 1
    message = await system.wait_for(lambda: settled(system, "D0BOB"))
    assert "1 delivered" in message.text


async def test_insufficient_balance_is_told_to_sender_only(make_system: SystemFactory):
    system = await make_system(balance=0)
    await system.slash(f"send {DELIVERS} hi")
    response = await system.wait_for(lambda: system.slack.responses)
    assert "Insufficient balance (gateway code 1009)" in response[0]["text"]
    assert response[0]["response_type"] == "ephemeral"
    assert system.slack.calls_to("chat.postMessage") == []


async def test_scheduled_send_passes_send_time_in_gateway_zone(make_system: SystemFactory):
    system = await make_system(env={"SMS_GATEWAY_TIMEZONE": "Asia/Shanghai"})
    when = datetime.now(ZoneInfo("Asia/Shanghai")) + timedelta(days=2)
    await system.slash(f'send {DELIVERS} later --at "{when:%Y-%m-%d} 09:30"')
    response = await system.wait_for(lambda: system.slack.responses)
    assert system.gateway.sent[0]["sendTime"] == f"{when:%Y%m%d}093000"
    assert "Asia/Shanghai" in response[0]["text"]
    message = await system.wait_for(lambda: tracked(system))
    assert "scheduled for" in plain(message) and "1 pending" in message.text


async def test_a_slow_slack_gets_one_tracked_message_per_send(make_system: SystemFactory):
    now = [datetime.now(UTC)]
    system = await make_system(clock=SystemClock(lambda: now[0]))
    system.slack.delays["chat.postMessage"] = 2.0
    await system.slash(f"send {DELIVERS} slow slack")
    await system.wait_for(lambda: system.slack.calls_to("chat.postMessage"))
    now[0] += timedelta(minutes=5)  # long past any grace for a message that was never posted
    response = await system.wait_for(lambda: system.slack.responses, timeout=10)
    assert "Delivery updates will appear on the message in the channel" in response[0]["text"]
    await asyncio.sleep(3)  # time in which a second post would have landed
    posts = [c for c in system.slack.calls_to("chat.postMessage") if "thread_ts" not in c.params]
    assert len(posts) == 1, [c.params.get("text") for c in posts]
    assert len(system.slack.channel_messages(DEMO_CHANNEL)) == 1
