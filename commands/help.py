"""`/sms help` and bare `/sms`."""

from __future__ import annotations

from commands.grammar import USAGE, HelpRequest


def text(request: HelpRequest) -> str:
    return USAGE
