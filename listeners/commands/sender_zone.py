"""`--at` placed in time: in the zone written after it, else the sender's Slack time zone,
else the gateway's (`SMS_GATEWAY_TIMEZONE`), saying so.

The sender's zone takes a `users.info` call (cached by the directory) before the ack, so
that a time in the past is still refused in the ack; it is bounded so a slow Slack cannot
make the command miss Slack's three seconds, and a lookup that fails falls back in words.
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.config import Settings
from bot.directory import Directory, LookupFailed
from listeners.commands.grammar import SendRequest
from listeners.commands.grammar.schedule import known_zone, place

# Real seconds (a deadline on Slack, not on the bot's clock) the zone lookup may take.
LOOKUP_SECONDS = 1.5


async def sender_zone(
    directory: Directory, user_id: str, within: float = LOOKUP_SECONDS
) -> tuple[ZoneInfo | None, str]:
    """The sender's Slack time zone, or None and why there is none to use."""
    try:
        async with asyncio.timeout(within):
            name = await directory.time_zone(user_id)
    except (LookupFailed, TimeoutError, OSError):
        return None, "Slack did not tell me your time zone"
    if name is None:
        return None, "your Slack profile has no time zone"
    zone = known_zone(name)
    if zone is None:
        return None, f"your Slack time zone “{name}” is not one I know"
    return zone, ""


async def placed(
    request: SendRequest,
    *,
    user_id: str,
    directory: Directory,
    settings: Settings,
    now: datetime,
    within: float = LOOKUP_SECONDS,
) -> SendRequest:
    """The request with `send_at` set from `at`; a UsageError when that time can't be sent.

    The sender's zone is asked of Slack for at most `within` seconds (less than
    LOOKUP_SECONDS when the caller's own answer is due sooner, as the modal's is)."""
    at = request.at
    if at is None:
        return request
    gateway = settings.sms_gateway_timezone
    notes: tuple[str, ...] = ()
    if at.zone is not None:
        zone, read_as = at.zone, f"{at.zone.key} time, as written"
    else:
        found, why = await sender_zone(directory, user_id, min(within, LOOKUP_SECONDS))
        if found is not None:
            zone, read_as = found, f"{found.key} time, your Slack time zone"
        else:
            zone, read_as = gateway, f"{gateway.key} time, the gateway's, as {why}"
            notes = (
                f"{why[0].upper()}{why[1:]}, so I read the time in {gateway.key}, "
                "the gateway's zone.",
            )
    send_at, picked = place(at, zone, now, request.kind, read_as=read_as, gateway=gateway)
    return dataclasses.replace(request, send_at=send_at, schedule_notes=notes + picked)
