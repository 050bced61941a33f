"""The "Send an SMS" shortcut: a modal that sends like `/sms send`, errors on their fields."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from standins.local import DEMO_CHANNEL, SIGNING_SECRET, LocalSystem
from standins.slack_requests import ephemeral_block_actions_body, signed_headers
from tests.conftest import SystemFactory

BOB = {"real_name": "Bob", "phone": "+234 803 100 0011"}
NOPHONE = {"real_name": "Erin"}


async def open_modal(system: LocalSystem, channel_id: str | None = None) -> str:
    """Use the shortcut; the id of the modal it opened."""
    assert system.session is not None
    status = await system.slack.use_shortcut(
        system.session,
        system.url + "/slack/events",
        SIGNING_SECRET,
        "send_sms",
        channel_id=channel_id,
    )
    assert status == 200
    await system.wait_for(lambda: system.slack.calls_to("views.open"))
    return str(next(iter(system.slack.views)))


async def type_in(system: LocalSystem, view_id: str, **answers: Any) -> None:
    assert system.session is not None
    status = await system.slack.type_in(
        system.session, system.url + "/slack/events", SIGNING_SECRET, view_id, answers
    )
    assert status == 200


async def submit(system: LocalSystem, view_id: str) -> dict[str, Any]:
    assert system.session is not None
    return await system.slack.submit(
        system.session, system.url + "/slack/events", SIGNING_SECRET, view_id
    )


def ephemerals(system: LocalSystem) -> list[dict[str, Any]]:
    return [call.params for call in system.slack.calls_to("chat.postEphemeral")]


def block_ids(view: dict[str, Any]) -> list[str]:
    return [block["block_id"] for block in view["blocks"]]


async def test_the_shortcut_opens_a_modal_with_every_field_of_a_send(system: LocalSystem):
    view_id = await open_modal(system, DEMO_CHANNEL)
    view = system.slack.views[view_id]
    assert view["callback_id"] == "send_sms" and view["type"] == "modal"
    assert block_ids(view) == ["people", "others", "message", "parts", "sender", "at", "channel"]
    channel = view["blocks"][-1]["element"]
    assert channel["type"] == "conversations_select"
    assert channel["initial_conversation"] == DEMO_CHANNEL
    assert view["blocks"][0]["element"]["type"] == "multi_users_select"


async def test_a_send_from_the_modal_texts_everyone_and_confirms_privately(system: LocalSystem):
    system.slack.users["U0BOB"] = BOB
    view_id = await open_modal(system)
    await type_in(
        system,
        view_id,
        people=["U0BOB"],
        others="+2348031000010",
        message="Server is back",
        channel=DEMO_CHANNEL,
    )
    assert await submit(system, view_id) == {}, "the modal closes"
    await system.wait_for(lambda: system.gateway.sent)
    (sent,) = system.gateway.sent
    assert sorted(sent["mobile"].split(",")) == ["2348031000010", "2348031000011"]
    assert sent["content"] == "Server is back"
    said = await system.wait_for(lambda: [e for e in ephemerals(system) if "Sent to" in e["text"]])
    assert said[0]["channel"] == DEMO_CHANNEL and said[0]["user"] == "U0ALICE"
    assert system.slack.channel_messages(DEMO_CHANNEL), "the tracked message is in the channel"


async def test_without_a_channel_the_send_is_tracked_in_the_senders_dm(system: LocalSystem):
    view_id = await open_modal(system)
    await type_in(system, view_id, others="+2348031000010", message="hello")
    assert await submit(system, view_id) == {}
    await system.wait_for(lambda: system.slack.channel_messages("D0ALICE"))
    assert system.gateway.sent[0]["mobile"] == "2348031000010"


async def test_problems_show_on_their_fields_and_nothing_is_sent(system: LocalSystem):
    view_id = await open_modal(system)
    await type_in(system, view_id, others="+23480 oops", message="", at="tomorrow 9")
    answer = await submit(system, view_id)
    assert answer["response_action"] == "errors"
    assert set(answer["errors"]) == {"others", "message", "at"}
    assert "oops" in answer["errors"]["others"]
    assert "YYYY-MM-DD HH:MM" in answer["errors"]["at"]
    assert system.gateway.requests == []
    assert view_id in system.slack.views, "the modal stays open to be fixed"


async def test_a_time_in_the_past_is_refused_on_the_time_field(system: LocalSystem):
    view_id = await open_modal(system)
    await type_in(system, view_id, others="+2348031000010", message="hi", at="2020-01-01 09:00 UTC")
    answer = await submit(system, view_id)
    assert list(answer["errors"]) == ["at"]
    assert system.gateway.requests == []


async def test_a_person_without_a_phone_is_said_on_the_modal(system: LocalSystem):
    system.slack.users["U0ERIN"] = NOPHONE
    view_id = await open_modal(system)
    await type_in(system, view_id, people=["U0ERIN"], message="hi")
    answer = await submit(system, view_id)
    assert list(answer["errors"]) == ["others"]
    assert "Erin" in answer["errors"]["others"] or "U0ERIN" in answer["errors"]["others"]
    assert system.gateway.requests == []


async def test_a_scheduled_send_from_the_modal_goes_at_its_time(make_system: SystemFactory):
    system = await make_system(env={"SMS_GATEWAY_TIMEZONE": "Asia/Shanghai"})
    when = datetime.now(ZoneInfo("Asia/Shanghai")) + timedelta(days=2)
    view_id = await open_modal(system)
    await type_in(
        system,
        view_id,
        others="+2348031000010",
        message="later",
        sender="ACME",
        at=f"{when:%Y-%m-%d} 09:30 Asia/Shanghai",
    )
    assert await submit(system, view_id) == {}
    await system.wait_for(lambda: system.gateway.sent)
    assert system.gateway.sent[0]["sendTime"] == f"{when:%Y%m%d}093000"


async def test_typing_the_message_shows_its_parts_live(system: LocalSystem):
    view_id = await open_modal(system)
    await type_in(system, view_id, others="+2348031000010,+2348031000011")
    await type_in(system, view_id, message="Привет " * 12)  # 84 UCS-2 characters
    (update,) = await system.wait_for(lambda: system.slack.calls_to("views.update"))
    assert update.params["view_id"] == view_id
    parts = system.slack.views[view_id]["blocks"][3]["elements"][0]["text"]
    assert "UCS-2" in parts and "50 characters left" in parts
    assert "*2 parts* × 2 recipients = *4*" in parts
    await type_in(system, view_id, message="Hello")
    await system.wait_for(lambda: len(system.slack.calls_to("views.update")) == 2)
    parts = system.slack.views[view_id]["blocks"][3]["elements"][0]["text"]
    assert "GSM-7" in parts and "155 characters left" in parts and "*1 part*" in parts


async def test_a_group_written_as_its_handle_texts_its_members(system: LocalSystem):
    system.slack.users["U0BOB"] = BOB
    system.slack.groups["S0ONCALL"] = ["U0BOB"]
    system.slack.handles = {"S0ONCALL": "oncall"}
    view_id = await open_modal(system)
    await type_in(system, view_id, others="@oncall, +2348031000010", message="DB down")
    assert await submit(system, view_id) == {}
    await system.wait_for(lambda: system.gateway.sent)
    assert sorted(system.gateway.sent[0]["mobile"].split(",")) == [
        "2348031000010",
        "2348031000011",
    ]


async def test_an_unknown_group_handle_is_said_on_the_recipients_field(system: LocalSystem):
    view_id = await open_modal(system)
    await type_in(system, view_id, others="@nosuch", message="hi")
    answer = await submit(system, view_id)
    assert answer["errors"] == {"others": "No user group is called @nosuch here."}


async def test_a_large_send_from_the_modal_asks_first_and_sends_on_send(
    make_system: SystemFactory,
):
    system = await make_system(env={"SMS_CONFIRM_ABOVE": "1"})
    view_id = await open_modal(system)
    await type_in(
        system, view_id, others="+2348031000010 +2348031000011", message="hi", channel=DEMO_CHANNEL
    )
    assert await submit(system, view_id) == {}
    (asked,) = await system.wait_for(lambda: [e for e in ephemerals(system) if e.get("blocks")])
    assert "2 SMS parts" in asked["text"] and asked["channel"] == DEMO_CHANNEL
    assert system.gateway.requests == [], "nothing is sent before Send"
    blocks = asked["blocks"]
    blocks = json.loads(blocks) if isinstance(blocks, str) else blocks
    assert system.session is not None
    body = ephemeral_block_actions_body(
        blocks, DEMO_CHANNEL, "confirm_send", "U0ALICE", system.slack.new_response_url()
    )
    async with system.session.post(
        system.url + "/slack/events", data=body, headers=signed_headers(SIGNING_SECRET, body)
    ) as response:
        assert response.status == 200
    await system.wait_for(lambda: system.gateway.sent)
    assert sorted(system.gateway.sent[0]["mobile"].split(",")) == [
        "2348031000010",
        "2348031000011",
    ]


async def test_a_channel_that_refuses_the_bot_gets_the_send_said_in_the_dm(system: LocalSystem):
    system.slack.refuse["G0PRIVATE"] = "not_in_channel"
    view_id = await open_modal(system)
    await type_in(system, view_id, others="+2348031000010", message="hi", channel="G0PRIVATE")
    assert await submit(system, view_id) == {}
    said = await system.wait_for(
        lambda: [m for m in system.slack.channel_messages("D0ALICE") if "Sent to" in m.text]
    )
    assert "direct messages" in said[0].text
    assert system.gateway.sent[0]["mobile"] == "2348031000010"


async def test_a_slow_slack_closes_the_modal_in_time_and_says_the_problem_after(
    system: LocalSystem,
):
    system.slack.users["U0ERIN"] = NOPHONE
    system.slack.delays["users.info"] = 3.0
    view_id = await open_modal(system)
    await type_in(system, view_id, people=["U0ERIN"], message="hi", channel=DEMO_CHANNEL)
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await submit(system, view_id) == {}
    assert loop.time() - started < 3.0, "answered within Slack's three seconds"
    said = await system.wait_for(
        lambda: [e for e in ephemerals(system) if "U0ERIN" in e["text"] or "Erin" in e["text"]]
    )
    assert said[0]["text"].startswith(":x: Nothing was sent")
    assert system.gateway.requests == []


async def test_slow_lookups_one_after_another_still_answer_within_slacks_three_seconds(
    system: LocalSystem,
):
    """The groups, the sender's time zone and the DM each wait on Slack; together they
    must fit the one budget, the zone falling back to the gateway's when time is short."""
    system.slack.users["U0BOB"] = BOB
    system.slack.groups["S0ONCALL"] = ["U0BOB"]
    system.slack.handles = {"S0ONCALL": "oncall"}
    system.slack.delays["usergroups.list"] = 1.9
    system.slack.delays["users.info"] = 1.4
    view_id = await open_modal(system)
    when = datetime.now(UTC) + timedelta(days=2)
    await type_in(system, view_id, others="@oncall", message="hi", at=f"{when:%Y-%m-%d} 09:00")
    loop = asyncio.get_running_loop()
    started = loop.time()
    answer = await submit(system, view_id)
    assert loop.time() - started < 3.0, "answered within Slack's three seconds"
    assert answer == {}, answer


async def test_text_this_message_opens_the_modal_with_its_text_and_a_link_back(
    system: LocalSystem,
):
    system.slack.users["U0BOB"] = BOB
    assert system.session is not None
    status = await system.slack.use_message_shortcut(
        system.session,
        system.url + "/slack/events",
        SIGNING_SECRET,
        "text_this_message",
        text="DB primary down, see <https://status.example/inc/42|INC-42> &amp; <@U0CAROL|carol>",
        ts="1764115200.001200",
        channel_id=DEMO_CHANNEL,
    )
    assert status == 200
    await system.wait_for(lambda: system.slack.calls_to("views.open"))
    view_id = str(next(iter(system.slack.views)))
    typed = system.slack.typed[view_id]["message"]
    assert typed == (
        "DB primary down, see INC-42 & @carol\n"
        f"https://demo.slack.com/archives/{DEMO_CHANNEL}/p1764115200001200"
    )
    await type_in(system, view_id, people=["U0BOB"])
    assert await submit(system, view_id) == {}
    await system.wait_for(lambda: system.gateway.sent)
    assert system.gateway.sent[0]["content"] == typed
    assert system.gateway.sent[0]["mobile"] == "2348031000011"
