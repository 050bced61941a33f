"""App Home: the tab a person opens, published and kept fresh as their sends change.

Signed `app_home_opened` events and Home button presses, as Slack sends them, go to the
running bot; the assertions are on the `views.publish` and `views.open` calls the Slack
stand-in received, and on the gateway simulator's balance calls. Refreshes are timed
with a ManualClock: the window between two refreshes is the bot's time, not the test's.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

from bot.home import REFRESH_EVERY, SEND_BUTTON
from standins.local import DEMO_CHANNEL, SIGNING_SECRET, LocalSystem
from standins.manual_clock import ManualClock
from standins.slack import APP_TOKEN
from tests.conftest import SystemFactory

NUMBERS = ["+2348031000010", "+2348031000011", "+2348031000012"]


async def open_home(system: LocalSystem, user_id: str = "U0ALICE", tab: str = "home") -> int:
    assert system.session is not None
    return await system.slack.open_home(
        system.session, system.url + "/slack/events", SIGNING_SECRET, user_id=user_id, tab=tab
    )


def publishes(system: LocalSystem, user_id: str = "U0ALICE") -> list[dict[str, Any]]:
    """The views published to this person's Home tab, oldest first."""
    return [
        json.loads(call.params["view"])
        if isinstance(call.params["view"], str)
        else call.params["view"]
        for call in system.slack.calls_to("views.publish")
        if call.params.get("user_id") == user_id
    ]


def text_of(view: dict[str, Any]) -> str:
    return json.dumps(view["blocks"])


def balance_calls(system: LocalSystem) -> int:
    return sum(operation == "balance" for operation, _ in system.gateway.requests)


async def opened(system: LocalSystem, user_id: str = "U0ALICE") -> dict[str, Any]:
    """Open the tab; the view it published."""
    before = len(publishes(system, user_id))
    assert await open_home(system, user_id) == 200
    await system.wait_for(lambda: len(publishes(system, user_id)) > before)
    return publishes(system, user_id)[-1]


async def test_the_tab_shows_recent_sends_with_their_counts_contacts_and_the_button(
    system: LocalSystem,
) -> None:
    await system.slash(f"contacts add oncall {NUMBERS[0]},{NUMBERS[1]}")
    await system.slash(f"send {NUMBERS[0]} The database is back up")
    await system.wait_for(
        lambda: any("1 delivered" in m.text for m in system.slack.channel_messages(DEMO_CHANNEL))
    )
    view = await opened(system)
    assert view["type"] == "home"
    text = text_of(view)
    assert "The database is back up" in text and "1 number" in text
    assert "1 delivered, 0 failed, 0 pending" in text
    assert "oncall" in text
    buttons = [e for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [(b["action_id"], b["text"]["text"]) for b in buttons] == [(SEND_BUTTON, "Send an SMS")]


async def test_an_empty_tab_says_there_are_no_sends_and_no_contacts(system: LocalSystem) -> None:
    text = text_of(await opened(system, "U0NEW"))
    assert "You have not sent any SMS yet" in text
    assert "No contacts saved yet" in text


async def test_the_messages_tab_publishes_nothing(system: LocalSystem) -> None:
    assert await open_home(system, tab="messages") == 200
    await opened(system, "U0OTHER")  # a later event is handled: the first one was skipped
    assert publishes(system) == []


async def test_the_balance_is_shown_to_an_allowed_sender_only_and_read_once_a_minute(
    make_system: SystemFactory,
) -> None:
    system = await make_system(env={"SMS_ALLOWED_USERS": "U0ALICE"})
    assert "Balance:" in text_of(await opened(system, "U0ALICE"))
    assert "Balance:" not in text_of(await opened(system, "U0BOB"))
    assert "Balance:" in text_of(await opened(system, "U0ALICE"))
    assert balance_calls(system) == 1, "a fresh balance is shown from the cache"


async def test_the_button_opens_the_compose_modal(system: LocalSystem) -> None:
    await opened(system)
    assert system.session is not None
    status = await system.slack.press_home_button(
        system.session, system.url + "/slack/events", SIGNING_SECRET, SEND_BUTTON
    )
    assert status == 200
    await system.wait_for(lambda: system.slack.calls_to("views.open"))
    modal = next(iter(system.slack.views.values()))
    assert modal["type"] == "modal" and modal["callback_id"] == "send_sms"


async def test_delivery_reports_refresh_the_tab_at_most_once_per_window_then_the_last_state(
    make_system: SystemFactory,
) -> None:
    clock = ManualClock()
    system = await make_system(clock=clock, push_reports=False)
    await opened(system)
    await system.slash(f"send {','.join(NUMBERS)} Storm warning")
    await clock.advance_until(lambda: system.slack.channel_messages(DEMO_CHANNEL), step=0.2)
    await clock.advance(REFRESH_EVERY)
    shown = publishes(system)
    assert len(shown) == 2 and "0 delivered, 0 failed, 3 pending" in text_of(shown[-1])

    await clock.advance(REFRESH_EVERY)  # a window without changes: none published
    assert len(publishes(system)) == 2
    msg_id = str(system.gateway.sent[0]["msgId"])
    for number in NUMBERS:  # a burst: one report a second
        await push_report(system, msg_id, number)
        await clock.advance(1.0)
        assert len(publishes(system)) == 3, "the first report refreshes at once, then none"
    assert "1 delivered, 0 failed, 2 pending" in text_of(publishes(system)[-1])
    await clock.advance(REFRESH_EVERY)
    shown = publishes(system)
    assert len(shown) == 4 and "3 delivered, 0 failed, 0 pending" in text_of(shown[-1])
    await clock.advance(REFRESH_EVERY * 3)
    assert len(publishes(system)) == 4, "nothing changed since"
    times = [c.at for c in system.slack.calls_to("views.publish")]
    assert all(b - a >= REFRESH_EVERY - 0.01 for a, b in itertools.pairwise(times))


async def test_someone_who_never_opened_the_tab_gets_no_publish(
    make_system: SystemFactory,
) -> None:
    clock = ManualClock()
    system = await make_system(clock=clock, push_reports=False)
    await opened(system, "U0ALICE")
    await system.slash(f"send {NUMBERS[0]} hello", user_id="U0BOB")
    await clock.advance_until(lambda: system.slack.channel_messages(DEMO_CHANNEL), step=0.2)
    await push_report(system, str(system.gateway.sent[0]["msgId"]), NUMBERS[0])
    await clock.advance_until(
        lambda: "1 delivered" in system.slack.channel_messages(DEMO_CHANNEL)[-1].text, step=0.2
    )
    await clock.advance(REFRESH_EVERY * 2)
    assert publishes(system, "U0BOB") == []
    assert len(publishes(system, "U0ALICE")) == 1, "another person's send leaves Alice's tab"


async def test_socket_mode_delivers_the_event_too(make_system: SystemFactory) -> None:
    system = await make_system({"SLACK_APP_TOKEN": APP_TOKEN})
    await system.wait_for(lambda: system.slack.socket_mode.connected)
    await system.slack.socket_open_home()
    await system.wait_for(lambda: publishes(system))


async def push_report(system: LocalSystem, msg_id: str, number: str) -> None:
    """What the gateway pushes when an SMS is delivered (gateway-api.md §5)."""
    assert system.session is not None
    body = {"msgId": msg_id, "mobile": number[1:], "status": 0, "errorCode": "DELIVRD"}
    headers = {"Content-Type": "application/json;charset=utf-8", **system.report_headers()}
    async with system.session.post(system.report_url, json=body, headers=headers) as reply:
        assert reply.status == 200
