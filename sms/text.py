"""What a message's text may hold to be sent at all, whatever the command that wrote it."""

from __future__ import annotations

__all__ = ["unsendable"]


def unsendable(message: str) -> str | None:
    """Why the text cannot go out as an SMS, or None.

    U+0000 (NUL) ends a string in many gateways and cannot be stored in PostgreSQL text:
    it is refused in the command's answer, on both databases, rather than kept on one
    and failing the send on the other.
    """
    if "\x00" in message:
        return "The message holds a NUL character (U+0000), which can't be sent: remove it."
    return None
