"""`/sms alerts …` through signed Slack requests: integrations added, listed, rotated, removed.

Answers are private (ephemeral follow-ups in `system.slack.responses`); a URL a person was
given is posted to over HTTP to see whether it still works.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from standins.local import LocalSystem
from tests.alert_integrations import add_integration, answer, post_alert, token_in
from tests.conftest import SystemFactory

REPO = Path(__file__).resolve().parent.parent
FIRING = {"key": "backup", "status": "firing", "title": "Nightly backup failed"}
BOB = {"real_name": "Bob", "phone": "+234 803 100 0012"}
NOPHONE = {"real_name": "Erin"}
PUBLIC = {"SMS_PUBLIC_URL": "https://smsbot.example.com/"}


def people(system: LocalSystem) -> None:
    system.slack.users.update(U0BOB=BOB, U0ERIN=NOPHONE)
    system.slack.groups["S0ONCALL"] = ["U0BOB"]


# add


async def test_add_answers_privately_with_the_url_built_from_sms_public_url(
    make_system: SystemFactory,
) -> None:
    system = await make_system(PUBLIC)
    people(system)
    response = await answer(
        system, "alerts add Prod-DB +2348031000010,2348031000011 <@U0BOB|bob> <!subteam^S0ONCALL>"
    )
    text = response["text"]
    assert text.startswith(
        ":white_check_mark: Added alert integration `prod-db`: alerts posted to it page "
        "+234 803 100 0010, +234 803 100 0011, <@U0BOB>, <!subteam^S0ONCALL>, "
        "and show in <#C0GENERAL>.\n"
    )
    assert re.search(r"`https://smsbot\.example\.com/alerts/[A-Za-z0-9_\-]{43}`", text)
    assert "keep it like a password" in text and "/sms alerts rotate prod-db" in text
    assert system.slack.calls_to("chat.postMessage") == []
    assert system.gateway.requests == []


async def test_the_url_add_gives_takes_alerts(system: LocalSystem) -> None:
    token = await add_integration(system)
    assert await post_alert(system, token, FIRING) == (200, {"ok": True})


async def test_each_integration_gets_its_own_random_url(system: LocalSystem) -> None:
    tokens = {await add_integration(system, f"i{n}") for n in range(5)}
    assert len(tokens) == 5


async def test_a_name_already_taken_is_refused_and_its_url_keeps_working(
    system: LocalSystem,
) -> None:
    token = await add_integration(system)
    response = await answer(system, "alerts add PROD +2348031000011", channel_id="C0OTHER")
    assert response["text"] == (
        "There is already an alert integration `prod` in this workspace (in <#C0GENERAL>). "
        "Pick another name, or `/sms alerts rotate prod` for a new URL."
    )
    assert (await post_alert(system, token, FIRING))[0] == 200


async def test_recipients_are_checked_now_and_one_without_a_phone_is_named(
    system: LocalSystem,
) -> None:
    people(system)
    response = await answer(system, "alerts add prod <@U0BOB|bob> <@U0ERIN|erin>")
    assert response["text"].startswith(":white_check_mark: Added alert integration `prod`")
    assert ":warning: Not reachable now: " in response["text"]
    assert response["text"].endswith(
        ":warning: Not reachable now: <@U0ERIN> has no phone number in their Slack profile."
    )


async def test_an_integration_nobody_in_which_can_be_texted_is_not_added(
    system: LocalSystem,
) -> None:
    people(system)
    response = await answer(system, "alerts add prod <@U0ERIN|erin>")
    assert response["text"].startswith(":x: `prod` was not added: nobody in it can be texted now. ")
    listed = await answer(system, "alerts")
    assert listed["text"].startswith("No alert integrations in this workspace yet.")


async def test_more_recipients_than_sms_max_recipients_is_refused(
    make_system: SystemFactory,
) -> None:
    system = await make_system({"SMS_MAX_RECIPIENTS": "2"})
    response = await answer(system, "alerts add prod +2348031000010,+2348031000011,+2348031000012")
    assert response["text"] == (
        "That is 3 recipients; a page may reach at most 2 (SMS_MAX_RECIPIENTS). "
        "The integration was not added."
    )


async def test_a_saved_contact_is_a_recipient_and_stays_a_name(system: LocalSystem) -> None:
    await answer(system, "contacts add oncall +2348031000010")
    response = await answer(system, "alerts add prod oncall")
    assert "page `oncall`, and show in" in response["text"]
    await answer(system, "contacts add oncall +2348031000019")
    listed = await answer(system, "alerts list")
    assert listed["text"].splitlines()[1] == "• `prod` in <#C0GENERAL> — pages `oncall`"


async def test_a_direct_message_cannot_hold_an_integration(system: LocalSystem) -> None:
    response = await answer(system, "alerts add prod +2348031000010", channel_id="D0ALICE")
    assert response["text"].startswith("Add an integration in the channel where its pages")
    assert "No alert integrations" in (await answer(system, "alerts"))["text"]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("alerts add prod", "Who should `prod` page?"),
        ("alerts add +2348031000010", "Put the integration's name first"),
        ("alerts add prod +2348031000010 DB is down", "“DB” is not a phone number"),
        ("alerts add prod +2348031000010 -- x", "“--” is not a phone number"),
        ("alerts add 1prod +2348031000010", "can't be an integration name"),
        ("alerts add prod 12", "“12”"),
        ("alerts delete prod", "Did you mean `/sms alerts remove`?"),
        ("alerts regenerate prod", "Did you mean `/sms alerts rotate`?"),
        ("alerts rotate", "Which integration?"),
        ("alerts remove a b", "remove integrations one at a time"),
        ("alerts list everything", "takes nothing after it"),
    ],
)
async def test_a_mistake_is_said_in_the_ack_with_the_usage(
    system: LocalSystem, text: str, reason: str
) -> None:
    status, ack = await system.slash(text)
    assert status == 200
    assert reason in ack
    assert ack.endswith("`/sms alerts rotate NAME`")
    assert system.slack.responses == []


# list


async def test_list_shows_names_channels_and_masked_recipients_never_urls(
    system: LocalSystem,
) -> None:
    people(system)
    token = await add_integration(system, "prod", "+2348031000010 <!subteam^S0ONCALL|@oncall>")
    await add_integration(system, "backups", "<@U0BOB|bob>", channel_id="C0OPS")
    response = await answer(system, "alerts list", user_id="U0SOMEONE")
    assert response["text"].splitlines() == [
        "*Alert integrations in this workspace* (2)",
        "• `backups` in <#C0OPS> — pages <@U0BOB>",
        "• `prod` in <#C0GENERAL> — pages +234 803 ••• 0010, <!subteam^S0ONCALL>",
    ]
    assert token not in response["text"] and "/alerts/" not in response["text"]


async def test_list_shows_full_numbers_when_masking_is_off(make_system: SystemFactory) -> None:
    system = await make_system({"SMS_MASK_NUMBERS": "false"})
    await add_integration(system)
    assert "+234 803 100 0010" in (await answer(system, "alerts"))["text"]


async def test_an_empty_workspace_is_told_how_to_add_one(system: LocalSystem) -> None:
    text = (await answer(system, "alerts"))["text"]
    assert text == (
        "No alert integrations in this workspace yet. In the channel where pages should "
        "appear: `/sms alerts add prod-db @dba-oncall`"
    )


# rotate and remove


async def test_rotate_gives_a_new_url_and_the_old_one_is_404_at_once(system: LocalSystem) -> None:
    old = await add_integration(system)
    response = await answer(system, "alerts rotate PROD")
    assert response["text"].startswith(
        ":white_check_mark: New URL for alert integration `prod`; the old one stopped working"
    )
    new = token_in(response)
    assert new != old
    assert (await post_alert(system, old, FIRING))[0] == 404
    assert (await post_alert(system, new, FIRING))[0] == 200


async def test_remove_makes_its_url_404(system: LocalSystem) -> None:
    token = await add_integration(system)
    await post_alert(system, token, FIRING)
    response = await answer(system, "alerts remove prod")
    assert response["text"].startswith("Removed alert integration `prod`: its URL answers 404")
    assert (await post_alert(system, token, FIRING))[0] == 404
    assert "No alert integrations" in (await answer(system, "alerts"))["text"]


@pytest.mark.parametrize("action", ["remove", "rotate"])
async def test_an_unknown_name_gets_the_closest_one_suggested(
    system: LocalSystem, action: str
) -> None:
    await add_integration(system, "prod-db")
    response = await answer(system, f"alerts {action} prod-bd")
    assert response["text"] == (
        "There is no alert integration `prod-bd` in this workspace. Did you mean `prod-db`?"
    )
    response = await answer(system, f"alerts {action} zzz")
    assert response["text"].endswith("See them with `/sms alerts`.")


# guardrails


@pytest.mark.parametrize(
    "text", ["alerts add prod2 +2348031000011", "alerts rotate prod", "alerts remove prod"]
)
async def test_only_people_who_may_send_may_add_rotate_or_remove(
    make_system: SystemFactory, text: str
) -> None:
    system = await make_system({"SMS_ALLOWED_USERS": "U0ALICE"})
    token = await add_integration(system)
    response = await answer(system, text, user_id="U0MALLORY")
    assert response["text"].startswith("You are not on the list of people who may send SMS.")
    assert "only those people may manage them" in response["text"]
    assert (await post_alert(system, token, FIRING))[0] == 200
    assert "`prod2`" not in (await answer(system, "alerts", user_id="U0MALLORY"))["text"]


async def test_members_of_an_allowed_group_may_add(make_system: SystemFactory) -> None:
    system = await make_system({"SMS_ALLOWED_GROUPS": "S0SRE"})
    system.slack.groups["S0SRE"] = ["U0ALICE"]
    assert await add_integration(system, user_id="U0ALICE")
    response = await answer(system, "alerts add other +2348031000011", user_id="U0MALLORY")
    assert response["text"].startswith("You are not on the list")


async def test_a_channel_not_allowed_to_send_cannot_hold_an_integration(
    make_system: SystemFactory,
) -> None:
    system = await make_system({"SMS_ALLOWED_CHANNELS": "C0OPS"})
    response = await answer(system, "alerts add prod +2348031000010", channel_id="C0GENERAL")
    assert response["text"].startswith("Alert integrations can't be managed from this channel")
    assert "<#C0OPS>" in response["text"]
    assert await add_integration(system, channel_id="C0OPS")


# help


async def test_help_and_the_manifest_mention_alerts(system: LocalSystem) -> None:
    _, ack = await system.slash("help")
    assert "`/sms alerts add NAME &lt;to&gt;`" in ack
    assert "`/sms alerts rotate NAME`" in ack
    assert "| alerts |" in (REPO / "manifest.yml").read_text()
