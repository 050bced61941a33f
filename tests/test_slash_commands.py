"""`/sms` subcommands through signed Slack requests to the running bot.

The ack is what the user sees at once; `system.slack.responses` holds the ephemeral
follow-ups posted to the response_url; the gateway simulator records what reached it.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from standins.local import DEMO_CHANNEL, LocalSystem
from standins.slack import ChannelMessage, plain
from tests.conftest import SystemFactory

DELIVERS = "+2348031000010"
FAILS = "+2348031000019"


async def first_response(system: LocalSystem) -> dict[str, Any]:
    responses = await system.wait_for(lambda: system.slack.responses, timeout=5)
    return responses[0]


async def forget_send_confirmation(system: LocalSystem) -> None:
    """Wait for the send's private confirmation, then forget it, so the next one is read."""
    await system.wait_for(lambda: system.slack.responses, timeout=5)
    system.slack.responses.clear()


async def settled(system: LocalSystem) -> ChannelMessage:
    return await system.wait_for(
        lambda: next(
            (m for m in system.slack.channel_messages(DEMO_CHANNEL) if " 0 pending" in m.text),
            None,
        ),
        timeout=5,
    )


async def nothing_reached_the_gateway(system: LocalSystem) -> None:
    await asyncio.sleep(0.3)  # the handler runs after the ack: give it time to misbehave
    assert system.gateway.requests == []
    assert system.gateway.sent == []
    assert system.slack.calls_to("chat.postMessage") == []


# help and grammar errors


@pytest.mark.parametrize("text", ["", "help", "  help  "])
async def test_bare_sms_and_help_ack_with_usage(system: LocalSystem, text: str) -> None:
    status, ack = await system.slash(text)
    assert status == 200
    for usage in ("/sms send", "/sms balance", "/sms status"):
        assert usage in ack
    await nothing_reached_the_gateway(system)


async def test_unknown_subcommand_is_named_and_a_close_one_suggested(system: LocalSystem) -> None:
    status, ack = await system.slash("sned +2348031000010 hi")
    assert status == 200
    assert "don't know the subcommand" in ack
    assert "sned" in ack
    assert "Did you mean `send`?" in ack
    await nothing_reached_the_gateway(system)


async def test_unknown_subcommand_without_close_match_points_to_help(system: LocalSystem) -> None:
    _, ack = await system.slash("frobnicate")
    assert "frobnicate" in ack and "/sms help" in ack
    assert "Did you mean" not in ack


async def test_bad_number_is_named_and_nothing_is_sent(system: LocalSystem) -> None:
    status, ack = await system.slash("send +23480 hello there")
    assert status == 200
    assert "+23480" in ack
    assert "not a valid phone number" in ack
    await nothing_reached_the_gateway(system)
    assert system.slack.responses == []


async def test_one_bad_number_among_good_ones_stops_the_whole_send(system: LocalSystem) -> None:
    _, ack = await system.slash(f"send {DELIVERS},+99912 hello")
    assert "+99912" in ack
    await nothing_reached_the_gateway(system)


async def test_empty_message_is_refused_clearly(system: LocalSystem) -> None:
    status, ack = await system.slash(f"send {DELIVERS}")
    assert status == 200
    assert "message is empty" in ack
    await nothing_reached_the_gateway(system)


async def test_a_message_holding_a_nul_character_is_refused_in_the_ack(
    system: LocalSystem,
) -> None:
    """U+0000 cannot be stored in PostgreSQL text nor sent by many gateways: said at once,
    on either database, instead of a send that fails after "Sending your SMS"."""
    status, ack = await system.slash(f"send {DELIVERS} -- disk\x00full")
    assert status == 200
    assert "NUL character (U+0000)" in ack
    await nothing_reached_the_gateway(system)


async def test_send_without_recipients_asks_who(system: LocalSystem) -> None:
    _, ack = await system.slash("send hello there")
    assert "Who should get it?" in ack
    await nothing_reached_the_gateway(system)


# balance


async def test_balance_is_told_to_the_user_only(system: LocalSystem) -> None:
    status, _ = await system.slash("balance")
    assert status == 200
    response = await first_response(system)
    assert response["text"] == "Balance: 100.00 CNY"
    assert response["response_type"] == "ephemeral"
    assert [op for op, _ in system.gateway.requests] == ["balance"]


async def test_balance_with_extra_words_is_refused(system: LocalSystem) -> None:
    _, ack = await system.slash("balance now")
    assert "takes nothing after it" in ack
    await nothing_reached_the_gateway(system)


# status


async def test_status_of_a_send_lists_each_number_with_its_state(system: LocalSystem) -> None:
    await system.slash(f"send {DELIVERS},{FAILS} hello")
    await settled(system)
    msg_id = system.gateway.sent[0]["msgId"]
    await forget_send_confirmation(system)
    await system.slash(f"status {msg_id}")
    text = (await first_response(system))["text"]
    assert msg_id in text
    assert "1 delivered, 1 failed, 0 pending" in text
    lines = text.splitlines()
    assert any("803 100 0010" in line and "delivered" in line for line in lines), text
    assert any("803 100 0019" in line and "failed" in line for line in lines), text
    assert "undeliverable (UNDELIV)" in text
    # both recipients are final: nothing to ask the gateway
    assert [op for op, _ in system.gateway.requests] == ["send"]


async def test_status_without_msgid_lists_the_channels_recent_sends(system: LocalSystem) -> None:
    await system.slash(f"send {DELIVERS} first")
    await settled(system)
    msg_id = system.gateway.sent[0]["msgId"]
    await forget_send_confirmation(system)
    await system.slash("status")
    text = (await first_response(system))["text"]
    assert "Recent SMS from this channel" in text
    assert msg_id in text
    assert "1 delivered, 0 failed, 0 pending" in text


async def test_status_without_msgid_in_a_quiet_channel_says_so(system: LocalSystem) -> None:
    await system.slash("status")
    text = (await first_response(system))["text"]
    assert "No SMS has been sent from this channel yet" in text


async def test_status_of_other_channels_send_is_not_listed_as_recent(system: LocalSystem) -> None:
    await system.slash(f"send {DELIVERS} elsewhere", channel_id="C0OTHER")
    await system.wait_for(lambda: system.gateway.sent and system.slack.responses)
    await forget_send_confirmation(system)
    await system.slash("status")
    text = (await first_response(system))["text"]
    assert "No SMS has been sent from this channel yet" in text


async def test_status_of_unknown_msgid_says_there_is_no_such_sms(system: LocalSystem) -> None:
    await system.slash("status 999")
    text = (await first_response(system))["text"]
    assert "no SMS with msgId 999" in text
    assert system.gateway.requests == []


async def test_status_with_non_digit_msgid_is_a_usage_error(system: LocalSystem) -> None:
    _, ack = await system.slash("status abc")
    assert "not a msgId" in ack
    await nothing_reached_the_gateway(system)


async def test_status_of_silent_number_asks_the_gateway_and_shows_pending(
    make_system: SystemFactory,
) -> None:
    system = await make_system(silent_suffixes=("7",))
    await system.slash("send +2348031000017 anyone there?")
    await system.wait_for(lambda: system.slack.channel_messages(DEMO_CHANNEL))
    msg_id = system.gateway.sent[0]["msgId"]
    await forget_send_confirmation(system)
    await system.slash(f"status {msg_id}")
    text = (await first_response(system))["text"]
    assert "0 delivered, 0 failed, 1 pending" in text
    assert any("803 100 0017" in line and "pending" in line for line in text.splitlines())
    status_queries = [body for op, body in system.gateway.requests if op == "status"]
    assert status_queries == [{"data": [{"msgId": msg_id, "mobile": "2348031000017"}]}]


# escaping


async def test_escaped_message_reaches_gateway_unescaped_and_channel_escaped(
    system: LocalSystem,
) -> None:
    await system.slash(f"send {DELIVERS} &lt;b&gt; &amp; co")
    message = await settled(system)
    assert system.gateway.sent[0]["content"] == "<b> & co"
    shown = plain(message)
    assert "&lt;b&gt; &amp; co" in shown
    for block in message.blocks:
        texts = [block.get("text", {}).get("text", "")]
        texts += [e.get("text", "") for e in block.get("elements", [])]
        for text in texts:
            assert "<b>" not in text
            assert "& co" not in text


async def test_broadcast_in_message_never_pings_the_channel(system: LocalSystem) -> None:
    await system.slash(f"send {DELIVERS} hello <!channel>")
    message = await settled(system)
    assert system.gateway.sent[0]["content"] == "hello @channel"
    assert "<!channel>" not in plain(message)
    assert "<!channel>" not in message.text


async def test_status_shows_full_numbers_to_the_sender_and_masked_ones_to_others(
    system: LocalSystem,
) -> None:
    await system.slash(f"send {DELIVERS} hello")
    await settled(system)
    msg_id = system.gateway.sent[0]["msgId"]
    await forget_send_confirmation(system)
    await system.slash(f"status {msg_id}", user_id="U0CAROL")
    text = (await first_response(system))["text"]
    assert "+234 803 ••• 0010" in text and "100 0010" not in text
    system.slack.responses.clear()
    await system.slash(f"status {msg_id}")
    assert "+234 803 100 0010" in (await first_response(system))["text"]


async def test_status_of_another_channels_send_is_not_shown_to_others(
    system: LocalSystem,
) -> None:
    await system.slash(f"send {DELIVERS} private", channel_id="C0OTHER")
    await system.wait_for(lambda: system.slack.channel_messages("C0OTHER"))
    msg_id = system.gateway.sent[0]["msgId"]
    await forget_send_confirmation(system)
    await system.slash(f"status {msg_id}", user_id="U0CAROL")
    assert "no SMS with msgId" in (await first_response(system))["text"]
