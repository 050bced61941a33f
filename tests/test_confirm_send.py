"""Large sends ask first: the cost privately, Send sends once, Cancel and expiry send nothing."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from standins.local import DEMO_CHANNEL, SIGNING_SECRET, LocalSystem
from standins.manual_clock import ManualClock
from standins.slack_requests import ephemeral_block_actions_body, signed_headers
from tests.conftest import SystemFactory

NUMBERS = ",".join(f"+23480310000{n}" for n in (10, 11, 12, 13))
UCS2_TEXT = " ".join(["Привет, сервер упал"] * 7)  # 139 characters, not GSM-7: 3 parts of 67


def said(system: LocalSystem, words: str) -> list[dict[str, Any]]:
    return [r for r in system.slack.responses if words in str(r.get("text", ""))]


def shown(response: dict[str, Any]) -> str:
    """Everything a confirmation's blocks say, as one string."""
    texts = []
    for block in response["blocks"]:
        if "text" in block:
            texts.append(block["text"]["text"])
        texts += [field["text"] for field in block.get("fields", [])]
        for element in block.get("elements", []):
            text = element.get("text", "")
            texts.append(text["text"] if isinstance(text, dict) else text)
    return "\n".join(str(text) for text in texts)


async def confirmation(system: LocalSystem, text: str, **where: str) -> dict[str, Any]:
    """Type the command and wait for the answer with buttons."""
    await system.slash(text, **where)
    return await system.wait_for(
        lambda: next((r for r in system.slack.responses if r.get("blocks")), None)
    )


async def press(
    system: LocalSystem, asked: dict[str, Any], action: str, user: str = "U0ALICE"
) -> None:
    """Press a button of the ephemeral confirmation, as Slack posts a signed block_actions."""
    assert system.session is not None
    body = ephemeral_block_actions_body(
        asked["blocks"], DEMO_CHANNEL, action, user, system.slack.new_response_url()
    )
    headers = signed_headers(SIGNING_SECRET, body)
    async with system.session.post(
        system.url + "/slack/events", data=body, headers=headers
    ) as response:
        assert response.status == 200


@pytest.mark.parametrize("kind", ["send", "page"])
async def test_above_the_threshold_the_cost_is_shown_and_nothing_sent_until_send(
    make_system: SystemFactory, kind: str
):
    system = await make_system(env={"SMS_SIGNATURE": "ACME"})
    asked = await confirmation(system, f"{kind} {NUMBERS} {UCS2_TEXT}")
    words = shown(asked)
    assert asked["response_type"] == "ephemeral"
    assert "UCS-2" in words and "*Parts per SMS*\n3" in words and "*Recipients*\n4" in words
    assert "3 × 4 = 12" in words and "12 SMS parts" in asked["text"]
    assert f"【ACME】{UCS2_TEXT}" in words, "the text as it will go out, signature included"
    await asyncio.sleep(0.3)
    assert system.gateway.requests == [], "nothing is sent before Send"

    await press(system, asked, "confirm_send")
    await system.wait_for(lambda: said(system, "Sent to"))
    (sent,) = system.gateway.sent
    assert sorted(sent["mobile"].split(",")) == [n.lstrip("+") for n in NUMBERS.split(",")]
    assert sent["content"] == f"【ACME】{UCS2_TEXT}"
    assert said(system, "Sending…")[0]["replace_original"] is True, "the buttons go away"
    await system.wait_for(lambda: system.slack.channel_messages(DEMO_CHANNEL))


async def test_below_the_threshold_it_sends_at_once_as_before(system: LocalSystem):
    await system.slash(f"send {NUMBERS} DB primary down")  # 4 recipients x 1 part
    await system.wait_for(lambda: said(system, "Sent to"))
    assert len(system.gateway.sent) == 1
    assert not any(r.get("blocks") for r in system.slack.responses)


async def test_the_threshold_is_a_setting(make_system: SystemFactory):
    system = await make_system(env={"SMS_CONFIRM_ABOVE": "3"})
    asked = await confirmation(system, f"send {NUMBERS} DB primary down")
    assert "1 part each (GSM-7)" in asked["text"] and "4 SMS parts" in asked["text"]


async def test_pressing_send_twice_sends_once(system: LocalSystem):
    asked = await confirmation(system, f"send {NUMBERS} {UCS2_TEXT}")
    await asyncio.gather(press(system, asked, "confirm_send"), press(system, asked, "confirm_send"))
    await system.wait_for(lambda: said(system, "Sent to"))
    await system.wait_for(lambda: said(system, "sent already, once"))
    await press(system, asked, "confirm_send")  # a retried request, later
    await system.wait_for(lambda: len(said(system, "sent already, once")) == 2)
    assert len(system.gateway.sent) == 1


async def test_cancel_says_so_and_a_later_send_sends_nothing(system: LocalSystem):
    asked = await confirmation(system, f"send {NUMBERS} {UCS2_TEXT}")
    await press(system, asked, "cancel_send")
    (cancelled,) = await system.wait_for(lambda: said(system, "Cancelled. Nothing was sent."))
    assert cancelled["replace_original"] is True
    await press(system, asked, "confirm_send")
    await system.wait_for(lambda: said(system, "That send was cancelled"))
    assert system.gateway.requests == []


async def test_a_confirmation_older_than_ten_minutes_has_expired(make_system: SystemFactory):
    clock = ManualClock()
    system = await make_system(clock=clock)
    asked = await confirmation(system, f"send {NUMBERS} {UCS2_TEXT}")
    await clock.advance(10 * 60 + 1)
    await press(system, asked, "confirm_send")
    (expired,) = await system.wait_for(lambda: said(system, "That confirmation expired"))
    assert "Send works for 10 minutes" in expired["text"] and "Nothing was sent" in expired["text"]
    await press(system, asked, "confirm_send")
    await system.wait_for(lambda: len(said(system, "That confirmation expired")) == 2)
    assert system.gateway.requests == []


async def test_send_within_ten_minutes_still_sends(make_system: SystemFactory):
    clock = ManualClock()
    system = await make_system(clock=clock)
    asked = await confirmation(system, f"send {NUMBERS} {UCS2_TEXT}")
    await clock.advance(9 * 60)
    await press(system, asked, "confirm_send")
    await system.wait_for(lambda: system.gateway.sent)


async def test_only_the_person_who_asked_may_press_send(system: LocalSystem):
    asked = await confirmation(system, f"send {NUMBERS} {UCS2_TEXT}")
    await press(system, asked, "confirm_send", user="U0MALLORY")
    await press(system, asked, "cancel_send", user="U0MALLORY")
    await system.wait_for(lambda: len(said(system, "Only the person who typed")) == 2)
    assert system.gateway.requests == []
    await press(system, asked, "confirm_send")
    await system.wait_for(lambda: system.gateway.sent)


async def test_the_guard_is_asked_again_when_send_is_pressed(make_system: SystemFactory):
    system = await make_system(env={"SMS_RATE_LIMIT": "1"})
    asked = await confirmation(system, f"send {NUMBERS} {UCS2_TEXT}")
    await system.slash("send +2348031000010 a small one meanwhile")
    await system.wait_for(lambda: said(system, "Sent to"))
    await press(system, asked, "confirm_send")
    await system.wait_for(lambda: said(system, "SMS_RATE_LIMIT=1"))
    assert len(system.gateway.sent) == 1, "only the small one"


async def test_a_scheduled_send_whose_time_passed_while_waiting_sends_nothing(
    make_system: SystemFactory,
):
    clock = ManualClock()
    system = await make_system(clock=clock)
    at = (clock.now() + timedelta(minutes=3)).replace(second=0, microsecond=0)
    asked = await confirmation(system, f'send {NUMBERS} {UCS2_TEXT} --at "{at:%Y-%m-%d %H:%M}"')
    assert f"It goes out at {at:%Y-%m-%d %H:%M} UTC" in asked["text"]
    await clock.advance(4 * 60)
    await press(system, asked, "confirm_send")
    await system.wait_for(lambda: said(system, "passed while it waited for Send"))
    assert system.gateway.requests == []


async def test_a_confirmed_send_written_in_the_senders_zone_goes_out_in_the_gateways(
    make_system: SystemFactory,
):
    system = await make_system(env={"SMS_GATEWAY_TIMEZONE": "Asia/Shanghai"})
    berlin = datetime.now(ZoneInfo("Europe/Berlin")) + timedelta(days=2)
    text = f'send {NUMBERS} {UCS2_TEXT} --at "{berlin:%Y-%m-%d} 09:30 Europe/Berlin"'
    asked = await confirmation(system, text)
    await press(system, asked, "confirm_send")
    await system.wait_for(lambda: system.gateway.sent)
    shanghai = berlin.replace(hour=9, minute=30, second=0, microsecond=0).astimezone(
        ZoneInfo("Asia/Shanghai")
    )
    assert {body["sendTime"] for body in system.gateway.sent} == {f"{shanghai:%Y%m%d%H%M%S}"}


async def test_the_first_answer_does_not_say_sending_when_the_numbers_already_need_asking(
    system: LocalSystem,
):
    status, ack = await system.slash(f"send {NUMBERS} {UCS2_TEXT}")
    assert status == 200
    assert ack.startswith("Working out the cost of your SMS to"), ack
    status, ack = await system.slash("send +2348031000010 just one")
    assert ack == "Sending your SMS to 1 number…"
