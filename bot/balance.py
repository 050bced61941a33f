"""Low balance, said once: the balance is checked after sends and a fall below
SMS_LOW_BALANCE is said once, in SMS_ADMIN_CHANNEL or to the sender, until it goes back above.

A send only asks for a check (`spent`); the check runs in this worker's own loop, so a slow
or failing balance API never holds up or fails a send. Whether the balance is below, and
whether that was said, is kept in the database (`storage.balance`), so a restart does not
say it again.

The last figure read is kept for a minute (`latest`): App Home shows it to everyone who
opens the tab in that minute, so opening the tab is never a gateway call each.
"""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.clock import Clock
from bot.gateway import Balance, GatewayClient, GatewayError
from storage.balance import LowBalance

__all__ = ["CHECK_EVERY", "FRESH", "BalanceWatch"]

log = logging.getLogger(__name__)

# Seconds between two balance calls at most. The balance only moves by what sends cost, so a
# burst of sends needs one look, not one each; a minute late is early enough for a warning
# meant to leave time to top up, and it bounds the extra gateway calls to 60 an hour.
CHECK_EVERY = 60.0
# How long the loop sleeps when no send asks for a check (it wakes at once when one does).
IDLE = 3600.0
# How long a figure read (or a failure to read one) is shown before the gateway is asked again.
FRESH = CHECK_EVERY


class BalanceWatch:
    """Checks the balance after sends, at most every CHECK_EVERY seconds; off without a
    threshold."""

    def __init__(
        self,
        gateway: GatewayClient,
        state: LowBalance,
        client: AsyncWebClient,
        *,
        threshold: Decimal | None,
        admin_channel: str | None,
        clock: Clock,
    ) -> None:
        self.gateway = gateway
        self.state = state
        self.client = client
        self.threshold = threshold
        self.admin_channel = admin_channel
        self.clock = clock
        self.wanted = asyncio.Event()
        self._sender: str | None = None  # the last person whose send asked for a check
        self._last: float | None = None  # monotonic time of the last balance call
        self._failing = False
        self._known: tuple[Balance | None, float] | None = None  # last read, and when
        self._reading = asyncio.Lock()

    def spent(self, user_id: str | None) -> None:
        """A send reached the gateway: check the balance soon. Never waits; `user_id` is
        None for an alert's page (nobody to tell privately)."""
        if self.threshold is None:
            return
        if user_id:
            self._sender = user_id
        self.wanted.set()

    def mark(self, balance: Balance) -> str:
        """What `/sms balance` adds after the amount: a warning when it is below."""
        if self.threshold is None or balance.amount >= self.threshold:
            return ""
        return f" :warning: below SMS_LOW_BALANCE ({self._threshold(balance)})"

    async def latest(self) -> Balance | None:
        """The balance read at most FRESH seconds ago, or read now; None when the gateway
        could not say (remembered as long, so a failing gateway is not asked per tab)."""
        async with self._reading:  # tabs opened together share one call
            if self._known and self.clock.monotonic() - self._known[1] < FRESH:
                return self._known[0]
            try:
                balance: Balance | None = await self.gateway.balance()
            except GatewayError as error:
                log.info("could not read the SMS balance for App Home: %s", error)
                balance = None
            self._known = (balance, self.clock.monotonic())
            return balance

    async def run(self) -> None:
        """The background loop: one check per wake-up, never sooner than CHECK_EVERY after
        the last balance call."""
        while True:
            await self.clock.wait(self.wanted, IDLE)
            if not self.wanted.is_set():
                continue
            if self._last is not None:
                due = self._last + CHECK_EVERY - self.clock.monotonic()
                if due > 0:
                    await self.clock.sleep(due)
            self.wanted.clear()
            sender, self._sender = self._sender, None
            try:
                await self.check(sender)
            except Exception:
                log.exception("low-balance check failed; trying again after the next send")

    async def check(self, sender: str | None) -> None:
        """Read the balance and say a fall below the threshold that is still owed."""
        assert self.threshold is not None
        self._last = self.clock.monotonic()
        try:
            balance = await self.gateway.balance()
        except GatewayError as error:
            if not self._failing:
                log.warning(
                    "could not read the SMS balance for SMS_LOW_BALANCE: %s; "
                    "trying again after the next send",
                    error,
                )
            self._failing = True
            self._sender = self._sender or sender
            return
        self._known = (balance, self.clock.monotonic())
        if self._failing:
            log.info("the SMS balance can be read again: %s", balance)
            self._failing = False
        low = balance.amount < self.threshold
        if not await self.state.measured(low, str(balance.amount)):
            return
        where = self.admin_channel or sender
        if where is None:
            log.info("SMS balance %s is low; it is said at the next send by a person", balance)
            return
        text = (
            f":warning: The SMS balance is {balance}, below SMS_LOW_BALANCE "
            f"({self._threshold(balance)}). Top up the gateway account: once it runs out, "
            "every send is refused."
        )
        try:
            await self.client.chat_postMessage(channel=where, text=text)
        except SlackApiError as error:
            log.warning(
                "low balance not said in %s (%s); trying again at the next check",
                where,
                error.response.get("error"),
            )
            return
        await self.state.said()
        log.warning("SMS balance %s is below SMS_LOW_BALANCE; said in %s", balance, where)

    def _threshold(self, balance: Balance) -> str:
        assert self.threshold is not None
        return str(Balance(self.threshold, balance.currency_code, balance.currency_name))
