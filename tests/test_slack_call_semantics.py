"""What each Slack call promises (README, "What each Slack call promises"), under injected faults.

The Slack stand-in fails the next calls of a method as Slack can: an answer in which Slack
says no (`ok: false`), a 5xx, or a dropped connection, either before or after doing what
was asked (`act=True`: Slack posted, its answer was lost). What counts is what the channel
shows: nothing doubled, nothing promised lost.
"""

from __future__ import annotations

from typing import Any

import pytest

from standins.local import DEMO_CHANNEL, LocalSystem
from standins.slack import ChannelMessage, plain
from tests.conftest import SystemFactory
from tests.stored import rows

DELIVERS = "+2348031000010"
FAILS = "+2348031000019"
SENDER_DM = "D0ALICE"  # the stand-in's DM of the app with U0ALICE, who sends in these tests
FAST_PAGES = {"SMS_PAGE_TIMEOUT": "1", "SMS_POLL_AFTER": "3600"}
LOST_ANSWERS = [
    pytest.param({"status": 500, "act": True}, id="5xx after posting"),
    pytest.param({"drop": True, "act": True}, id="connection dropped after posting"),
]


def in_thread(params: dict[str, Any]) -> bool:
    return "thread_ts" in params


def broadcast(params: dict[str, Any]) -> bool:
    return bool(params.get("reply_broadcast"))


def is_alert(params: dict[str, Any]) -> bool:
    return broadcast(params) or params.get("channel") == "U0ALICE"


def tracked(system: LocalSystem) -> ChannelMessage | None:
    messages = system.slack.channel_messages(DEMO_CHANNEL)
    return messages[0] if messages else None


def replies(system: LocalSystem) -> list[ChannelMessage]:
    message = tracked(system)
    return system.slack.thread(DEMO_CHANNEL, message.ts) if message else []


def alerts(system: LocalSystem, channel: str | None = None) -> list[ChannelMessage]:
    """Page alerts: broadcast thread replies, and alerts moved to a DM."""
    return [
        m
        for m in system.slack.messages.values()
        if (m.broadcast or m.channel == SENDER_DM) and channel in (None, m.channel)
    ]


def stored(system: LocalSystem, sql: str) -> int:
    [(count,)] = rows(system, sql)
    return int(count)


def outbox_empty(system: LocalSystem) -> bool:
    """No channel update is due: the worker will make no more calls for these sends."""
    return stored(system, "SELECT count(*) FROM outbox") == 0


def alerts_settled(system: LocalSystem) -> bool:
    """Every alert is known to be in Slack: the escalator will not post about them again."""
    return stored(system, "SELECT count(*) FROM recipients WHERE escalated = 3") == 0 and bool(
        stored(system, "SELECT count(*) FROM recipients WHERE escalated = 1")
    )


async def page_carol(system: LocalSystem) -> None:
    """Page a person whose phone fails: the channel is to be alerted."""
    system.slack.users["U0CAROL"] = {"real_name": "Carol", "phone": "+234 803 100 0019"}
    await system.slash("page <@U0CAROL|carol> DB primary down")


# tracked message (chat.postMessage): one per send; a lost answer is looked for, not repeated


@pytest.mark.parametrize("fault", LOST_ANSWERS)
async def test_a_tracked_message_whose_answer_was_lost_is_found_and_kept_not_posted_twice(
    make_system: SystemFactory, fault: dict[str, Any]
):
    system = await make_system(report_delay=0.3)
    system.slack.fail("chat.postMessage", **fault)
    await system.slash(f"send {DELIVERS} hi")
    await system.wait_for(lambda: system.slack.responses, timeout=15)  # the command is done
    assert len(system.slack.channel_messages(DEMO_CHANNEL)) == 1
    await system.wait_for(lambda: system.slack.calls_to("conversations.history"), timeout=10)
    message = await system.wait_for(
        lambda: (m := tracked(system)) and "1 delivered" in m.text and m, timeout=10
    )
    assert system.slack.channel_messages(DEMO_CHANNEL) == [message]


async def test_a_fresh_send_is_posted_without_reading_slack_first(make_system: SystemFactory):
    """Only a post in doubt is looked for: a new send costs no history reads."""
    system = await make_system(report_delay=0.3)
    await system.slash(f"send {DELIVERS} hi")
    await system.wait_for(lambda: (m := tracked(system)) and "1 delivered" in m.text, timeout=10)
    assert len(system.slack.channel_messages(DEMO_CHANNEL)) == 1
    reads = ("conversations.history", "conversations.open", "conversations.replies")
    assert [c.method for c in system.slack.calls if c.method in reads] == []


# edit (chat.update): at least once, and idempotent, so the transport and the worker retry it


@pytest.mark.parametrize(
    "fault",
    [
        pytest.param({"status": 503}, id="5xx"),
        pytest.param({"drop": True}, id="connection dropped"),
        *LOST_ANSWERS,
    ],
)
async def test_an_edit_that_fails_in_passing_is_made_again_and_shows_the_last_state(
    make_system: SystemFactory, fault: dict[str, Any]
):
    system = await make_system(report_delay=0.3)
    system.slack.fail("chat.update", times=4, **fault)
    await system.slash(f"send {DELIVERS} hi")
    message = await system.wait_for(
        lambda: (m := tracked(system)) and "1 delivered" in m.text and m, timeout=20
    )
    assert len(system.slack.channel_messages(DEMO_CHANNEL)) == 1
    assert message.text.endswith("1 delivered, 0 failed, 0 pending")


# failure thread reply: at most once


@pytest.mark.parametrize("fault", LOST_ANSWERS)
async def test_a_thread_reply_whose_answer_was_lost_is_not_posted_again(
    make_system: SystemFactory, fault: dict[str, Any]
):
    system = await make_system(report_delay=0.3)
    system.slack.fail("chat.postMessage", only_if=in_thread, **fault)
    await system.slash(f"send {FAILS} hi")
    await system.wait_for(lambda: (m := tracked(system)) and "1 failed" in m.text)
    await system.wait_for(lambda: outbox_empty(system))  # nothing more to say about it
    assert len(replies(system)) == 1
    assert len([c for c in system.slack.calls_to("chat.postMessage") if in_thread(c.params)]) == 1


async def test_a_thread_reply_slack_refused_in_passing_is_posted_later_once(
    make_system: SystemFactory,
):
    system = await make_system(report_delay=0.3)
    system.slack.fail("chat.postMessage", times=2, only_if=in_thread, error="internal_error")
    await system.slash(f"send {FAILS} hi")
    await system.wait_for(lambda: replies(system) and outbox_empty(system), timeout=15)
    [reply] = replies(system)
    assert "could not be reached" in reply.text


# page alert: at least once, never twice


@pytest.mark.parametrize("fault", LOST_ANSWERS)
async def test_a_page_alert_whose_answer_was_lost_is_not_posted_twice(
    make_system: SystemFactory, fault: dict[str, Any]
):
    system = await make_system(env=FAST_PAGES)
    system.slack.fail("chat.postMessage", only_if=is_alert, **fault)
    await page_carol(system)
    await system.wait_for(lambda: alerts(system), timeout=10)
    # the escalator tries again with backoff, reads the thread, finds the alert, stops
    await system.wait_for(lambda: system.slack.calls_to("conversations.replies"), timeout=10)
    await system.wait_for(lambda: alerts_settled(system))
    [alert] = alerts(system)
    assert "<@U0CAROL>" in plain(alert) and "undeliverable (UNDELIV)" in plain(alert)


@pytest.mark.parametrize(
    "fault",
    [
        pytest.param({"status": 500}, id="5xx"),
        pytest.param({"drop": True}, id="connection dropped"),
        pytest.param({"error": "internal_error"}, id="Slack says no"),
        pytest.param({"error": "ratelimited", "status": 429}, id="rate limited"),
    ],
)
async def test_a_page_alert_that_failed_in_passing_is_posted_once_later(
    make_system: SystemFactory, fault: dict[str, Any]
):
    system = await make_system(env=FAST_PAGES)
    # more than the transport retries a rate limit: the escalator has to try again
    system.slack.fail(
        "chat.postMessage", times=4 if fault.get("status") == 429 else 2, only_if=is_alert, **fault
    )
    await page_carol(system)
    await system.wait_for(lambda: alerts(system), timeout=30)
    await system.wait_for(lambda: alerts_settled(system))
    [alert] = alerts(system)
    assert alert.thread_ts == tracked(system).ts
    assert any(b["type"] == "actions" for b in alert.blocks)


@pytest.mark.parametrize("acted", [True, False], ids=["it was posted", "it was not"])
async def test_a_page_alert_in_doubt_at_a_restart_is_looked_for_then_posted_once(
    make_system: SystemFactory, acted: bool
):
    system = await make_system(env=FAST_PAGES)
    system.slack.fail("chat.postMessage", only_if=is_alert, drop=True, act=acted)
    await page_carol(system)
    await system.wait_for(
        lambda: [c for c in system.slack.calls_to("chat.postMessage") if is_alert(c.params)]
    )
    await system.restart_bot()  # what it knew of that try is gone; what it stored is not
    await system.wait_for(lambda: system.slack.calls_to("conversations.replies"), timeout=10)
    await system.wait_for(lambda: alerts(system), timeout=10)
    await system.wait_for(lambda: alerts_settled(system))
    assert len(alerts(system)) == 1


# DM fallback: a channel that refuses the bot is replaced by the sender's DM with the app


async def test_a_page_alert_the_channel_refuses_goes_to_the_senders_dm(
    make_system: SystemFactory,
):
    system = await make_system(env=FAST_PAGES)
    system.slack.fail("chat.postMessage", only_if=broadcast, error="is_archived")
    await page_carol(system)
    [alert] = await system.wait_for(lambda: alerts(system, SENDER_DM), timeout=10)
    assert "<@U0CAROL>" in plain(alert)
    assert any(b["type"] == "actions" for b in alert.blocks)
    await system.wait_for(lambda: alerts_settled(system))
    assert alerts(system) == [alert]


@pytest.mark.parametrize("fault", LOST_ANSWERS)
async def test_a_page_alert_moved_to_the_dm_is_not_doubled_when_its_answer_is_lost(
    make_system: SystemFactory, fault: dict[str, Any]
):
    system = await make_system(env=FAST_PAGES)
    system.slack.fail("chat.postMessage", 5, only_if=broadcast, error="channel_not_found")
    system.slack.fail("chat.postMessage", only_if=lambda p: p["channel"] == "U0ALICE", **fault)
    await page_carol(system)
    await system.wait_for(lambda: alerts(system, SENDER_DM), timeout=10)
    await system.wait_for(lambda: system.slack.calls_to("conversations.history"), timeout=10)
    await system.wait_for(lambda: alerts_settled(system))
    assert len(alerts(system)) == 1
