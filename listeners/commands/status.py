"""`/sms status [msgId]`: one send's delivery, refreshed from the gateway, or recent sends."""

from __future__ import annotations

from bot import render
from bot.gateway import GatewayError
from listeners.commands.grammar import StatusRequest
from listeners.context import CommandContext
from sms import phones
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
    """Ask the gateway about the send's unfinished recipients; a sentence if that failed."""
    pairs = [(r.msg_id, r.mobile) for r in send.recipients if r.msg_id and not r.state.final]
    if not pairs:
        return None
    try:
        await context.services.poller.ask(pairs)
    except GatewayError as error:
        return f"(could not refresh from the gateway: {error})"
    return None


def _may_see(send: SendView, context: CommandContext) -> bool:
    """The sender, or anyone in the channel where the send's message is shown."""
    return context.user_id == send.user_id or context.channel_id in (
        send.channel_id,
        send.message_channel,
    )


async def handle(request: StatusRequest, context: CommandContext) -> None:
    sends = context.services.sends
    if request.msg_id is None:
        await context.tell(_recent_lines(await sends.recent(context.channel_id, RECENT)))
        return
    send = await sends.find(request.msg_id)
    if send is None or not _may_see(send, context):
        await context.tell(
            f"I have no SMS with msgId {request.msg_id} from this channel in my records."
        )
        return
    problem = await _refresh(context, send)
    send = await sends.load(send.id) or send
    # Full numbers are for the person who sent them; everyone else sees the channel's view.
    show = (
        phones.display
        if context.user_id == send.user_id
        else render.number_formatter(context.services.settings.sms_mask_numbers)
    )
    lines = [f"*msgId {', '.join(send.msg_ids)}*: {render.counts_in_words(send.recipients)}"]
    for recipient in send.recipients[:50]:
        icon = render.ICONS[recipient.state]
        line = f"{icon} {show(recipient.mobile)} {recipient.state}"
        if recipient.reason:
            line += f" — {render.escape(recipient.reason)}"
        lines.append(line)
    if len(send.recipients) > 50:
        lines.append(f"…and {len(send.recipients) - 50} more")
    if problem:
        lines.append(problem)
    await context.tell("\n".join(lines))
