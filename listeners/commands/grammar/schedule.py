"""`--at`: wall time in the bot's zone, between now and the 30-day limit, and that exists.

The clock is passed in, so tests can pin every edge: the current minute, a time the clocks
skip, a date too far away for datetime.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from listeners.commands.grammar.requests import UsageError
from listeners.commands.grammar.usage import MAX_SCHEDULE_AHEAD, usage

AT_FORMAT = "%Y-%m-%d %H:%M"


def parse_at(value: str, zone: ZoneInfo, now: datetime, kind: str) -> datetime:
    """`--at` as wall time in the user's zone, between now and 30 days ahead."""
    shown = value
    try:
        wall = datetime.strptime(" ".join(value.split()), AT_FORMAT)
    except ValueError:
        raise UsageError(
            f'“{shown}” is not a time I understand: write `--at "YYYY-MM-DD HH:MM"`, '
            'e.g. `--at "2025-01-31 09:00"`.',
            usage(kind),
        ) from None
    when = wall.replace(tzinfo=zone)
    current = now if now.tzinfo is not None else now.replace(tzinfo=zone)
    try:
        if when < current:
            raise UsageError(
                f"{shown} is in the past ({zone.key} time); pick a time in the future.",
                usage(kind),
            )
        if when - current > MAX_SCHEDULE_AHEAD:
            raise UsageError(
                f"{shown} is more than {MAX_SCHEDULE_AHEAD.days} days ahead; "
                "the gateway only schedules up to then.",
                usage(kind),
            )
        exists = when.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == wall
    except OverflowError:
        raise UsageError(f"{shown} is too far away.", usage(kind)) from None
    if not exists:
        raise UsageError(
            f"{shown} does not exist in {zone.key} (the clocks skip it); pick another time.",
            usage(kind),
        )
    return when
