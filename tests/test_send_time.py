"""Times that depend on when an SMS goes out count from its send time, not from the command.

A send scheduled days ahead is asked about `SMS_POLL_AFTER` after it goes out, and is given
the gateway's full 30 days from then; a page cannot be scheduled at all (a page is now).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.clock import SystemClock
from bot.services import SERVICES
from standins.local import DEMO_CHANNEL, LocalSystem
from standins.slack import plain
from storage import SendView
from tests.conftest import SystemFactory

SILENT = "+2348031000017"  # ends in 7: the simulator never reports it
SHANGHAI = ZoneInfo("Asia/Shanghai")  # UTC+8: a wall time read as UTC would be 8 hours off
# Rounds are run by the test (poll_once), not by the loop, so the clock alone decides.
SCHEDULED = {
    "SMS_GATEWAY_TIMEZONE": "Asia/Shanghai",
    "SMS_POLL_AFTER": "300",
    "SMS_POLL_INTERVAL": "3600",
}


class Clock:
    """The bot's clock, moved by the test."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def status_queries(system: LocalSystem) -> int:
    return sum(1 for op, _ in system.gateway.requests if op == "status")


async def only_send(system: LocalSystem) -> SendView:
    assert system.app is not None
    sends = await system.app[SERVICES].sends.recent(DEMO_CHANNEL)
    assert len(sends) == 1
    return sends[0]


async def poll_round(system: LocalSystem) -> None:
    assert system.app is not None
    await system.app[SERVICES].poller.poll_once()


async def schedule_three_days_ahead(
    make_system: SystemFactory,
) -> tuple[LocalSystem, Clock, datetime]:
    """A silent number texted `--at` three days (and a minute) from the command, in UTC+8;
    returns the system, its clock and when the SMS goes out."""
    clock = Clock(datetime.now(UTC).replace(second=0, microsecond=0))
    system = await make_system(env=SCHEDULED, clock=SystemClock(clock), push_reports=False)
    goes_out = clock.now + timedelta(days=3, minutes=1)
    await system.slash(
        f'send {SILENT} see you --at "{goes_out.astimezone(SHANGHAI):%Y-%m-%d %H:%M}"'
    )
    await system.wait_for(lambda: system.slack.channel_messages(DEMO_CHANNEL))
    return system, clock, goes_out


async def test_a_scheduled_send_is_not_polled_before_its_send_time_plus_poll_after(
    make_system: SystemFactory,
):
    system, clock, goes_out = await schedule_three_days_ahead(make_system)
    asked = status_queries(system)
    for moment in (
        clock.now + timedelta(minutes=10),  # past command + SMS_POLL_AFTER
        goes_out - timedelta(hours=8),  # past the time read as UTC + SMS_POLL_AFTER
        goes_out + timedelta(seconds=299),
    ):
        clock.now = moment
        await poll_round(system)
        assert status_queries(system) == asked, f"polled at {moment}, before {goes_out} + 300 s"
    clock.now = goes_out + timedelta(seconds=301)
    await poll_round(system)
    assert status_queries(system) == asked + 1


async def test_a_scheduled_send_has_the_gateways_thirty_days_from_its_send_time(
    make_system: SystemFactory,
):
    system, clock, goes_out = await schedule_three_days_ahead(make_system)
    clock.now = goes_out + timedelta(days=29, hours=23)  # 32 days after the command
    await poll_round(system)
    assert [r.state.value for r in (await only_send(system)).recipients] != ["unknown"]
    clock.now = goes_out + timedelta(days=30, minutes=1)
    await poll_round(system)
    message = await system.wait_for(
        lambda: next(
            (m for m in system.slack.channel_messages(DEMO_CHANNEL) if "1 unknown" in m.text), None
        )
    )
    assert "no delivery report within the gateway's 30 days" in plain(message)


async def test_a_scheduled_page_is_refused_in_the_ack_and_reaches_no_gateway(
    system: LocalSystem,
):
    later = datetime.now(UTC) + timedelta(days=1)
    status, ack = await system.slash(f'page {SILENT} DB primary down --at "{later:%Y-%m-%d %H:%M}"')
    assert status == 200
    assert "A page goes out now" in ack
    assert system.gateway.requests == []
    assert system.slack.calls_to("chat.postMessage") == []
