"""Retention's background loop: once an hour, prune finished sends older than N days.

Only started when SMS_RETENTION_DAYS is set; the default keeps everything, since what an
audit needs is the operator's call, not the bot's.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from bot.clock import Clock
from bot.periodic import every
from storage.retention import Retention

__all__ = ["PRUNE_INTERVAL", "Pruner"]

log = logging.getLogger(__name__)

PRUNE_INTERVAL = 3600.0


class Pruner:
    def __init__(self, retention: Retention, days: int, clock: Clock) -> None:
        self.retention = retention
        self.keep = timedelta(days=days)
        self.clock = clock

    async def run(self) -> None:
        await every(self.clock, PRUNE_INTERVAL, self.prune_once, "retention")

    async def prune_once(self) -> int:
        pruned = await self.retention.prune(self.clock.now() - self.keep)
        if pruned:
            log.info(
                "retention: pruned %d finished send(s) older than %d days",
                pruned,
                self.keep.days,
            )
        return pruned
