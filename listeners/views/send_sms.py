"""Send on the "Send an SMS" modal: problems shown on their fields, else the `/sms send` path.

Slack waits three seconds for the answer to a submission, and only that answer can keep the
modal open with an error under a field. So the cheap checks (the fields, the time, the
guard's) come first; then the recipients are looked up within `BUDGET_SECONDS`: a person
without a phone is said on the modal when the lookup is quick, and privately after it closed
when Slack is slow. The send itself is `checked_recipients` + `send_resolved`, like `/sms
send`: guardrails, write-ahead, the tracked message in the chosen channel, the audit.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any, cast

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.directory import LookupFailed
from bot.inflight import InFlight
from bot.services import Services
from listeners.asker import Asker, answering
from listeners.commands.grammar import UsageError
from listeners.commands.reading import COULD_NOT_FINISH
from listeners.commands.sender_zone import placed
from listeners.compose_form import (
    AT,
    CALLBACK_ID,
    CHANNEL,
    OTHERS,
    channel,
    group_handles,
    read,
    typed,
)
from listeners.send_flow import checked_recipients, send_or_ask

log = logging.getLogger(__name__)

# Real seconds from the submission that the lookups (user groups, the recipients) may hold
# the modal open: the answer must reach Slack within its three.
BUDGET_SECONDS = 2.4
NO_DM = "Slack did not open our direct messages in time: pick a channel for the updates."


@dataclass
class Privately:
    """A `respond` for a modal, which has no response_url: an ephemeral message in the
    chosen channel, or a message in the sender's DM with the app (private already), where
    it also goes when the channel refuses the bot, so the sender is never left unanswered."""

    client: AsyncWebClient
    channel_id: str
    user_id: str
    direct: bool

    async def __call__(self, text: str = "", blocks: Any = None, **_: Any) -> None:
        if not self.direct:
            try:
                await self.client.chat_postEphemeral(
                    channel=self.channel_id, user=self.user_id, text=text, blocks=blocks
                )
                return
            except SlackApiError as error:  # e.g. the bot is not in that channel
                log.info("said in the DM instead: %s", error.response.get("error"))
        opened = await self.client.conversations_open(users=self.user_id)
        dm = str(opened["channel"]["id"])
        await self.client.chat_postMessage(channel=dm, text=text, blocks=blocks)


class Collected:
    """A `respond` that keeps what would have been said, to show it on the modal instead."""

    def __init__(self) -> None:
        self.said: list[str] = []

    async def __call__(self, text: str = "", **_: Any) -> None:
        self.said.append(text.removeprefix(":x: "))


def _left(started: float) -> float:
    return max(0.1, BUDGET_SECONDS - (asyncio.get_running_loop().time() - started))


async def _handles(services: Services, others: str, started: float) -> dict[str, str] | str:
    """The workspace's user groups by handle when the text names one, or why Slack did not say."""
    if not group_handles(others):
        return {}
    try:
        async with asyncio.timeout(_left(started)):
            return await services.directory.group_handles()
    except (LookupFailed, TimeoutError, OSError) as error:
        return str(error) or "Slack did not tell me its user groups in time; try again."


async def _where(client: AsyncWebClient, values: dict[str, Any], user_id: str) -> tuple[str, bool]:
    chosen = channel(values)
    if chosen:
        return chosen, False
    opened = await client.conversations_open(users=user_id)
    return str(opened["channel"]["id"]), True


async def submit(
    ack: AsyncAck,
    view: dict[str, Any],
    context: AsyncBoltContext,
    client: AsyncWebClient,
    services: Services,
    inflight: InFlight,
) -> None:
    started = asyncio.get_running_loop().time()
    values = view.get("state", {}).get("values", {})
    team_id, user_id = context.team_id or "", context.user_id or ""
    names = await services.contacts.names(team_id)
    handles = await _handles(services, typed(values, OTHERS), started)
    if isinstance(handles, str):
        await ack(response_action="errors", errors={OTHERS: handles})
        return
    answers = read(values, names, services.settings, handles)
    if answers.request is None:
        await ack(response_action="errors", errors=answers.errors)
        return
    try:
        request = await placed(
            answers.request,
            user_id=user_id,
            directory=services.directory,
            settings=services.settings,
            now=services.clock(),
            within=_left(started),
        )
    except UsageError as error:
        await ack(response_action="errors", errors={AT: error.reason.replace("`--at ", "`")})
        return
    try:
        async with asyncio.timeout(_left(started)):
            channel_id, direct = await _where(client, values, user_id)
    except (SlackApiError, TimeoutError, OSError):
        await ack(response_action="errors", errors={CHANNEL: NO_DM})
        return
    refused = await services.guard.before_sending(user_id, channel_id)
    if refused:
        await ack(response_action="errors", errors={CHANNEL: refused})
        return
    respond = cast(AsyncRespond, Privately(client, channel_id, user_id, direct))
    asker = Asker(team_id, user_id, channel_id, respond)
    async with answering(asker, inflight, "the Send an SMS modal", COULD_NOT_FINISH):
        collected = Collected()
        quiet = Asker(team_id, user_id, channel_id, cast(AsyncRespond, collected))
        lookup = asyncio.create_task(checked_recipients(quiet, request, services))
        done, _ = await asyncio.wait({lookup}, timeout=_left(started))
        if done and lookup.result() is None:
            await ack(response_action="errors", errors={OTHERS: " ".join(collected.said)})
            return
        await ack()
        resolved = await lookup
        if resolved is None:
            await asker.tell(":x: " + " ".join(collected.said))
            return
        await send_or_ask(asker, request, resolved, services)


def register(app: AsyncApp) -> None:
    app.view(CALLBACK_ID)(submit)
