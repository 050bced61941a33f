"""Paging people by their Slack identity, and saying loudly when a page did not get through."""

from __future__ import annotations

from standins.local import DEMO_CHANNEL, SIGNING_SECRET, LocalSystem
from standins.manual_clock import ManualClock
from standins.slack import ChannelMessage, plain
from tests.conftest import SystemFactory

BOB = {"real_name": "Bob", "phone": "+234 803 100 0010"}
CAROL = {"real_name": "Carol", "phone": "+234 803 100 0019"}  # ends in 9: the simulator fails it
DAN = {"real_name": "Dan", "phone": "+234 803 100 0017"}  # ends in 7: silent in these tests
NOPHONE = {"real_name": "Erin"}
FAST_PAGES = {"SMS_PAGE_TIMEOUT": "1", "SMS_POLL_AFTER": "3600"}


def people(system: LocalSystem) -> None:
    system.slack.users.update(U0BOB=BOB, U0CAROL=CAROL, U0DAN=DAN, U0ERIN=NOPHONE)
    system.slack.groups["S0ONCALL"] = ["U0BOB", "U0CAROL"]


def tracked(system: LocalSystem) -> ChannelMessage | None:
    messages = system.slack.channel_messages(DEMO_CHANNEL)
    return messages[0] if messages else None


async def answered(system: LocalSystem, clock: ManualClock, commands: int) -> None:
    """Until the sender has the answers to `commands` commands: their messages are posted."""
    await clock.advance_until(lambda: len(system.slack.responses) >= commands, step=0.1)


def alerts(system: LocalSystem) -> list[ChannelMessage]:
    return [m for m in system.slack.messages.values() if m.broadcast]


async def test_a_mention_is_texted_at_the_phone_in_their_profile(system: LocalSystem):
    people(system)
    await system.slash("send <@U0BOB|bob> your badge is at the desk")
    await system.wait_for(lambda: system.gateway.sent)
    assert system.gateway.sent[0]["mobile"] == "2348031000010"
    message = await system.wait_for(
        lambda: (m := tracked(system)) and "1 delivered" in m.text and m
    )
    assert "<@U0BOB>" in plain(message)


async def test_a_user_group_is_texted_at_each_members_phone(system: LocalSystem):
    people(system)
    await system.slash("send <!subteam^S0ONCALL|@oncall> standup moved")
    await system.wait_for(lambda: system.gateway.sent)
    assert sorted(system.gateway.sent[0]["mobile"].split(",")) == [
        "2348031000010",
        "2348031000019",
    ]


async def test_people_without_a_usable_number_are_named_and_the_rest_still_sent(
    system: LocalSystem,
):
    people(system)
    await system.slash("send <@U0BOB|bob> <@U0ERIN|erin> <@U0ZED|zed> hello")
    response = await system.wait_for(lambda: system.slack.responses)
    text = response[0]["text"]
    assert "<@U0ERIN> has no phone number in their Slack profile" in text
    assert "<@U0ZED> is not a user of this workspace" in text
    assert system.gateway.sent[0]["mobile"] == "2348031000010"


async def test_nobody_reachable_sends_nothing(system: LocalSystem):
    people(system)
    await system.slash("send <@U0ERIN|erin> hello")
    response = await system.wait_for(lambda: system.slack.responses)
    assert response[0]["text"].startswith(":x: Nothing was sent")
    assert system.gateway.sent == []


async def test_profile_numbers_without_country_code_use_the_default_region(
    make_system: SystemFactory,
):
    system = await make_system(env={"SMS_DEFAULT_REGION": "NG"})
    system.slack.users["U0FAY"] = {"real_name": "Fay", "phone": "0803 100 0011"}
    await system.slash("send <@U0FAY|fay> hi")
    await system.wait_for(lambda: system.gateway.sent)
    assert system.gateway.sent[0]["mobile"] == "2348031000011"


async def test_profile_lookups_are_cached_but_not_past_the_cache_time(
    make_system: SystemFactory,
):
    clock = ManualClock()
    system = await make_system(env={"SLACK_PROFILE_CACHE_SECONDS": "1"}, clock=clock)
    people(system)
    await system.slash("send <@U0BOB|bob> one")
    await system.slash("send <@U0BOB|bob> two")
    await system.wait_for(lambda: len(system.gateway.sent) == 2)
    assert len(system.slack.calls_to("users.info")) == 1
    await answered(system, clock, 2)
    system.slack.users["U0BOB"] = {"real_name": "Bob", "phone": "+234 803 100 0012"}
    await clock.advance(1.0)  # the lookup is now at least the cache time old
    await system.slash("send <@U0BOB|bob> three")
    await system.wait_for(lambda: len(system.gateway.sent) == 3)
    assert system.gateway.sent[2]["mobile"] == "2348031000012"
    await answered(system, clock, 3)


async def test_a_page_names_the_people_paged(system: LocalSystem):
    people(system)
    await system.slash("page <@U0BOB|bob> DB primary down, see #inc-42")
    message = await system.wait_for(lambda: tracked(system))
    assert "paged <@U0BOB>" in plain(message)


async def test_a_failed_page_is_alerted_to_the_channel_with_sender_person_and_reason(
    make_system: SystemFactory,
):
    clock = ManualClock()
    system = await make_system(env=FAST_PAGES, clock=clock)
    people(system)
    await system.slash("page <!subteam^S0ONCALL|@oncall> DB primary down")
    await system.gateway.wait_for_pushes(2, timeout=10)  # both reports in at 0
    alert = (await clock.advance_until(lambda: alerts(system), step=0.1))[0]
    message = tracked(system)
    assert message and alert.thread_ts == message.ts
    shown = plain(alert)
    assert "<@U0ALICE>" in shown and "<@U0CAROL>" in shown and "<@U0BOB>" not in shown
    assert "undeliverable (UNDELIV)" in shown
    assert any(b["type"] == "actions" for b in alert.blocks)
    await clock.advance(3.0)  # three more escalation rounds, all past the page timeout
    assert len(alerts(system)) == 1, "one alert per recipient, never repeated"


async def test_a_page_not_delivered_in_time_is_alerted(make_system: SystemFactory):
    clock = ManualClock()
    env = {**FAST_PAGES, "SMS_PAGE_TIMEOUT": "2"}  # longer than one escalation round
    system = await make_system(env=env, clock=clock, silent_suffixes=("7",))
    people(system)
    await system.slash("page <@U0DAN|dan> are you there?")
    await system.wait_for(lambda: system.gateway.sent)  # the page went out at 0
    await clock.advance_until(lambda: tracked(system), step=0.1)
    alert = (await clock.advance_until(lambda: alerts(system), step=0.1))[0]
    # not before SMS_PAGE_TIMEOUT (2 s), and by the escalator's next round (every 1 s)
    assert 2.0 <= clock.monotonic() <= 3.0, clock.monotonic()
    assert "<@U0DAN>" in plain(alert) and "not delivered after" in plain(alert)


async def test_a_delivered_page_raises_no_alert(make_system: SystemFactory):
    clock = ManualClock()
    system = await make_system(env=FAST_PAGES, clock=clock)
    people(system)
    await system.slash("page <@U0BOB|bob> heads up")
    await system.gateway.wait_for_pushes(1, timeout=10)  # delivered at 0
    await clock.advance_until(lambda: (m := tracked(system)) and "1 delivered" in m.text, step=0.1)
    await clock.advance(3.0)  # three escalation rounds past the page timeout
    assert alerts(system) == []


async def test_retry_failed_pages_again_only_those_not_reached_and_only_once(
    make_system: SystemFactory,
):
    system = await make_system(env=FAST_PAGES)
    people(system)
    await system.slash("page <!subteam^S0ONCALL|@oncall> DB primary down")
    alert = (await system.wait_for(lambda: alerts(system)))[0]
    assert system.session
    url = system.url + "/slack/events"
    status = await system.slack.click(
        system.session, url, SIGNING_SECRET, alert, "retry_failed", user_id="U0BOB"
    )
    assert status == 200
    await system.wait_for(lambda: len(system.gateway.sent) == 2)
    assert system.gateway.sent[1]["mobile"] == "2348031000019"
    assert system.gateway.sent[1]["content"] == "DB primary down"
    await system.slack.click(system.session, url, SIGNING_SECRET, alert, "retry_failed")
    await system.wait_for(
        lambda: any("Nothing to retry" in r.get("text", "") for r in system.slack.responses)
    )
    assert len(system.gateway.sent) == 2
