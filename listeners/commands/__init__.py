"""The `/sms` slash command: one listener that acks at once and hands off by subcommand.

Each subcommand has a module of its own; this package only wires them to Bolt, in the
shape of Slack's bolt-python starter template (`register(app)`).
"""

from __future__ import annotations

import logging

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.services import Services
from listeners.actions import retry_failed as retry
from listeners.commands import balance, contacts, help, send, status
from listeners.commands.grammar import (
    BalanceRequest,
    ContactsAddRequest,
    ContactsListRequest,
    ContactsRemoveRequest,
    ContactsRequest,
    HelpRequest,
    SendRequest,
    StatusRequest,
    UsageError,
    parse,
)
from listeners.context import CommandContext

log = logging.getLogger(__name__)

Request = HelpRequest | BalanceRequest | StatusRequest | SendRequest | ContactsRequest


def register(app: AsyncApp, services: Services) -> None:
    @app.command("/sms")
    async def sms(ack: AsyncAck, command: dict[str, str], respond: AsyncRespond) -> None:
        settings = services.settings
        names = await services.contacts.names(command.get("team_id", ""))
        try:
            request = parse(
                command.get("text", ""),
                default_region=settings.sms_default_region,
                zone=settings.sms_gateway_timezone,
                now=services.clock(),
                contacts=names,
            )
        except UsageError as error:
            await ack(text=str(error))
            return
        context = CommandContext(
            services=services,
            respond=respond,
            team_id=command.get("team_id", ""),
            user_id=command.get("user_id", ""),
            channel_id=command.get("channel_id", ""),
        )
        with services.inflight.track():
            await _dispatch(request, context, ack)

    retry.register(app, services)


async def _dispatch(request: Request, context: CommandContext, ack: AsyncAck) -> None:
    try:
        await _run(request, context, ack)
    except Exception:
        log.exception("/sms %s failed", type(request).__name__)
        await context.tell(
            ":warning: Something went wrong on my side and I could not finish that. "
            "If it was a send, check `/sms status` before trying again."
        )


async def _run(request: Request, context: CommandContext, ack: AsyncAck) -> None:
    match request:
        case HelpRequest():
            await ack(text=help.text())
        case BalanceRequest():
            await ack()
            await balance.handle(context)
        case StatusRequest():
            await ack()
            await status.handle(request, context)
        case ContactsAddRequest() | ContactsListRequest() | ContactsRemoveRequest():
            await ack()
            await contacts.handle(request, context)
        case SendRequest():
            refusal = await send.refusal(request, context)
            if refusal:
                await ack(text=refusal)
                return
            await ack(text=send.acknowledgement(request))
            await send.handle(request, context)
