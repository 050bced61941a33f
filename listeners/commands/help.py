"""`/sms help` and bare `/sms`."""

from __future__ import annotations

from listeners.commands.grammar import USAGE


def text() -> str:
    """The usage text shown for `/sms help` and a bare `/sms`."""
    return USAGE
