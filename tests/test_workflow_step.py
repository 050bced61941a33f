"""The "Send an SMS" Workflow Builder step: Slack's `function_executed` event in, one send
through the send path, and the step ended once with `functions.completeSuccess` (msgId and
accepted count) or `functions.completeError` (the reason in words)."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
import yaml

from listeners.functions.send_sms import CALLBACK_ID, INPUTS
from standins.local import DEMO_CHANNEL, SIGNING_SECRET, LocalSystem
from standins.slack import APP_TOKEN
from standins.slack_functions import Execution
from tests.conftest import SystemFactory

MANIFEST: dict[str, Any] = yaml.safe_load(
    (Path(__file__).resolve().parents[1] / "manifest.yml").read_text()
)
DEFINITION: dict[str, Any] = MANIFEST["functions"]["send_sms"]
BOB = {"real_name": "Bob", "phone": "+234 803 100 0011"}
NUMBER = "+2348031000010"


async def run_step(system: LocalSystem, *, user_id: str | None = None, **inputs: Any) -> Execution:
    """A workflow reaches the step; the execution once the bot ended it."""
    assert system.session is not None
    status, run = await system.slack.run_step(
        system.session,
        system.url + "/slack/events",
        SIGNING_SECRET,
        "send_sms",
        inputs,
        definition=DEFINITION,
        user_id=user_id,
    )
    assert status == 200
    await system.wait_for(lambda: run.ended)
    return run


def ends(system: LocalSystem) -> list[str]:
    return [c.method for c in system.slack.calls if c.method.startswith("functions.")]


async def test_a_step_with_people_and_numbers_sends_once_and_completes_with_msgid_and_count(
    system: LocalSystem,
):
    system.slack.users["U0BOB"] = BOB
    run = await run_step(
        system,
        recipients_users=["U0BOB"],
        recipients_text=NUMBER,
        message="Server is back",
        channel_id=DEMO_CHANNEL,
    )
    (sent,) = system.gateway.sent
    assert sorted(sent["mobile"].split(",")) == ["2348031000010", "2348031000011"]
    assert sent["content"] == "Server is back"
    assert run.error is None
    assert run.outputs == {"msg_id": sent["msgId"], "accepted": 2}
    (call,) = system.slack.calls_to("functions.completeSuccess")
    assert call.token == run.token, "the step ends with the execution's own token"
    assert ends(system) == ["functions.completeSuccess"]

    def settled() -> Any:
        messages = system.slack.channel_messages(DEMO_CHANNEL)
        return messages and " 0 pending" in messages[0].text and messages[0]

    tracked = await system.wait_for(settled)
    assert "2 delivered" in tracked.text and sent["msgId"] in tracked.text


async def test_the_ack_does_not_wait_for_the_gateway(make_system: SystemFactory):
    system = await make_system(env={"SMS_GATEWAY_TIMEOUT": "4"}, send_delay=2)
    assert system.session is not None
    status, run = await system.slack.run_step(
        system.session,
        system.url + "/slack/events",
        SIGNING_SECRET,
        "send_sms",
        {"recipients_text": NUMBER, "message": "hi", "channel_id": DEMO_CHANNEL},
    )
    assert status == 200 and not run.ended, "acked while the gateway still thinks"
    await system.wait_for(lambda: run.ended)
    assert run.outputs is not None and run.outputs["accepted"] == 1


async def test_without_a_channel_the_send_is_tracked_in_the_named_persons_dm(system: LocalSystem):
    run = await run_step(system, user_id="U0ALICE", recipients_text=NUMBER, message="hello")
    assert run.outputs is not None and run.outputs["accepted"] == 1
    await system.wait_for(lambda: system.slack.channel_messages("D0ALICE"))
    assert system.slack.channel_messages(DEMO_CHANNEL) == []


async def test_a_group_handle_and_a_saved_contact_are_read_as_sms_send_reads_them(
    system: LocalSystem,
):
    system.slack.users["U0BOB"] = BOB
    system.slack.groups["S0ONCALL"] = ["U0BOB"]
    system.slack.handles = {"S0ONCALL": "oncall"}
    status, _ = await system.slash("contacts add ops +2348031000012")
    assert status == 200
    await system.wait_for(lambda: system.slack.responses)
    run = await run_step(
        system, recipients_text="@oncall, ops", message="db down", channel_id=DEMO_CHANNEL
    )
    assert run.outputs is not None and run.outputs["accepted"] == 2
    assert sorted(system.gateway.sent[0]["mobile"].split(",")) == [
        "2348031000011",
        "2348031000012",
    ]


REFUSALS: dict[str, tuple[dict[str, str], dict[str, Any], str]] = {
    "no recipients": ({}, {"message": "hi", "channel_id": DEMO_CHANNEL}, "No recipients"),
    "no message": ({}, {"recipients_text": NUMBER, "channel_id": DEMO_CHANNEL}, "message:"),
    "a bad number": (
        {},
        {"recipients_text": "+23480 oops", "message": "hi", "channel_id": DEMO_CHANNEL},
        "“oops” is not a phone number",
    ),
    "a person without a phone": (
        {},
        {"recipients_users": ["U0ERIN"], "message": "hi", "channel_id": DEMO_CHANNEL},
        "Nothing was sent",
    ),
    "nowhere to track it": ({}, {"recipients_text": NUMBER, "message": "hi"}, "Set channel_id"),
    "a channel outside SMS_ALLOWED_CHANNELS": (
        {"SMS_ALLOWED_CHANNELS": "C0OPS"},
        {"recipients_text": NUMBER, "message": "hi", "channel_id": DEMO_CHANNEL},
        "SMS can't be sent from this channel",
    ),
    "no person named while SMS_ALLOWED_USERS is set": (
        {"SMS_ALLOWED_USERS": "U0ALICE"},
        {"recipients_text": NUMBER, "message": "hi", "channel_id": DEMO_CHANNEL},
        "The workflow names no person to send as",
    ),
    "more recipients than SMS_MAX_RECIPIENTS": (
        {"SMS_MAX_RECIPIENTS": "1"},
        {
            "recipients_text": "+2348031000010 +2348031000011",
            "message": "hi",
            "channel_id": DEMO_CHANNEL,
        },
        "at most 1 (SMS_MAX_RECIPIENTS)",
    ),
}


@pytest.mark.parametrize("refusal", list(REFUSALS))
async def test_each_refusal_fails_the_step_in_words_and_sends_nothing(
    make_system: SystemFactory, refusal: str
):
    env, inputs, words = REFUSALS[refusal]
    system = await make_system(env=env)
    system.slack.users["U0ERIN"] = {"real_name": "Erin"}
    run = await run_step(system, **inputs)
    assert run.outputs is None
    assert run.error is not None and words in run.error, run.error
    assert ends(system) == ["functions.completeError"]
    assert system.slack.calls_to("functions.completeError")[0].token == run.token
    assert system.gateway.requests == []


async def test_a_named_person_outside_the_allow_list_is_refused(make_system: SystemFactory):
    system = await make_system(env={"SMS_ALLOWED_USERS": "U0BOB"})
    run = await run_step(
        system, user_id="U0ALICE", recipients_text=NUMBER, message="hi", channel_id=DEMO_CHANNEL
    )
    assert run.error == "You are not on the list of people who may send SMS."
    assert system.gateway.requests == []


def started_by(user_id: str) -> dict[str, Any]:
    """The `interactivity` input as Slack fills it for a workflow a person started."""
    return {
        "interactivity_pointer": "13.7.8e0a7c2b",
        "interactor": {"id": user_id, "secret": "c2VjcmV0"},
    }


async def test_the_person_who_started_the_workflow_is_the_sender_the_allow_list_checks(
    make_system: SystemFactory,
):
    system = await make_system(env={"SMS_ALLOWED_USERS": "U0BOB"})
    run = await run_step(
        system, recipients_text=NUMBER, message="hi", interactivity=started_by("U0BOB")
    )
    assert run.outputs is not None and run.outputs["accepted"] == 1, run.error
    assert [sent["content"] for sent in system.gateway.sent] == ["hi"]
    # no channel_id: the tracked message went to the DM of the person who started it
    opened = system.slack.calls_to("conversations.open")
    assert [call.params.get("users") for call in opened] == ["U0BOB"]
    refused = await run_step(
        system, recipients_text=NUMBER, message="hi", interactivity=started_by("U0ALICE")
    )
    assert refused.error == "You are not on the list of people who may send SMS."
    assert len(system.gateway.sent) == 1


async def test_a_gateway_refusal_fails_the_step_with_its_reason(make_system: SystemFactory):
    system = await make_system(send_code=1004)
    run = await run_step(system, recipients_text=NUMBER, message="hi", channel_id=DEMO_CHANNEL)
    assert run.outputs is None and run.error is not None
    assert run.error.startswith("Nothing was sent:"), run.error
    assert system.gateway.sent == []
    assert ends(system) == ["functions.completeError"]


async def test_an_unreachable_gateway_fails_the_step(make_system: SystemFactory):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    system = await make_system(env={"SMS_API_URL": f"http://127.0.0.1:{closed}"})
    run = await run_step(system, recipients_text=NUMBER, message="hi", channel_id=DEMO_CHANNEL)
    assert run.error is not None and "Could not connect to the SMS gateway" in run.error
    assert ends(system) == ["functions.completeError"]


async def test_a_lost_gateway_answer_fails_the_step_and_says_to_check_first(
    make_system: SystemFactory,
):
    system = await make_system(env={"SMS_GATEWAY_TIMEOUT": "0.5"}, send_delay=1.5)
    run = await run_step(system, recipients_text=NUMBER, message="hi", channel_id=DEMO_CHANNEL)
    assert run.error is not None and "did not say whether the SMS went out" in run.error
    assert "/sms status" in run.error
    assert len([op for op, _ in system.gateway.requests if op == "send"]) == 1


async def test_the_step_runs_over_socket_mode_too(make_system: SystemFactory):
    system = await make_system(env={"SLACK_APP_TOKEN": APP_TOKEN})
    await system.wait_for(lambda: system.slack.socket_mode.connected)
    ack, run = await system.slack.socket_run_step(
        "send_sms", {"recipients_text": NUMBER, "message": "hi", "channel_id": DEMO_CHANNEL}
    )
    assert ack["envelope_id"]
    await system.wait_for(lambda: run.ended)
    assert run.outputs is not None and run.outputs["accepted"] == 1
    assert [sent["content"] for sent in system.gateway.sent] == ["hi"]


def test_the_manifest_declares_the_step_as_its_listener_reads_it():
    """Slack delivers only the inputs the manifest declares, under those names."""
    assert list(MANIFEST["functions"]) == [CALLBACK_ID]
    inputs = DEFINITION["input_parameters"]
    assert set(inputs) == set(INPUTS.values()) | {"channel_id", "interactivity"}
    assert inputs["interactivity"]["type"] == "slack#/types/interactivity"
    assert [name for name, spec in inputs.items() if spec.get("is_required")] == ["message"]
    assert inputs["recipients_users"]["items"]["type"] == "slack#/types/user_id"
    assert {k: v["type"] for k, v in DEFINITION["output_parameters"].items()} == {
        "msg_id": "string",
        "accepted": "integer",
    }
    settings = MANIFEST["settings"]
    assert "function_executed" in settings["event_subscriptions"]["bot_events"]
    assert settings["org_deploy_enabled"] is True and settings["function_runtime"] == "remote"
