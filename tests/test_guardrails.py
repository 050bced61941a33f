"""Who may send, how often and to how many: refusals are private, in words, and logged."""

from __future__ import annotations

import logging

import pytest

from standins.local import LocalSystem
from tests.conftest import SystemFactory

NUMBER = "+2348031000010"


async def refused_with(system: LocalSystem, text: str, **where: str) -> str:
    """The words a refused command gets back (in the ack or the private follow-up)."""
    _, ack = await system.slash(text, **where)
    if "Sending" not in ack and "Paging" not in ack:
        return ack
    response = await system.wait_for(lambda: system.slack.responses)
    return str(response[-1]["text"])


async def test_a_channel_not_on_the_allow_list_is_refused(make_system: SystemFactory):
    system = await make_system(env={"SMS_ALLOWED_CHANNELS": "C0OPS"})
    words = await refused_with(system, f"send {NUMBER} hi", channel_id="C0GENERAL")
    assert "can't be sent from this channel" in words and "<#C0OPS>" in words
    assert system.gateway.requests == []
    await system.slash(f"send {NUMBER} hi", channel_id="C0OPS")
    await system.wait_for(lambda: system.gateway.sent)


async def test_a_user_not_on_the_allow_list_is_refused(make_system: SystemFactory):
    system = await make_system(env={"SMS_ALLOWED_USERS": "U0ALICE"})
    words = await refused_with(system, f"send {NUMBER} hi", user_id="U0MALLORY")
    assert "not on the list of people who may send" in words
    assert system.gateway.requests == []


async def test_members_of_an_allowed_group_may_send_and_others_not(make_system: SystemFactory):
    system = await make_system(env={"SMS_ALLOWED_GROUPS": "S0SRE"})
    system.slack.groups["S0SRE"] = ["U0ALICE"]
    words = await refused_with(system, f"send {NUMBER} hi", user_id="U0MALLORY")
    assert "not on the list" in words
    assert system.gateway.requests == []
    system.slack.responses.clear()
    await system.slash(f"send {NUMBER} hi", user_id="U0ALICE")
    await system.wait_for(lambda: system.gateway.sent)


async def test_a_user_over_the_hourly_limit_is_refused_with_the_wait(
    make_system: SystemFactory, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.INFO, logger="bot.guard")
    system = await make_system(env={"SMS_RATE_LIMIT": "2"})
    for n in range(2):
        await system.slash(f"send {NUMBER} message {n}")
        await system.wait_for(lambda n=n: len(system.gateway.sent) == n + 1)
    words = await refused_with(system, f"send {NUMBER} one too many")
    assert "limit (SMS_RATE_LIMIT=2)" in words and "Try again in 60 minutes" in words
    assert len(system.gateway.sent) == 2
    assert any("refused /sms for user U0ALICE" in r.getMessage() for r in caplog.records)
    _, other = await system.slash(f"send {NUMBER} from bob", user_id="U0BOB")
    assert "Sending" in other


async def test_more_recipients_than_allowed_are_refused_before_sending(
    make_system: SystemFactory,
):
    system = await make_system(env={"SMS_MAX_RECIPIENTS": "2"})
    words = await refused_with(system, "send +2348031000010,+2348031000011,+2348031000012 hi")
    assert "3 recipients" in words and "at most 2" in words
    assert system.gateway.requests == []


async def test_a_group_larger_than_allowed_is_refused_before_any_profile_is_read(
    make_system: SystemFactory,
):
    system = await make_system(env={"SMS_MAX_RECIPIENTS": "3"})
    members = [f"U0M{n:03d}" for n in range(5)]
    system.slack.groups["S0ALL"] = members
    for n, user in enumerate(members):
        system.slack.users[user] = {"phone": f"+23480310001{n:02d}"}
    words = await refused_with(system, "page <!subteam^S0ALL|@everyone-oncall> db down")
    assert "5 recipients" in words and "at most 3" in words
    assert system.slack.calls_to("users.info") == []
    assert system.gateway.requests == []


async def test_refusals_are_counted_in_metrics(make_system: SystemFactory):
    system = await make_system(env={"SMS_ALLOWED_CHANNELS": "C0OPS"})
    await refused_with(system, f"send {NUMBER} hi")
    assert system.session
    async with system.session.get(system.url + "/metrics") as response:
        assert 'smsbot_refusals_total{reason="channel"} 1.0' in await response.text()
