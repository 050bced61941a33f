"""`--at`: a wall time, in the zone written after it or the sender's, between now and the
30-day limit, and that exists.

Reading (`read_at`) and placing (`place`) are apart because the zone may not be known while
the text is read: without a written zone it is the sender's Slack time zone, which takes a
call to Slack. The clock is passed in, so tests can pin every edge: the current minute, a
time the clocks skip or repeat, a date too far away for datetime.
"""

from __future__ import annotations

import difflib
from datetime import UTC, datetime
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

from listeners.commands.grammar.requests import UsageError, WrittenTime
from listeners.commands.grammar.usage import MAX_SCHEDULE_AHEAD, usage

AT_FORMAT = "%Y-%m-%d %H:%M"


@cache
def _zone_names() -> dict[str, str]:
    """IANA names by their lower case, so `europe/berlin` is Europe/Berlin (read once)."""
    return {name.lower(): name for name in available_timezones()}


def known_zone(name: str) -> ZoneInfo | None:
    """The IANA zone of that name, in any case, or None for a name the tz database lacks."""
    found = _zone_names().get(name.strip().lower())
    return ZoneInfo(found) if found else None


def read_at(value: str, kind: str) -> WrittenTime:
    """`YYYY-MM-DD HH:MM`, optionally followed by an IANA zone; not yet placed in time."""
    shown = value
    words = value.split()
    try:
        if len(words) not in (2, 3):
            raise ValueError(value)
        wall = datetime.strptime(" ".join(words[:2]), AT_FORMAT)
    except ValueError:
        raise UsageError(
            f'“{shown}” is not a time I understand: write `--at "YYYY-MM-DD HH:MM"`, '
            'e.g. `--at "2025-01-31 09:00"`, or add a time zone: '
            '`--at "2025-01-31 09:00 Europe/Berlin"`.',
            usage(kind),
        ) from None
    if len(words) == 2:
        return WrittenTime(shown, wall, None)
    zone = known_zone(words[2])
    if zone is None:
        close = difflib.get_close_matches(words[2].lower(), _zone_names(), n=1)
        guess = f" Did you mean {_zone_names()[close[0]]}?" if close else ""
        raise UsageError(
            f"“{words[2]}” is not a time zone I know: write an IANA name such as "
            f"Europe/Berlin, America/New_York or UTC.{guess}",
            usage(kind),
        )
    return WrittenTime(shown, wall, zone)


def _offset(moment: datetime) -> str:
    text = moment.strftime("%z")
    return f"UTC{text[:3]}:{text[3:]}"


def place(
    at: WrittenTime,
    zone: ZoneInfo,
    now: datetime,
    kind: str,
    *,
    read_as: str | None = None,
    gateway: ZoneInfo | None = None,
) -> tuple[datetime, tuple[str, ...]]:
    """`at` as a moment in `zone`, and what the sender should be told about how it was read.

    A wall time the clocks skip is refused; one they repeat is the first of the two (the
    earlier moment, as a wall time without a zone is read by the gateway too). `gateway`,
    when given, refuses a moment the gateway cannot be told: its `sendTime` has no offset, so
    the second pass through a repeated hour in the gateway's zone would be read as the first.
    `read_as` says in errors which zone the time was read in, and why.
    """
    where = read_as or f"{zone.key} time"
    when = at.wall.replace(tzinfo=zone)
    notes: list[str] = []
    try:
        moment = when.astimezone(UTC)
        current = (now if now.tzinfo is not None else now.replace(tzinfo=zone)).astimezone(UTC)
        if moment < current:
            raise UsageError(
                f"{at.text} is in the past ({where}: it is "
                f"{current.astimezone(zone):%Y-%m-%d %H:%M} there now); "
                "pick a time in the future.",
                usage(kind),
            )
        if moment - current > MAX_SCHEDULE_AHEAD:
            raise UsageError(
                f"{at.text} is more than {MAX_SCHEDULE_AHEAD.days} days ahead; "
                "the gateway only schedules up to then.",
                usage(kind),
            )
        exists = moment.astimezone(zone).replace(tzinfo=None) == at.wall
        twice = exists and when.replace(fold=1).utcoffset() != when.utcoffset()
        there = moment.astimezone(gateway) if gateway is not None else None
    except OverflowError:
        raise UsageError(f"{at.text} is too far away.", usage(kind)) from None
    if not exists:
        raise UsageError(
            f"{at.text} does not exist in {zone.key} (the clocks skip it); pick another time.",
            usage(kind),
        )
    if twice:
        notes.append(
            f"{at.wall:%H:%M} happens twice in {zone.key} on {at.wall:%Y-%m-%d} (the clocks "
            f"go back); I took the first, {when:%H:%M} {when.tzname()} ({_offset(when)})."
        )
    if there is not None and gateway is not None and there.fold == 1:
        if there.replace(fold=0).utcoffset() != there.utcoffset():
            raise UsageError(
                f"{at.text} is {there:%Y-%m-%d %H:%M} the second time round in {gateway.key}, "
                "the gateway's zone, whose clocks go back then; the gateway is told a time "
                "without a zone and would send it an hour early. Pick a time outside that hour.",
                usage(kind),
            )
    return when, tuple(notes)


def parse_at(value: str, zone: ZoneInfo, now: datetime, kind: str) -> datetime:
    """`--at` as wall time in the zone written, else `zone`, between now and 30 days ahead."""
    at = read_at(value, kind)
    return place(at, at.zone or zone, now, kind)[0]
