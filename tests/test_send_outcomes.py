"""What a `/sms send` answer from the gateway means: "not sent" only when the gateway says so.

Only the documented refusals (1001-1011) mean nothing went out. A 9999, a code the document
does not list, a body that is not its JSON, a timeout and a connection dropped after the
request went out all leave the SMS maybe sent: the recipient is `unknown`, the sender is told
it may have gone out and how to look, and nothing is sent again. Each case is played by the
gateway simulator (its `send_*` knobs) behind a real signed `/sms send`.
"""

from __future__ import annotations

from typing import Any

import pytest

from standins.local import DEMO_CHANNEL, LocalSystem
from standins.manual_clock import ManualClock
from tests.conftest import SystemFactory
from tests.stored import records

NUMBER = "+2348031000010"
QUICK = {"SMS_GATEWAY_TIMEOUT": "0.5"}
# past the first status poll (SMS_POLL_AFTER, 300 s) and every worker round before it
PAST_EVERY_ROUND = 330.0

MAYBE_SENT: dict[str, dict[str, Any]] = {
    "9999 unknown error": {"send_code": 9999},
    "undocumented code 4242": {"send_code": 4242},
    "no-report code 1012 on a send": {"send_code": 1012},
    "body that is not JSON": {"send_body": "OK, message queued"},
    "JSON without a result code": {"send_body": '{"status": "ok", "id": 12}'},
    "timeout": {"send_delay": 1.5},
    "connection dropped after the request": {"send_drop": True},
}
REFUSALS = list(range(1001, 1012))


def stored(system: LocalSystem) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    return records(system, "SELECT * FROM sends"), records(system, "SELECT * FROM recipients")


def sends_made(system: LocalSystem) -> list[Any]:
    return [body for op, body in system.gateway.requests if op == "send"]


async def answer_to_sender(system: LocalSystem, clock: ManualClock) -> str:
    responses = await clock.advance_until(lambda: system.slack.responses, step=0.5)
    assert responses[0]["response_type"] == "ephemeral"
    return str(responses[0]["text"])


@pytest.mark.parametrize("fault", list(MAYBE_SENT))
async def test_an_answer_that_does_not_say_not_sent_leaves_the_sms_unknown_and_never_resent(
    make_system: SystemFactory, fault: str
) -> None:
    clock = ManualClock()
    system = await make_system(env=QUICK, clock=clock, **MAYBE_SENT[fault])
    await system.slash(f"send {NUMBER} hi")

    text = await answer_to_sender(system, clock)
    assert "may or may not have been sent" in text, text
    assert "will not re-send" in text and "/sms status" in text, text
    assert "Nothing was sent" not in text and "were not sent" not in text, text

    (message,) = await system.wait_for(lambda: system.slack.channel_messages(DEMO_CHANNEL))
    assert "1 unknown" in message.text, message.text
    sends, recipients = stored(system)
    assert len(sends) == 1
    assert [(r["mobile"], r["state"], r["msg_id"]) for r in recipients] == [
        (NUMBER.lstrip("+"), "unknown", None)
    ]

    await system.slash("status")
    listed = await system.wait_for(lambda: system.slack.responses[1:])
    assert "1 unknown" in listed[0]["text"], listed[0]["text"]
    await clock.advance(PAST_EVERY_ROUND)
    assert [body["mobile"] for body in sends_made(system)] == [NUMBER.lstrip("+")]


@pytest.mark.parametrize("code", REFUSALS)
async def test_a_documented_refusal_says_nothing_was_sent_and_keeps_nothing(
    make_system: SystemFactory, code: int
) -> None:
    clock = ManualClock()
    system = await make_system(env=QUICK, clock=clock, send_code=code)
    await system.slash(f"send {NUMBER} hi")

    text = await answer_to_sender(system, clock)
    assert "Nothing was sent" in text and f"gateway code {code}" in text, text
    assert "may or may not" not in text, text

    await clock.advance(PAST_EVERY_ROUND)
    assert system.slack.calls_to("chat.postMessage") == []
    assert stored(system) == ([], [])
    assert len(sends_made(system)) == 1
    assert system.gateway.sent == []
