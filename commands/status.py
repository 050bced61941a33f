"""`/sms status [msgId]`: one send's delivery, refreshed from the gateway, or recent sends."""

from __future__ import annotations

import json
from dataclasses import asdict

from bot import phones, render
from bot.delivery import Report
from bot.gateway import GatewayError
from commands.context import CommandContext
from commands.grammar import StatusRequest
from storage import SendView

RECENT = 5


def _recent_lines(sends: list[SendView]) -> str:
    if not sends:
        return "No SMS has been sent from this channel yet."
    lines = ["*Recent SMS from this channel:*"]
    for send in sends:
        ids = ", ".join(send.msg_ids) or "no msgId"
        lines.append(
            f"• {send.created[:16].replace('T', ' ')} UTC <@{send.user_id}> msgId {ids}: "
            f"{render.counts_in_words(send.recipients)}"
        )
    lines.append("Use `/sms status <msgId>` for one send's recipients.")
    return "\n".join(lines)


async def _refresh(context: CommandContext, send: SendView) -> str | None:
    """Ask the gateway for the reports of the send's unfinished recipients; None when ok."""
    pairs = [(r.msg_id, r.mobile) for r in send.recipients if r.msg_id and not r.state.final]
    if not pairs:
        return None
    services = context.services
    try:
        entries = await services.gateway.status(pairs)
    except GatewayError as error:
        return f"(could not refresh from the gateway: {error})"
    reports = [
        (
            Report(e.msg_id, e.mobile, e.status, e.error_code, e.desc, e.timestamp),
            json.dumps(asdict(e)),
        )
        for e in entries
    ]
    outcomes = await services.store.record_reports(reports, "poll")
    for outcome in outcomes:
        services.metrics.reports_received.labels("poll", outcome).inc()
    services.notifier.poke()
    return None


async def handle(request: StatusRequest, context: CommandContext) -> None:
    store = context.services.store
    if request.msg_id is None:
        await context.tell(_recent_lines(await store.recent_sends(context.channel_id, RECENT)))
        return
    send = await store.find_send(request.msg_id)
    if send is None:
        await context.tell(f"I have no SMS with msgId {request.msg_id} in my records.")
        return
    problem = await _refresh(context, send)
    send = await store.load_send(send.id) or send
    lines = [f"*msgId {', '.join(send.msg_ids)}*: {render.counts_in_words(send.recipients)}"]
    for recipient in send.recipients[:50]:
        icon = render.ICONS[recipient.state]
        line = f"{icon} {phones.display(recipient.mobile)} {recipient.state}"
        if recipient.reason:
            line += f" — {render.escape(recipient.reason)}"
        lines.append(line)
    if len(send.recipients) > 50:
        lines.append(f"…and {len(send.recipients) - 50} more")
    if problem:
        lines.append(problem)
    await context.tell("\n".join(lines))
