"""`/sms status [msgId]`: one send's delivery, refreshed from the gateway, or recent sends."""

from __future__ import annotations

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond

from bot import mrkdwn, render
from bot.config import Settings
from bot.gateway import GatewayError
from bot.inflight import InFlight
from bot.poller import Poller
from listeners.asker import Asker, answering
from listeners.commands.grammar import StatusRequest
from listeners.commands.reading import COMMAND, COULD_NOT_FINISH, asks_for
from sms import phones
from storage import Sends, SendView

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


async def _refresh(poller: Poller, send: SendView) -> str | None:
    """Ask the gateway about the send's unfinished recipients; a sentence if that failed."""
    pairs = [(r.msg_id, r.mobile) for r in send.recipients if r.msg_id and not r.state.final]
    if not pairs:
        return None
    try:
        await poller.ask(pairs)
    except GatewayError as error:
        return f"(could not refresh from the gateway: {error})"
    return None


def _may_see(send: SendView, asker: Asker) -> bool:
    """The sender, or anyone in the channel where the send's message is shown."""
    return asker.user_id == send.user_id or asker.channel_id in (
        send.channel_id,
        send.message_channel,
    )


async def show_status(
    ack: AsyncAck,
    context: AsyncBoltContext,
    respond: AsyncRespond,
    sms_request: StatusRequest,
    sends: Sends,
    poller: Poller,
    settings: Settings,
    inflight: InFlight,
) -> None:
    asker = Asker.of(context, respond)
    async with answering(asker, inflight, "/sms status", COULD_NOT_FINISH):
        await ack()
        await asker.tell(await _status(sms_request.msg_id, asker, sends, poller, settings))


def register(app: AsyncApp) -> None:
    app.command(COMMAND, matchers=[asks_for(StatusRequest)])(show_status)


async def _status(
    msg_id: str | None, asker: Asker, sends: Sends, poller: Poller, settings: Settings
) -> str:
    """This channel's recent sends, or one send's recipients refreshed from the gateway."""
    if msg_id is None:
        return _recent_lines(await sends.recent(asker.channel_id, RECENT))
    send = await sends.find(msg_id)
    if send is None or not _may_see(send, asker):
        return f"I have no SMS with msgId {msg_id} from this channel in my records."
    problem = await _refresh(poller, send)
    send = await sends.load(send.id) or send
    # Full numbers are for the person who sent them; everyone else sees the channel's view.
    show = (
        phones.display
        if asker.user_id == send.user_id
        else render.number_formatter(settings.sms_mask_numbers)
    )
    lines = [f"*msgId {', '.join(send.msg_ids)}*: {render.counts_in_words(send.recipients)}"]
    for recipient in send.recipients[:50]:
        icon = render.ICONS[recipient.state]
        line = f"{icon} {show(recipient.mobile)} {recipient.state}"
        if recipient.reason:
            line += f" — {mrkdwn.escape(recipient.reason)}"
        lines.append(line)
    if len(send.recipients) > 50:
        lines.append(f"…and {len(send.recipients) - 50} more")
    if problem:
        lines.append(problem)
    return "\n".join(lines)
