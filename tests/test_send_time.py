"""Times that depend on when an SMS goes out count from its send time, not from the command.

A send scheduled days ahead is asked about `SMS_POLL_AFTER` after it goes out, and is given
the gateway's full 30 days from then; a page cannot be scheduled at all (a page is now).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from standins.local import LocalSystem

SILENT = "+2348031000017"  # ends in 7: the simulator never reports it


async def test_a_scheduled_page_is_refused_in_the_ack_and_reaches_no_gateway(
    system: LocalSystem,
):
    later = datetime.now(UTC) + timedelta(days=1)
    status, ack = await system.slash(f'page {SILENT} DB primary down --at "{later:%Y-%m-%d %H:%M}"')
    assert status == 200
    assert "A page goes out now" in ack
    assert system.gateway.requests == []
    assert system.slack.calls_to("chat.postMessage") == []
