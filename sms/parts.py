"""How many SMS parts a message costs (GSM-7 or UCS-2)."""

from __future__ import annotations

_GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENSION = frozenset("^{}\\[~]|€\f")


def segments(message: str) -> int:
    """How many SMS parts the message costs, so the sender can be told before paying.

    GSM-7 fits 160 septets in one part or 153 per part when split (extension-table characters
    take two, and never straddle parts); anything else goes as UCS-2, 70 UTF-16 units in one
    part or 67 per part (a surrogate pair never straddles parts). An empty message is one part.
    """
    if all(ch in _GSM_BASIC or ch in _GSM_EXTENSION for ch in message):
        widths = [2 if ch in _GSM_EXTENSION else 1 for ch in message]
        single, per_part = 160, 153
    else:
        widths = [2 if ord(ch) > 0xFFFF else 1 for ch in message]
        single, per_part = 70, 67
    if sum(widths) <= single:
        return 1
    parts, used = 1, 0
    for width in widths:
        if used + width > per_part:
            parts, used = parts + 1, 0
        used += width
    return parts
