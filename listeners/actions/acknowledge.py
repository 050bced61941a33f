"""The Acknowledge button on a page's tracked message (an alert's, or `/sms page`'s).

The first press wins, in one commit: the presser is named on the message and the page's
escalation stops. A later press, by anyone, changes nothing and is answered privately.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond

from bot.inflight import InFlight
from bot.render import ACKNOWLEDGE_ACTION
from bot.services import Services
from listeners.asker import Asker, answering
from storage import Pages

ACK_FAILED = ":warning: The acknowledgement failed on my side; press it again."


async def acknowledge(
    ack: AsyncAck,
    body: dict[str, Any],
    context: AsyncBoltContext,
    respond: AsyncRespond,
    pages: Pages,
    services: Services,
    inflight: InFlight,
) -> None:
    await ack()
    asker = Asker.of(context, respond)
    async with answering(asker, inflight, "acknowledge of a page", ACK_FAILED):
        send_id = int(body["actions"][0]["value"])
        done = await pages.acknowledge(send_id, asker.user_id, services.clock())
        if done is None:
            await asker.tell("That page is no longer in my records.")
        elif done.now:
            services.notifier.poke()
        elif done.by == asker.user_id:
            await asker.tell("You have acknowledged this page already.")
        else:
            await asker.tell(f"<@{done.by}> acknowledged this page already.")


def register(app: AsyncApp) -> None:
    app.action(ACKNOWLEDGE_ACTION)(acknowledge)
