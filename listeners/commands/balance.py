"""`/sms balance`: the gateway account's balance, e.g. `Balance: 1.00 CNY`."""

from __future__ import annotations

from bot.gateway import GatewayError
from listeners.context import CommandContext


async def handle(context: CommandContext) -> None:
    try:
        balance = await context.services.gateway.balance()
    except GatewayError as error:
        await context.tell(f":warning: Could not read the balance: {error}")
        return
    await context.tell(f"Balance: {balance}")
