"""Keeps each send's tracked message in step with the database.

Report intake only bumps a row in the `outbox` table, in the same transaction as the
report; this worker wakes, waits one update interval so a burst of reports folds into
one edit, then makes the Slack calls. A row is cleared only if no newer change came in
while Slack was being called, so the last state is always shown, and after a crash the
rows still there are simply done again: an edit shows the same thing twice, never two
messages.

Thread replies about failures are at most once: recipients are marked announced before
the reply is posted, so a crash in between, or an answer lost on the way (a 5xx, a dropped
connection), loses that reply rather than doubling it; only an answer in which Slack says
it did not post puts the mark back. The tracked message, which always shows every
failure, is the record that cannot be lost.

The parts: `pacer` (one pace per channel for every Slack call), `tracked` (posting and
editing the message, and the fallbacks for permanent Slack errors), `worker` (the outbox
loop, one task per channel with work, with backoff and giving up) and `once` (a post
that must be seen once, such as a page alert: marked, and looked for before a repeat).
"""

from __future__ import annotations

from bot.notifier.pacer import Pacer
from bot.notifier.tracked import Posted, TrackedMessages
from bot.notifier.worker import Notifier

__all__ = ["Notifier", "Pacer", "Posted", "TrackedMessages"]
