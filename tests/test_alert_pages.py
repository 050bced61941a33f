"""Alerts page people: one page per firing group, notes in its thread, Acknowledge, limits.

Through the public surface (see tests/alerting.py for where an alert comes in), asserting on
what the gateway simulator texted and what the Slack stand-in shows.
"""

from __future__ import annotations

import copy
import csv
import io
from pathlib import Path

from standins.local import DEMO_CHANNEL, SIGNING_SECRET, LocalSystem
from standins.manual_clock import ManualClock
from standins.slack import ChannelMessage, plain
from tests.alerting import add_integration, firing, notify, resolved
from tests.cli import smsbot
from tests.conftest import SystemFactory

BOB = {"real_name": "Bob", "phone": "+234 803 100 0010"}
CAROL = {"real_name": "Carol", "phone": "+234 803 100 0019"}  # ends in 9: it fails
DAN = {"real_name": "Dan", "phone": "+234 803 100 0017"}  # ends in 7: silent when asked
ERIN = {"real_name": "Erin"}  # no phone
FAST_PAGES = {"SMS_PAGE_TIMEOUT": "2", "SMS_POLL_AFTER": "3600"}


def people(system: LocalSystem) -> None:
    system.slack.users.update(U0BOB=BOB, U0CAROL=CAROL, U0DAN=DAN, U0ERIN=ERIN)
    system.slack.groups["S0ONCALL"] = ["U0BOB"]


def pages(system: LocalSystem) -> list[ChannelMessage]:
    return system.slack.channel_messages(DEMO_CHANNEL)


def thread(system: LocalSystem, message: ChannelMessage) -> list[str]:
    return [plain(m) for m in system.slack.thread(message.channel, message.ts)]


def texts(system: LocalSystem) -> list[tuple[str, str]]:
    return [(sent["mobile"], sent["content"]) for sent in system.gateway.sent]


def buttons(message: ChannelMessage) -> list[str]:
    return [
        element["action_id"]
        for block in message.blocks
        if block["type"] == "actions"
        for element in block["elements"]
    ]


async def click(system: LocalSystem, message: ChannelMessage, action: str, user: str) -> None:
    assert system.session is not None
    url = system.url + "/slack/events"
    status = await system.slack.click(
        system.session, url, SIGNING_SECRET, message, action, user_id=user
    )
    assert status == 200


async def test_a_firing_group_pages_once_with_a_tracked_page_message(system: LocalSystem):
    people(system)
    token = await add_integration(system, "db", "<@U0BOB|bob> +2348031000011")
    await notify(
        system,
        token,
        firing(
            '{}:{alertname="DiskFull"}',
            "Disk full on db-1",
            text="/var is at 99%",
            labels={"severity": "critical", "instance": "db-1"},
            links=[("Runbook", "https://runbooks.example/disk?a=1&b=2")],
        ),
    )
    await system.wait_for(lambda: system.gateway.sent)
    (mobiles, content), *more = texts(system)
    assert not more
    assert sorted(mobiles.split(",")) == ["2348031000010", "2348031000011"]
    assert content == "[FIRING:1] Disk full on db-1 - /var is at 99%"
    message = await system.wait_for(
        lambda: (m := pages(system)) and "2 delivered" in m[0].text and m[0]
    )
    shown = plain(message)
    assert "[FIRING:1] Disk full on db-1" in shown and "/var is at 99%" in shown
    assert "`db`" in shown and "paged <@U0BOB>, 1 number" in shown
    assert "*severity*: critical" in shown and "*instance*: db-1" in shown
    assert "<https://runbooks.example/disk?a=1&amp;b=2|Runbook>" in shown
    assert buttons(message) == ["acknowledge"]
    assert len(pages(system)) == 1


async def test_repeats_and_added_alerts_send_no_sms_and_are_said_in_the_thread(
    system: LocalSystem,
):
    people(system)
    token = await add_integration(system, "api", "<@U0BOB|bob>")
    await notify(system, token, firing("g1", "High latency", fingerprints=["a1"]))
    message = await system.wait_for(lambda: (m := pages(system)) and m[0])
    await notify(system, token, firing("g1", "High latency", fingerprints=["a1"]))
    await notify(system, token, firing("g1", "High latency", fingerprints=["a1", "a2", "a3"]))
    notes = await system.wait_for(
        lambda: (t := thread(system, message)) and "2 more alerts" in "\n".join(t) and t
    )
    said = "\n".join(notes)
    assert "Still firing: 1 alert" in said
    assert "2 more alerts: High latency (3 firing now)" in said
    assert len(system.gateway.sent) == 1 and len(pages(system)) == 1


async def test_resolved_is_said_in_the_thread_and_on_the_message_and_a_new_firing_pages_again(
    system: LocalSystem,
):
    people(system)
    token = await add_integration(system, "api", "<@U0BOB|bob>")
    await notify(system, token, firing("g1", "High latency"))
    first = await system.wait_for(lambda: (m := pages(system)) and m[0])
    await notify(system, token, resolved("g1", "High latency"))
    await system.wait_for(lambda: "[RESOLVED] High latency" in plain(pages(system)[0]))
    await system.wait_for(lambda: "Resolved: High latency." in "\n".join(thread(system, first)))
    assert len(system.gateway.sent) == 1
    await notify(system, token, firing("g1", "High latency"))
    await system.wait_for(lambda: len(pages(system)) == 2)
    assert len(system.gateway.sent) == 2
    assert "[FIRING:1]" in plain(pages(system)[1])
    assert "[RESOLVED]" in plain(pages(system)[0])


async def test_resolved_with_no_open_group_does_nothing(system: LocalSystem):
    people(system)
    token = await add_integration(system, "api", "<@U0BOB|bob>")
    await notify(system, token, resolved("never-fired", "Gone"))
    await notify(system, token, firing("other", "Marker"))
    await system.wait_for(lambda: pages(system))
    assert len(system.gateway.sent) == 1 and len(pages(system)) == 1
    assert "Marker" in plain(pages(system)[0])


async def test_an_on_call_group_pages_whoever_is_on_call_when_it_fires(
    make_system: SystemFactory,
):
    clock = ManualClock()
    system = await make_system(env={"SLACK_PROFILE_CACHE_SECONDS": "1"}, clock=clock)
    people(system)
    token = await add_integration(system, "oncall", "<!subteam^S0ONCALL|@oncall>")
    await notify(system, token, firing("g1", "Down"))
    await system.wait_for(lambda: system.gateway.sent)
    await notify(system, token, resolved("g1", "Down"))
    await clock.advance_until(
        lambda: (m := pages(system)) and "[RESOLVED]" in plain(m[0]), step=0.1
    )
    system.slack.groups["S0ONCALL"] = ["U0DAN"]  # the rotation moved on
    await clock.advance(1.0)  # past the profile cache
    await notify(system, token, firing("g1", "Down"))
    await clock.advance_until(lambda: len(system.gateway.sent) == 2, step=0.1)
    assert [mobile for mobile, _ in texts(system)] == ["2348031000010", "2348031000017"]


async def test_nobody_reachable_sends_nothing_and_says_so(make_system: SystemFactory):
    system = await make_system(env={"SLACK_PROFILE_CACHE_SECONDS": "0.001"})
    people(system)
    system.slack.users["U0ERIN"] = {**ERIN, "phone": "+234 803 100 0015"}  # when added
    token = await add_integration(system, "api", "<@U0ERIN|erin>")
    system.slack.users["U0ERIN"] = ERIN  # and since then, no phone in her profile
    await notify(system, token, firing("g1", "Down"))
    message = await system.wait_for(lambda: (m := pages(system)) and m[0])
    assert "Nobody was texted: <@U0ERIN> has no phone number" in plain(message)
    assert system.gateway.sent == []


async def test_acknowledge_names_the_presser_stops_escalation_and_twice_changes_nothing(
    make_system: SystemFactory,
):
    clock = ManualClock()
    system = await make_system(env=FAST_PAGES, clock=clock, silent_suffixes=("7",))
    people(system)
    token = await add_integration(system, "db", "<@U0DAN|dan>")
    await notify(system, token, firing("g1", "DB down"))
    await system.wait_for(lambda: system.gateway.sent)
    message = await clock.advance_until(lambda: (m := pages(system)) and m[0], step=0.1)
    before = copy.deepcopy(message)  # as another person's Slack still shows it
    await click(system, message, "acknowledge", "U0CAROL")
    await clock.advance_until(lambda: "Acknowledged by <@U0CAROL>" in plain(message), step=0.1)
    assert buttons(message) == [] and "acknowledged by <@U0CAROL>" in message.text
    edits = message.edits
    await click(system, before, "acknowledge", "U0BOB")
    answer = await system.wait_for(lambda: system.slack.responses)
    assert answer[0]["text"] == "<@U0CAROL> acknowledged this page already."
    await clock.advance(5.0)  # past SMS_PAGE_TIMEOUT, several escalation rounds
    assert [m for m in system.slack.messages.values() if m.broadcast] == []
    assert "Acknowledged by <@U0CAROL>" in plain(message) and message.edits == edits


async def test_an_unacknowledged_alert_page_escalates_and_retry_failed_pages_again(
    make_system: SystemFactory,
):
    system = await make_system(env={**FAST_PAGES, "SMS_PAGE_TIMEOUT": "1"})
    people(system)
    token = await add_integration(system, "db", "<@U0CAROL|carol>", user="U0ALICE")
    await notify(system, token, firing("g1", "DB down"))
    alert = await system.wait_for(
        lambda: (a := [m for m in system.slack.messages.values() if m.broadcast]) and a[0]
    )
    shown = plain(alert)
    assert "<@U0ALICE>, this alert's page did not get through" in shown
    assert "<@U0CAROL>" in shown and "undeliverable" in shown
    await click(system, alert, "retry_failed", "U0BOB")
    await system.wait_for(lambda: len(system.gateway.sent) == 2)
    assert system.gateway.sent[1]["mobile"] == "2348031000019"
    assert system.gateway.sent[1]["content"] == "[FIRING:1] DB down"


async def test_pages_past_the_hourly_limit_are_held_back_and_said_in_the_channel(
    make_system: SystemFactory,
):
    clock = ManualClock()
    system = await make_system(env={"SMS_ALERT_PAGES_PER_HOUR": "2"}, clock=clock)
    people(system)
    token = await add_integration(system, "storm", "<@U0BOB|bob>")
    for key in ("g1", "g2", "g3"):
        await notify(system, token, firing(key, f"Alert {key}"))
    held = await clock.advance_until(
        lambda: (m := [p for p in pages(system) if "Alert g3" in plain(p)]) and m[0], step=0.1
    )
    assert "Held back, no SMS: `storm` has paged 2 times in the last hour" in plain(held)
    assert "SMS_ALERT_PAGES_PER_HOUR=2" in plain(held)
    sent = [content for _, content in texts(system)]
    assert sent == ["[FIRING:1] Alert g1", "[FIRING:1] Alert g2"]
    await notify(system, token, firing("g3", "Alert g3"))  # a repeat: a note, still held
    await clock.advance(3600.0)
    await notify(system, token, firing("g4", "Alert g4"))
    await clock.advance_until(lambda: len(system.gateway.sent) == 3, step=0.1)
    assert system.gateway.sent[2]["content"] == "[FIRING:1] Alert g4"


async def test_a_page_typed_in_slack_can_be_acknowledged_too(make_system: SystemFactory):
    clock = ManualClock()
    system = await make_system(env=FAST_PAGES, clock=clock, silent_suffixes=("7",))
    people(system)
    await system.slash("page <@U0DAN|dan> are you there?")
    await system.wait_for(lambda: system.gateway.sent)
    message = await clock.advance_until(lambda: (m := pages(system)) and m[0], step=0.1)
    assert buttons(message) == ["acknowledge"]
    await click(system, message, "acknowledge", "U0DAN")
    await clock.advance_until(lambda: "Acknowledged by <@U0DAN>" in plain(message), step=0.1)
    await clock.advance(5.0)
    assert [m for m in system.slack.messages.values() if m.broadcast] == []


async def test_audit_lists_alert_pages_with_their_integration(
    make_system: SystemFactory, tmp_path: Path
):
    system = await make_system()
    people(system)
    token = await add_integration(system, "db", "<@U0BOB|bob>")
    await notify(system, token, firing("g1", "DB down"))
    await system.wait_for(lambda: (m := pages(system)) and "1 delivered" in m[0].text)
    run = await smsbot(
        tmp_path, "audit", "--since", "1d", env={"DATABASE_PATH": str(system.database)}
    )
    assert run.code == 0, run.stderr
    (row,) = csv.DictReader(io.StringIO(run.stdout))
    assert row["kind"] == "alert" and row["integration"] == "db"
    assert row["mobile"] == "+2348031000010" and row["slack_user"] == "U0BOB"
    assert row["content"] == "[FIRING:1] DB down" and row["user_id"] == "U0ALICE"


async def test_pages_notes_and_held_back_pages_are_counted(make_system: SystemFactory):
    system = await make_system(env={"SMS_ALERT_PAGES_PER_HOUR": "1"})
    people(system)
    token = await add_integration(system, "db", "<@U0BOB|bob>")
    await notify(system, token, firing("g1", "DB down", fingerprints=["a1"]))
    first = await system.wait_for(lambda: (m := pages(system)) and m[0])
    await notify(system, token, firing("g1", "DB down", fingerprints=["a1"]))
    await notify(system, token, firing("g1", "DB down", fingerprints=["a1", "a2"]))
    await notify(system, token, resolved("g1", "DB down"))
    await notify(system, token, firing("g2", "Disk full"))
    await system.wait_for(lambda: "Resolved" in "\n".join(thread(system, first)))
    await system.wait_for(lambda: len(pages(system)) == 2)
    assert system.session is not None
    async with system.session.get(system.url + "/metrics") as response:
        shown = (await response.text()).splitlines()
    for line in (
        'smsbot_alert_pages_total{integration="db"} 1.0',
        'smsbot_alert_pages_held_total{integration="db"} 1.0',
        'smsbot_alert_notes_total{kind="firing"} 1.0',
        'smsbot_alert_notes_total{kind="added"} 1.0',
        'smsbot_alert_notes_total{kind="resolved"} 1.0',
    ):
        assert line in shown
