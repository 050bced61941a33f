"""`/healthz`, `/metrics` and the signature check on `/slack/events`, over real HTTP."""

from __future__ import annotations

import asyncio
import json
import time
from urllib.parse import urlencode

from prometheus_client.parser import text_string_to_metric_families
from slack_sdk.signature import SignatureVerifier

from bot.gateway import secret_digest
from standins.local import DEMO_CHANNEL, SIGNING_SECRET, LocalSystem
from standins.slack import ChannelMessage
from tests.conftest import SystemFactory

DELIVERS = "+2348031000010"
FAILS = "+2348031000019"


async def get(system: LocalSystem, path: str) -> tuple[int, str, str]:
    """GET a path of the bot: (HTTP status, Content-Type header, body text)."""
    assert system.session is not None
    async with system.session.get(system.url + path) as reply:
        return reply.status, reply.headers.get("Content-Type", ""), await reply.text()


def value(text: str, name: str, **labels: str) -> float | None:
    """A sample of the exposition by name and exact labels, or None when it is absent."""
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    return None


async def metrics_text(system: LocalSystem) -> str:
    status, content_type, text = await get(system, "/metrics")
    assert status == 200
    assert content_type.startswith("text/plain")
    return text


async def settled(system: LocalSystem) -> ChannelMessage:
    message = await system.wait_for(
        lambda: next(
            (m for m in system.slack.channel_messages(DEMO_CHANNEL) if " 0 pending" in m.text),
            None,
        ),
        timeout=5,
    )
    return message


async def test_healthz_answers_ok_when_the_database_answers(system: LocalSystem) -> None:
    status, content_type, text = await get(system, "/healthz")
    assert status == 200
    assert content_type.startswith("application/json")
    body = json.loads(text)
    assert body["ok"] is True
    assert body["database"] == "ok"
    assert body["slack_mode"] == "http"
    assert body["slack"] in ("connecting", "connected")
    assert system.settings is not None
    if system.settings.database_url:  # PostgreSQL: the only replica, so it takes the work
        assert body["database_kind"] == "postgresql"
        assert body["role"] in ("taking over", "active")
    else:
        assert (body["database_kind"], body["role"]) == ("sqlite", "single")


async def test_metrics_before_any_send_are_zero_recipients_and_zero_sends(
    system: LocalSystem,
) -> None:
    text = await metrics_text(system)
    for state in ("accepted", "delivered", "failed", "pending", "scheduled", "unknown"):
        assert value(text, "smsbot_recipients", state=state) == 0
    assert value(text, "smsbot_sends_total", kind="send") == 0


async def test_metrics_count_sends_recipients_and_reports(system: LocalSystem) -> None:
    await system.slash(f"send {DELIVERS},{FAILS} hello")
    message = await settled(system)
    assert "1 delivered, 1 failed, 0 pending" in message.text
    await system.wait_for(lambda: system.slack.thread(DEMO_CHANNEL, message.ts))
    text = await metrics_text(system)
    assert 'smsbot_sends_total{kind="send"} 1.0' in text.splitlines()
    assert value(text, "smsbot_recipients", state="delivered") == 1
    assert value(text, "smsbot_recipients", state="failed") == 1
    assert value(text, "smsbot_recipients", state="accepted") == 0
    assert value(text, "smsbot_reports_received_total", source="push", outcome="applied") == 2
    # the tracked message and the failure's thread reply; then edits in place
    assert value(text, "smsbot_slack_updates_total", method="chat.postMessage") == 2
    assert (value(text, "smsbot_slack_updates_total", method="chat.update") or 0) >= 1


async def test_metrics_count_reports_refused_for_bad_credentials(system: LocalSystem) -> None:
    assert system.session is not None and system.settings is not None
    config = system.gateway.config
    body = {"msgId": "240924162017564896", "mobile": "2348031000010", "status": 0}
    async with system.session.post(
        system.url + system.settings.sms_report_path,
        json=body,
        headers={"appKey": config.app_key, "appSecret": secret_digest("wrong")},
    ) as reply:
        assert reply.status == 401
    await system.slash(f"send {DELIVERS} hello")
    await settled(system)
    text = await metrics_text(system)
    assert value(text, "smsbot_reports_rejected_total", reason="credentials") == 1
    assert value(text, "smsbot_reports_received_total", source="push", outcome="applied") == 1
    assert value(text, "smsbot_sends_total", kind="send") == 1


async def test_balance_with_wrong_secret_shows_gateway_code_and_counts_the_error(
    make_system: SystemFactory,
) -> None:
    system = await make_system(env={"SMS_APP_SECRET": "wrong"})
    status, _ = await system.slash("balance")
    assert status == 200
    responses = await system.wait_for(lambda: system.slack.responses)
    assert "gateway code 1003" in responses[0]["text"]
    assert "Balance:" not in responses[0]["text"]
    text = await metrics_text(system)
    errors = "smsbot_gateway_errors_total"
    assert value(text, errors, operation="balance", kind="rejected") == 1
    assert value(text, errors, operation="send", kind="rejected") == 0


async def test_metrics_count_one_gateway_error_per_failed_call(make_system: SystemFactory) -> None:
    system = await make_system(env={"SMS_APP_SECRET": "wrong"})
    await system.slash("balance")
    await system.slash("balance")
    await system.wait_for(lambda: len(system.slack.responses) == 2)
    text = await metrics_text(system)
    assert value(text, "smsbot_gateway_errors_total", operation="balance", kind="rejected") == 2


def signed_slash(secret: str, text: str, timestamp: int) -> tuple[str, dict[str, str]]:
    body = urlencode(
        {
            "team_id": "T0DEMO",
            "channel_id": DEMO_CHANNEL,
            "user_id": "U0ALICE",
            "command": "/sms",
            "text": text,
            "response_url": "http://127.0.0.1:9/respond/1",
            "trigger_id": "1.2.3",
        }
    )
    signature = SignatureVerifier(secret).generate_signature(timestamp=str(timestamp), body=body)
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": str(timestamp),
        "X-Slack-Signature": signature,
    }
    return body, headers


async def post_events(system: LocalSystem, body: str, headers: dict[str, str]) -> int:
    assert system.session is not None
    async with system.session.post(
        system.url + "/slack/events", data=body, headers=headers
    ) as reply:
        await reply.read()
        return reply.status


async def test_slack_request_with_bad_signature_is_401_and_reaches_no_gateway(
    system: LocalSystem,
) -> None:
    # the start-up token check is the bot's only Slack call until a request is served
    await system.wait_for(lambda: system.slack.calls_to("auth.test"))
    body, headers = signed_slash("not-the-signing-secret", f"send {DELIVERS} hi", int(time.time()))
    assert await post_events(system, body, headers) == 401
    await asyncio.sleep(0.3)
    assert system.gateway.requests == []
    assert [call.method for call in system.slack.calls] == ["auth.test"]


async def test_slack_request_without_signature_headers_is_401(system: LocalSystem) -> None:
    body, _ = signed_slash(SIGNING_SECRET, "balance", int(time.time()))
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    assert await post_events(system, body, headers) == 401
    await asyncio.sleep(0.3)
    assert system.gateway.requests == []


async def test_replayed_slack_request_older_than_five_minutes_is_401(system: LocalSystem) -> None:
    body, headers = signed_slash(SIGNING_SECRET, "balance", int(time.time()) - 600)
    assert await post_events(system, body, headers) == 401
    await asyncio.sleep(0.3)
    assert system.gateway.requests == []


async def test_correctly_signed_request_does_reach_the_gateway(system: LocalSystem) -> None:
    # the control for the 401 tests: the same request, signed right, is served
    body, headers = signed_slash(SIGNING_SECRET, "balance", int(time.time()))
    assert await post_events(system, body, headers) == 200
    await system.wait_for(lambda: system.gateway.requests)
    assert system.gateway.requests[0][0] == "balance"


async def test_slack_body_with_bad_utf8_is_401_not_500(system: LocalSystem) -> None:
    assert system.session is not None
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": "v0=" + "0" * 64,
    }
    async with system.session.post(
        system.url + "/slack/events", data=b"text=\xff\xfe&command=/sms", headers=headers
    ) as reply:
        assert reply.status == 401
