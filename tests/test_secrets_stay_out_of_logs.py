"""No credential ever reaches the logs, even with every logger at DEBUG.

A full round trip runs through a LocalSystem (the real bot, the gateway simulator, the Slack
stand-in, all over loopback HTTP) while pytest's caplog records every logger at DEBUG: a send
to two numbers, the simulator's pushed reports, the tracked message's update, a balance, a
status query, a report with a wrong secret and a Slack request with a bad signature. Then the
Slack bot token, the signing secret, the gateway's appSecret and its MD5 digest (both cases)
must not appear in any log line, any record's arguments or any logged traceback.
"""

from __future__ import annotations

import json
import logging
import time

import pytest

from bot.gateway import secret_digest
from standins.local import DEMO_CHANNEL, SIGNING_SECRET, LocalSystem
from standins.slack import ChannelMessage
from tests.conftest import SystemFactory

DELIVERS = "+2348031000010"
FAILS = "+2348031000019"


def settled(system: LocalSystem) -> ChannelMessage | None:
    messages = system.slack.channel_messages(DEMO_CHANNEL)
    return messages[0] if messages and " 0 pending" in messages[0].text else None


def secrets_of(system: LocalSystem) -> dict[str, str]:
    app_secret = system.gateway.config.app_secret
    digest = secret_digest(app_secret)
    return {
        "Slack bot token": system.slack.token,
        "Slack signing secret": SIGNING_SECRET,
        "gateway appSecret": app_secret,
        "gateway appSecret MD5 (uppercase)": digest.upper(),
        "gateway appSecret MD5 (lowercase)": digest.lower(),
    }


def rendered(record: logging.LogRecord) -> list[str]:
    """Every form in which a record's content could reach a log sink."""
    texts = [str(record.msg), record.getMessage(), record.exc_text or "", record.stack_info or ""]
    args = record.args if isinstance(record.args, tuple) else (record.args,)
    for arg in args:
        texts += [str(arg), repr(arg)]
    if record.exc_info and record.exc_info[1] is not None:
        texts += [str(record.exc_info[1]), repr(record.exc_info[1])]
    return texts


async def round_trip(system: LocalSystem) -> None:
    """Everything the bot does with its credentials, once each."""
    assert system.session is not None and system.settings is not None

    status, ack = await system.slash(f"send {DELIVERS},{FAILS} Your code is 279275")
    assert status == 200 and "Sending your SMS to 2 numbers" in ack
    message = await system.wait_for(lambda: settled(system), timeout=15)
    assert "1 delivered, 1 failed, 0 pending" in message.text
    assert message.edits >= 1, "the tracked message should have been updated by the reports"
    assert len(system.gateway.pushes) >= 2
    msg_id = system.gateway.sent[0]["msgId"]

    await system.slash("balance")
    await system.slash(f"status {msg_id}")
    answers = await system.wait_for(lambda: system.slack.responses[2:] and system.slack.responses)
    texts = [answer["text"] for answer in answers]
    assert any(text.startswith("Balance: ") for text in texts), texts
    assert any(f"msgId {msg_id}" in text for text in texts), texts

    report = {"msgId": msg_id, "mobile": DELIVERS.lstrip("+"), "status": 0, "errorCode": "DELIVRD"}
    wrong = {"appKey": system.gateway.config.app_key, "appSecret": secret_digest("not-it")}
    url = system.url + system.settings.sms_report_path
    async with system.session.post(url, data=json.dumps(report), headers=wrong) as reply:
        assert reply.status == 401

    body = "command=%2Fsms&text=balance&user_id=U0MALLORY"
    forged = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": str(int(time.time())),
        "X-Slack-Signature": "v0=" + "0" * 64,
    }
    async with system.session.post(system.url + "/slack/events", data=body, headers=forged) as r:
        assert r.status == 401


async def test_no_secret_reaches_the_logs_during_a_full_round_trip(
    make_system: SystemFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    system = await make_system()
    await round_trip(system)

    records = caplog.records
    ours = [
        r
        for r in records
        if r.name.split(".")[0] in ("smsbot", "bot", "server", "listeners", "storage", "slack_bolt")
    ]
    assert any(r.levelno == logging.DEBUG for r in ours), "nothing of ours was logged at DEBUG"
    # slack_sdk logs each Web API request with its headers at DEBUG: the path a token would
    # leak by is taken (it prints the Authorization header as "(redacted)")
    assert any(
        r.name.startswith("smsbot.") and "Authorization" in r.getMessage() for r in records
    ), "no Web API request was logged with its headers"
    assert any("refused" in r.getMessage() for r in records), "the bad report was not logged"

    leaks = [
        f"{name} in a record of {record.name} ({record.levelname}): {text[:300]!r}"
        for record in records
        for text in rendered(record)
        for name, secret in secrets_of(system).items()
        if secret in text
    ]
    leaks += [
        f"{name} in caplog.text"
        for name, secret in secrets_of(system).items()
        if secret in caplog.text
    ]
    assert not leaks, "\n".join(dict.fromkeys(leaks))
