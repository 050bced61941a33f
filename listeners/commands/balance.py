"""`/sms balance`: the gateway account's balance, e.g. `Balance: 1.00 CNY`, marked when it is
below SMS_LOW_BALANCE."""

from __future__ import annotations

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond

from bot.balance import BalanceWatch
from bot.gateway import GatewayClient, GatewayError
from bot.inflight import InFlight
from listeners.asker import Asker, answering
from listeners.commands.grammar import BalanceRequest
from listeners.commands.reading import COMMAND, COULD_NOT_FINISH, asks_for


async def show_balance(
    ack: AsyncAck,
    context: AsyncBoltContext,
    respond: AsyncRespond,
    gateway: GatewayClient,
    inflight: InFlight,
    low_balance: BalanceWatch,
) -> None:
    asker = Asker.of(context, respond)
    async with answering(asker, inflight, "/sms balance", COULD_NOT_FINISH):
        await ack()
        try:
            balance = await gateway.balance()
        except GatewayError as error:
            await asker.tell(f":warning: Could not read the balance: {error}")
            return
        await asker.tell(f"Balance: {balance}{low_balance.mark(balance)}")


def register(app: AsyncApp) -> None:
    app.command(COMMAND, matchers=[asks_for(BalanceRequest)])(show_balance)
