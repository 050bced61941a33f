"""When an SMS goes out, in UTC: the moment polling, the 30-day window and page timeouts
count from.

A scheduled send keeps `send_at` as a wall time in the gateway's zone (`zone`): the user's
`--at`, converted from their zone, because that is what the gateway was told and what the
audit shows (the gateway's repeated hour is refused before it gets here, so the wall time
names one instant). Comparing
that text with UTC times would be hours off, so each send also stores `goes_out`: the same
instant in UTC, in the format of `created`, so the two compare as text.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from storage.rows import iso

__all__ = ["SEND_AT_FORMAT", "goes_out"]

SEND_AT_FORMAT = "%Y-%m-%d %H:%M"


def goes_out(send_at: str | None, zone: str | None, created: str) -> str:
    """`created` for a send made now; the scheduled wall time converted to UTC otherwise.

    A stored wall time that cannot be read (only possible in rows written by hand) counts
    from `created`, as every send did before this column existed.
    """
    if not send_at or not zone:
        return created
    try:
        wall = datetime.strptime(send_at, SEND_AT_FORMAT).replace(tzinfo=ZoneInfo(zone))
    except (ValueError, ZoneInfoNotFoundError):
        return created
    return iso(wall.astimezone(UTC))
