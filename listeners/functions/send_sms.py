"""The "Send an SMS" Workflow Builder step: a custom step that this bot runs (a function listener).

Its inputs are read as the compose modal's fields are (`compose_form.read`, the `/sms send`
recipient rules), and the send takes the one path (`checked_recipients` + `send_resolved`:
guardrails, write-ahead, the tracked message, the audit). A workflow run has nobody to
show a problem to, so every refusal ends the step with `fail` and the reason in words (Slack
shows it in the workflow's activity); a send the gateway accepted ends it with `complete`,
its msgId and accepted count as outputs for the steps after it. Bolt acks the event before
the listener runs, so the send never holds up the ack.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, cast

from slack_bolt.async_app import AsyncApp, AsyncBoltContext, AsyncRespond
from slack_bolt.context.complete.async_complete import AsyncComplete
from slack_bolt.context.fail.async_fail import AsyncFail
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.directory import LookupFailed
from bot.guard import NOT_ALLOWED
from bot.inflight import InFlight
from bot.sending import SendResult
from bot.services import Services
from listeners.asker import Asker
from listeners.commands.grammar import SendRequest
from listeners.compose_form import MESSAGE, OTHERS, PEOPLE, group_handles, people, read, typed
from listeners.send_flow import checked_recipients, send_resolved

log = logging.getLogger(__name__)

CALLBACK_ID = "send_sms"  # the `functions` entry in manifest.yml
# the step's input that each of the modal's fields stands for, to name it in an error
INPUTS = {PEOPLE: "recipients_users", OTHERS: "recipients_text", MESSAGE: "message"}
NOBODY_ALLOWED = (
    "The workflow names no person to send as, and only the people in SMS_ALLOWED_USERS / "
    "SMS_ALLOWED_GROUPS may send SMS: give the step's Who runs it input the workflow's "
    "interactivity."
)
CRASHED = (
    "smsbot could not finish this step (its log says why). The SMS may have gone out: "
    "check `/sms status` before running the workflow again."
)


@dataclass
class Heard:
    """A `respond` that keeps what the send path would say to a person: the step's answer
    is made from it."""

    said: list[str] = field(default_factory=list)

    async def __call__(self, text: str = "", **_: Any) -> None:
        self.said.append(text.removeprefix(":x: "))


def _as_form(inputs: dict[str, Any]) -> dict[str, Any]:
    """The inputs as the modal's `state.values`, so one reader applies one set of rules."""
    users = inputs.get("recipients_users") or []
    if isinstance(users, str):
        users = [users]
    return {
        PEOPLE: {PEOPLE: {"selected_users": [str(user) for user in users]}},
        OTHERS: {OTHERS: {"value": str(inputs.get("recipients_text") or "")}},
        MESSAGE: {MESSAGE: {"value": str(inputs.get("message") or "")}},
    }


async def _request(inputs: dict[str, Any], team_id: str, services: Services) -> SendRequest | str:
    """The inputs as a send request, or what is wrong with them."""
    values = _as_form(inputs)
    if not (people(values) or typed(values, OTHERS)):
        return (
            "No recipients: give the step people (recipients_users) or numbers, @groups "
            "or saved contacts (recipients_text)."
        )
    handles: dict[str, str] = {}
    if group_handles(typed(values, OTHERS)):
        try:
            handles = await services.directory.group_handles()
        except LookupFailed as error:
            return str(error)
    names = await services.contacts.names(team_id)
    answers = read(values, names, services.settings, handles)
    if answers.request is None:
        return " ".join(f"{INPUTS.get(k, k)}: {why}" for k, why in answers.errors.items())
    return answers.request


async def _channel(inputs: dict[str, Any], sender: str, client: AsyncWebClient) -> str | None:
    """Where the tracked message goes: `channel_id`, else the sender's DM with the app."""
    if inputs.get("channel_id"):
        return str(inputs["channel_id"])
    if not sender:
        return None
    opened = await client.conversations_open(users=sender)
    return str(opened["channel"]["id"])


def _not_sent(result: SendResult, heard: Heard) -> str:
    """Why a send the gateway accepted for nobody is a failed step."""
    if result.send_id is None:  # refused outright: the send path said why
        return " ".join(heard.said) or "The gateway refused the SMS."
    reasons = "; ".join(sorted({str(batch.error) for batch in result.unknown}))
    return (
        f"The gateway did not say whether the SMS went out ({reasons}). It is not re-sent on "
        "its own: check `/sms status` before running the workflow again."
    )


def sender_of(context: AsyncBoltContext, inputs: dict[str, Any]) -> str:
    """Who runs the step: the person Slack names on the event, else the interactor of the
    step's `interactivity` input (the person whose click started the workflow: Slack fills
    it in, the workflow's author cannot pick someone else); "" when neither says."""
    if context.user_id:
        return context.user_id
    interactivity = inputs.get("interactivity")
    interactor = interactivity.get("interactor") if isinstance(interactivity, dict) else None
    found = interactor.get("id") if isinstance(interactor, dict) else None
    return found if isinstance(found, str) else ""


async def outcome(
    context: AsyncBoltContext,
    sender: str,
    inputs: dict[str, Any],
    client: AsyncWebClient,
    services: Services,
) -> dict[str, Any] | str:
    """The step's outputs once the gateway accepted the send, or why it was not sent.

    With no sender (`sender_of`), the guard checks an empty user (see README, Workflow
    Builder step).
    """
    team_id = context.team_id or ""
    try:
        channel_id = await _channel(inputs, sender, client)
    except SlackApiError as error:
        code = error.response.get("error")
        return f"Slack would not open a DM for the delivery updates ({code}); set channel_id."
    if channel_id is None:
        return (
            "Set channel_id: the workflow names no person whose DM could carry the delivery "
            "updates."
        )
    refused = await services.guard.before_sending(sender, channel_id)
    if refused:
        return refused
    request = await _request(inputs, team_id, services)
    if isinstance(request, str):
        return request
    heard = Heard()
    asker = Asker(team_id, sender, channel_id, cast(AsyncRespond, heard))
    resolved = await checked_recipients(asker, request, services)
    if resolved is None:
        return " ".join(heard.said)
    result = await send_resolved(asker, request, resolved, services)
    if not result.accepted:
        return _not_sent(result, heard)
    msg_ids = ", ".join(batch.msg_id for batch in result.batches if batch.msg_id)
    return {"msg_id": msg_ids, "accepted": len(result.accepted)}


async def send_sms(
    context: AsyncBoltContext,
    inputs: dict[str, Any],
    client: AsyncWebClient,
    complete: AsyncComplete,
    fail: AsyncFail,
    services: Services,
    inflight: InFlight,
) -> None:
    """Run the step to its end (shutdown waits for it) and end it once, either way."""
    sender = sender_of(context, inputs)
    with inflight.track():
        try:
            answer = await outcome(context, sender, inputs, client, services)
        except Exception:
            log.exception("the Send an SMS workflow step failed")
            answer = CRASHED
        if isinstance(answer, dict):
            await complete(outputs=answer)
            return
        if not sender:
            answer = answer.replace(NOT_ALLOWED, NOBODY_ALLOWED)
        log.info("Send an SMS step %s failed: %s", context.function_execution_id, answer)
        await fail(error=answer)


def register(app: AsyncApp) -> None:
    app.function(CALLBACK_ID)(send_sms)
