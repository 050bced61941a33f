"""`--at` is read in the sender's Slack time zone unless a zone is written after it, and the
gateway is told it in its own zone (`SMS_GATEWAY_TIMEZONE`); the confirmation shows both.

Each test types the command as Slack sends it (a signed slash command) at a pinned wall
clock, and reads what the gateway simulator received (`sendTime`) and what the sender was told.
"""

from __future__ import annotations

from datetime import UTC, datetime

from bot.clock import SystemClock
from bot.services import SERVICES
from standins.local import DEMO_CHANNEL, LocalSystem
from tests.conftest import SystemFactory

NUMBER = "+2348031000010"
SHANGHAI_GATEWAY = {"SMS_GATEWAY_TIMEZONE": "Asia/Shanghai"}  # UTC+8, no DST
# Berlin is UTC+1 in winter, so 11:00 there and 18:00 at the gateway.
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


async def started(
    make_system: SystemFactory,
    tz: str | None,
    *,
    now: datetime = NOW,
    env: dict[str, str] = SHANGHAI_GATEWAY,
) -> LocalSystem:
    """The system at `now`, with Alice (who types the commands) in Slack zone `tz`."""
    system = await make_system(env=env, clock=SystemClock(lambda: now))
    system.slack.users["U0ALICE"] = {"real_name": "Alice", **({"tz": tz} if tz else {})}
    return system


async def schedule(system: LocalSystem, at: str) -> str:
    """`/sms send` with `--at`; the confirmation the sender is told once the gateway took it."""
    status, ack = await system.slash(f"send {NUMBER} see you {at}")
    assert status == 200 and "Sending" in ack, ack
    responses = await system.wait_for(lambda: system.slack.responses)
    return str(responses[0]["text"])


async def refused(system: LocalSystem, at: str) -> str:
    """The ack of a send whose `--at` cannot be sent; nothing reaches the gateway."""
    status, ack = await system.slash(f"send {NUMBER} see you {at}")
    assert status == 200
    assert system.gateway.sent == []
    return ack


async def test_at_is_read_in_the_senders_slack_zone_and_sent_in_the_gateways(
    make_system: SystemFactory,
):
    system = await started(make_system, "Europe/Berlin")
    said = await schedule(system, '--at "2026-12-01 09:30"')
    assert system.gateway.sent[0]["sendTime"] == "20261201163000"
    assert (
        "It goes out at 2026-12-01 09:30 Europe/Berlin (16:30 Asia/Shanghai, the gateway's time)."
        in said
    )


async def test_a_scheduled_send_is_stored_in_the_gateways_zone_and_goes_out_in_utc(
    make_system: SystemFactory,
):
    system = await started(make_system, "America/New_York")  # UTC-5 in December
    await schedule(system, '--at "2026-12-01 20:00"')
    assert system.gateway.sent[0]["sendTime"] == "20261202090000"
    assert system.app is not None
    [send] = await system.app[SERVICES].sends.recent(DEMO_CHANNEL)
    assert (send.send_at, send.zone) == ("2026-12-02 09:00", "Asia/Shanghai")
    assert send.goes_out is not None and send.goes_out.startswith("2026-12-02T01:00:00")


async def test_the_gateways_day_is_shown_when_it_is_another_day(make_system: SystemFactory):
    system = await started(make_system, "America/Los_Angeles")  # UTC-8: 16 hours behind
    said = await schedule(system, '--at "2026-12-01 09:30"')
    assert system.gateway.sent[0]["sendTime"] == "20261202013000"
    assert "(2026-12-02 01:30 Asia/Shanghai, the gateway's time)" in said


async def test_a_sender_in_the_gateways_zone_sees_the_time_once(make_system: SystemFactory):
    system = await started(make_system, "Asia/Shanghai")
    said = await schedule(system, '--at "2026-12-01 09:30"')
    assert system.gateway.sent[0]["sendTime"] == "20261201093000"
    assert "It goes out at 2026-12-01 09:30 Asia/Shanghai." in said
    assert "the gateway's time" not in said


async def test_a_zone_written_after_the_time_wins_over_the_profile(make_system: SystemFactory):
    system = await started(make_system, "America/New_York")
    said = await schedule(system, '--at "2026-12-01 09:30 Europe/Berlin"')
    assert system.gateway.sent[0]["sendTime"] == "20261201163000"
    assert "2026-12-01 09:30 Europe/Berlin (16:30 Asia/Shanghai" in said


async def test_a_written_zone_needs_no_quotes_nor_its_capitals(make_system: SystemFactory):
    system = await started(make_system, None)
    said = await schedule(system, "--at 2026-12-01 09:30 europe/berlin")
    assert system.gateway.sent[0]["sendTime"] == "20261201163000"
    assert system.gateway.sent[0]["content"] == "see you"
    assert "Europe/Berlin" in said


async def test_an_unknown_zone_is_refused_in_words_with_the_nearest_name(
    make_system: SystemFactory,
):
    system = await started(make_system, "Europe/Berlin")
    ack = await refused(system, '--at "2026-12-01 09:30 Europe/Berln"')
    assert "“Europe/Berln” is not a time zone I know" in ack
    assert "Did you mean Europe/Berlin?" in ack


async def test_a_time_past_in_the_senders_zone_is_refused_though_future_at_the_gateway(
    make_system: SystemFactory,
):
    system = await started(make_system, "Europe/Berlin")  # 11:00 in Berlin, 18:00 in Shanghai
    ack = await refused(system, '--at "2026-11-26 10:30"')
    assert "2026-11-26 10:30 is in the past" in ack
    assert "Europe/Berlin time, your Slack time zone: it is 2026-11-26 11:00 there now" in ack


async def test_a_time_past_at_the_gateway_but_future_for_the_sender_is_sent(
    make_system: SystemFactory,
):
    system = await started(make_system, "Europe/Berlin")
    await schedule(system, '--at "2026-11-26 12:00"')  # 12:00 Berlin is 19:00 in Shanghai
    assert system.gateway.sent[0]["sendTime"] == "20261126190000"


async def test_a_sender_with_no_zone_in_slack_is_read_in_the_gateways_zone_in_words(
    make_system: SystemFactory,
):
    system = await started(make_system, None)
    said = await schedule(system, '--at "2026-12-01 09:30"')
    assert system.gateway.sent[0]["sendTime"] == "20261201093000"
    assert (
        "Your Slack profile has no time zone, so I read the time in Asia/Shanghai, "
        "the gateway's zone." in said
    )


async def test_a_slack_that_cannot_say_the_zone_falls_back_to_the_gateways_in_words(
    make_system: SystemFactory,
):
    system = await started(make_system, "Europe/Berlin")
    system.slack.fail("users.info", error="internal_error")
    said = await schedule(system, '--at "2026-12-01 09:30"')
    assert system.gateway.sent[0]["sendTime"] == "20261201093000"
    assert "Slack did not tell me your time zone, so I read the time in Asia/Shanghai" in said


async def test_the_zone_is_asked_of_slack_only_for_an_at_without_one(make_system: SystemFactory):
    system = await started(make_system, "Europe/Berlin")
    await system.slash(f"send {NUMBER} now please")
    await system.slash(f'send {NUMBER} later --at "2026-12-01 09:30 UTC"')
    await system.wait_for(lambda: len(system.slack.responses) == 2)
    assert system.slack.calls_to("users.info") == []
    assert [s["sendTime"] for s in system.gateway.sent if s.get("sendTime")] == ["20261201173000"]


async def test_a_time_the_senders_clocks_skip_is_refused(make_system: SystemFactory):
    system = await started(
        make_system, "Europe/Berlin", now=datetime(2027, 3, 20, 12, 0, tzinfo=UTC)
    )
    ack = await refused(system, '--at "2027-03-28 02:30"')
    assert "2027-03-28 02:30 does not exist in Europe/Berlin (the clocks skip it)" in ack


async def test_a_time_the_senders_clocks_repeat_is_the_first_and_says_so(
    make_system: SystemFactory,
):
    system = await started(
        make_system, "Europe/Berlin", now=datetime(2026, 10, 20, 12, 0, tzinfo=UTC)
    )
    said = await schedule(system, '--at "2026-10-25 02:30"')
    assert system.gateway.sent[0]["sendTime"] == "20261025083000"  # 00:30 UTC, summer time
    assert (
        "02:30 happens twice in Europe/Berlin on 2026-10-25 (the clocks go back); "
        "I took the first, 02:30 CEST (UTC+02:00)." in said
    )


async def test_a_moment_the_gateway_cannot_be_told_without_an_offset_is_refused(
    make_system: SystemFactory,
):
    # London repeats 01:00-02:00 on 2026-10-25; 09:30 in Shanghai is its second 01:30 (GMT)
    system = await started(
        make_system,
        "Asia/Shanghai",
        now=datetime(2026, 10, 20, 12, 0, tzinfo=UTC),
        env={"SMS_GATEWAY_TIMEZONE": "Europe/London"},
    )
    ack = await refused(system, '--at "2026-10-25 09:30"')
    assert "2026-10-25 01:30 the second time round in Europe/London" in ack
    assert "Pick a time outside that hour" in ack
