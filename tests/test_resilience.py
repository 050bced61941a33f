"""Delivery reaches the channel when pushes never come, Slack misbehaves, or two bots collide."""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.clock import SystemClock
from standins.local import DEMO_CHANNEL, LocalSystem
from standins.manual_clock import ManualClock
from standins.slack import ChannelMessage, plain
from tests.cli import smsbot
from tests.conftest import SystemFactory
from tests.stored import rows

DELIVERS = "+2348031000010"
FAILS = "+2348031000019"
POLL_FAST = {"SMS_POLL_AFTER": "0.3", "SMS_POLL_INTERVAL": "0.2"}


def status_queries(system: LocalSystem) -> int:
    return sum(1 for op, _ in system.gateway.requests if op == "status")


def message_with(system: LocalSystem, words: str, channel: str = DEMO_CHANNEL) -> ChannelMessage:
    return next((m for m in system.slack.channel_messages(channel) if words in m.text), None)


async def test_with_push_off_delivery_reaches_the_channel_by_polling(make_system: SystemFactory):
    system = await make_system(env=POLL_FAST, push_reports=False, report_delay=0.1)
    await system.slash(f"send {DELIVERS},{FAILS} no webhook here")
    message = await system.wait_for(lambda: message_with(system, "1 delivered, 1 failed"))
    assert system.gateway.pushes == []
    assert "undeliverable (UNDELIV)" in plain(message)
    queries = [body for op, body in system.gateway.requests if op == "status"]
    assert queries and all(len(q["data"]) <= 500 for q in queries)


async def test_polling_asks_again_with_growing_gaps_while_no_report(make_system: SystemFactory):
    clock = ManualClock()
    polling = {"SMS_POLL_AFTER": "0.3", "SMS_POLL_INTERVAL": "0.05"}
    system = await make_system(env=polling, clock=clock, push_reports=False, silent_suffixes=("7",))
    await system.slash("send +2348031000017 anyone?")
    await system.wait_for(lambda: system.gateway.sent)  # the send was written down at 0
    await clock.advance_until(lambda: system.slack.channel_messages(DEMO_CHANNEL), step=0.05)
    asked_at: list[float] = []  # the bot's time of each status query
    while clock.monotonic() < 6.0:
        before = status_queries(system)
        await clock.advance(0.05)
        asked_at += [clock.monotonic()] * (status_queries(system) - before)
    # 0.3 s after the send, then again 0.3, 0.6, 1.2, 2.4 s later, and never in between
    assert asked_at == pytest.approx([0.3, 0.6, 1.2, 2.4, 4.8]), asked_at
    assert "1 pending" in system.slack.channel_messages(DEMO_CHANNEL)[0].text


async def test_polling_covers_a_thousand_recipients_in_requests_of_500(
    make_system: SystemFactory,
):
    system = await make_system(
        env={**POLL_FAST, "SMS_MAX_RECIPIENTS": "5000", "SMS_CONFIRM_ABOVE": "5000"},
        push_reports=False,
        fail_suffixes=(),
    )
    numbers = ",".join(f"+234803100{n:04d}" for n in range(1001))
    await system.slash(f"send {numbers} bulk")
    await system.wait_for(lambda: message_with(system, "1001 delivered"), timeout=20)
    sizes = [len(body["data"]) for op, body in system.gateway.requests if op == "status"]
    assert max(sizes) <= 500 and sum(sizes) >= 1001


async def test_after_thirty_days_without_report_the_state_becomes_unknown(
    make_system: SystemFactory,
):
    offset = timedelta(0)
    system = await make_system(
        env=POLL_FAST,
        push_reports=False,
        silent_suffixes=("7",),
        clock=SystemClock(lambda: datetime.now(UTC) + offset),
    )
    await system.slash("send +2348031000017 into the void")
    await system.wait_for(lambda: system.slack.channel_messages(DEMO_CHANNEL))
    offset = timedelta(days=31)
    message = await system.wait_for(lambda: message_with(system, "1 unknown"))
    assert "no delivery report within the gateway's 30 days" in plain(message)


@pytest.mark.parametrize(
    ("error", "where"),
    [("message_not_found", DEMO_CHANNEL), ("channel_not_found", "D0ALICE")],
)
async def test_a_lost_tracked_message_is_posted_again_where_it_can_be(
    make_system: SystemFactory, error: str, where: str
):
    system = await make_system(report_delay=0.5)
    system.slack.fail_next["chat.update"] = [error]
    if error == "channel_not_found":
        system.slack.refuse[DEMO_CHANNEL] = error
    await system.slash(f"send {DELIVERS} hi")
    if error == "channel_not_found":
        await system.wait_for(lambda: system.slack.channel_messages("D0ALICE"))
    else:
        await system.wait_for(lambda: system.slack.channel_messages(DEMO_CHANNEL))
    message = await system.wait_for(lambda: message_with(system, "1 delivered", where))
    assert message.text.endswith("1 delivered, 0 failed, 0 pending")


async def test_a_channel_that_archives_after_posting_moves_updates_to_the_dm(
    make_system: SystemFactory,
):
    system = await make_system(report_delay=0.5)
    await system.slash(f"send {DELIVERS} hi")
    await system.wait_for(lambda: system.slack.channel_messages(DEMO_CHANNEL))
    system.slack.refuse[DEMO_CHANNEL] = "is_archived"
    system.slack.fail_next["chat.update"] = ["is_archived"]
    await system.wait_for(lambda: message_with(system, "1 delivered", "D0ALICE"))


async def test_a_revoked_token_drops_the_update_and_counts_it(make_system: SystemFactory):
    system = await make_system(report_delay=0.3)
    system.slack.fail_next["chat.update"] = ["token_revoked"]
    await system.slash(f"send {DELIVERS} hi")
    await system.wait_for(lambda: system.gateway.pushes)

    async def metrics() -> str:
        assert system.session
        async with system.session.get(system.url + "/metrics") as response:
            return await response.text()

    for _ in range(50):
        text = await metrics()
        if 'smsbot_slack_updates_dropped_total{error="token_revoked"} 1.0' in text:
            break
        await asyncio.sleep(0.1)
    else:
        pytest.fail("the dropped update was not counted")
    assert len(system.slack.calls_to("chat.update")) == 1


@pytest.mark.parametrize("error", ["internal_error", "ratelimited"])
async def test_passing_slack_errors_are_retried_until_the_message_is_right(
    make_system: SystemFactory, error: str
):
    system = await make_system(report_delay=0.3)
    system.slack.fail_next["chat.update"] = [error, error]
    await system.slash(f"send {DELIVERS} hi")
    await system.wait_for(lambda: message_with(system, "1 delivered"), timeout=15)
    assert len(system.slack.calls_to("chat.update")) >= 3


async def test_updates_left_pending_at_shutdown_are_made_after_restart(
    make_system: SystemFactory,
):
    system = await make_system(report_delay=0.3)
    system.slack.fail_next["chat.update"] = ["internal_error"] * 3
    await system.slash(f"send {DELIVERS} hi")
    await system.gateway.wait_for_pushes(1, timeout=5)
    await system.stop_bot()
    assert message_with(system, "1 delivered") is None
    await system.start_bot()
    await system.wait_for(lambda: message_with(system, "1 delivered"), timeout=15)


@pytest.mark.sqlite_only("the SQLite file's one-process lock; PostgreSQL is shared by replicas")
async def test_a_second_bot_on_the_same_database_is_refused_in_words(
    system: LocalSystem, tmp_path: Path
):
    run = await smsbot(tmp_path, "serve", env=system.environment(), limit=30)
    assert run.code == 2
    assert "in use by another smsbot" in run.stderr
    assert "Traceback" not in run.stderr


@pytest.mark.sqlite_only("the SQLite file's permissions; PostgreSQL's are the server's")
def test_the_database_file_is_readable_by_its_owner_only(system: LocalSystem) -> None:
    assert system.settings
    mode = system.settings.database_path.stat().st_mode & 0o777
    assert mode == 0o600


@pytest.mark.parametrize(("allowed", "status"), [("10.0.0.0/8", 403), ("127.0.0.1/32", 200)])
async def test_report_webhook_takes_only_allowed_source_addresses(
    make_system: SystemFactory, allowed: str, status: int
):
    system = await make_system(env={"SMS_REPORT_ALLOWED_IPS": allowed})
    assert system.session and system.settings
    body = {"msgId": "1", "mobile": "2348031000010", "status": 0, "errorCode": "DELIVRD"}
    async with system.session.post(
        system.report_url, json=body, headers=system.report_headers()
    ) as response:
        assert response.status == status
        answer = await response.json()
    assert answer["code"] == (1004 if status == 403 else 0)
    await system.reports_applied()
    assert rows(system, "SELECT count(*) FROM reports") == [(0 if status == 403 else 1,)]


def paced_calls(system: LocalSystem, channel: str) -> list[float]:
    """When each post or edit in `channel` reached Slack, on the bot's clock."""
    return sorted(
        c.at
        for c in system.slack.calls
        if c.method in ("chat.postMessage", "chat.update") and c.params.get("channel") == channel
    )


def settled(system: LocalSystem, channel: str, sends: int) -> bool:
    """Every send's tracked message shows no pending recipient, and has its failure reply."""
    shown = system.slack.channel_messages(channel)
    return (
        sum("0 pending" in m.text for m in shown) == sends
        and sum(bool(system.slack.thread(channel, m.ts)) for m in shown) == sends
    )


async def test_calls_to_one_channel_are_paced_under_slacks_limit(make_system: SystemFactory):
    clock = ManualClock()
    interval = 0.5
    system = await make_system(
        env={"SMS_UPDATE_INTERVAL": str(interval)}, clock=clock, report_delay=0.1
    )
    for n in range(4):
        await system.slash(f"send +2348031000{n}10,+2348031000{n}19 burst {n}")
    await clock.advance_until(lambda: settled(system, DEMO_CHANNEL, 4), step=interval / 5)
    calls = paced_calls(system, DEMO_CHANNEL)
    assert len(calls) >= 8  # 4 posts and 4 thread replies, plus the edits
    gaps = [b - a for a, b in itertools.pairwise(calls)]
    assert min(gaps) >= interval, gaps


async def test_a_burst_in_one_channel_does_not_hold_another_channels_update(
    make_system: SystemFactory,
):
    clock = ManualClock()
    interval = 1.0
    system = await make_system(
        env={"SMS_UPDATE_INTERVAL": str(interval)}, clock=clock, report_delay=0.1
    )
    busy, quiet = "C0BUSY", "C0QUIET"
    for n in range(3):
        await system.slash(f"send +2348031000{n}10,+2348031000{n}19 burst {n}", channel_id=busy)
    await system.slash(f"send {DELIVERS} the quiet one", channel_id=quiet)
    # every report is in before the bot's time moves: the rounds below are all there is
    await system.gateway.wait_for_pushes(7, timeout=10)
    asked = clock.monotonic()
    await clock.advance_until(lambda: message_with(system, "1 delivered", quiet), step=0.1)
    shown = min(
        c.at
        for c in system.slack.calls
        if c.params.get("channel") == quiet and "1 delivered" in str(c.params.get("text", ""))
    )
    # the worker gathers changes for one interval, then the quiet channel's call goes at
    # once; a pace shared with the busy channel would hold it behind three busy calls
    assert shown - asked <= interval + 1e-9, shown - asked
    await clock.advance_until(lambda: settled(system, busy, 3), step=0.1)
    assert len(paced_calls(system, busy)) >= 6  # each send: its post and its failure reply
    gaps = [b - a for a, b in itertools.pairwise(paced_calls(system, busy))]
    assert min(gaps) >= interval, gaps
