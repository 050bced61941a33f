"""How many SMS parts a text costs: one count for the send confirmation, alert texts and any
compose view, so each tells the sender the same price.

The GSM 03.38 alphabet is spelled out below rather than taken from the `gsm0338` codec (1.1.0):
it encodes U+001B ESC as a character, which would change what counts as GSM-7; asking it "is
this GSM-7?" takes its private map or an encode per character; its incremental codec is broken.
"""

from __future__ import annotations

GSM_SINGLE, GSM_PER_PART = 160, 153  # septets; a split part gives 7 to the concatenation header
UCS2_SINGLE, UCS2_PER_PART = 70, 67  # UTF-16 code units

_GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENSION = frozenset("^{}\\[~]|€\f")  # sent as ESC + character: two septets


def is_gsm7(message: str) -> bool:
    """Whether the message goes as GSM-7; one character outside it makes the whole SMS UCS-2."""
    return all(ch in _GSM_BASIC or ch in _GSM_EXTENSION for ch in message)


def segments(message: str) -> int:
    """How many SMS parts the message costs, so the sender can be told before paying.

    GSM-7 fits 160 septets in one part or 153 per part when split (extension-table characters
    take two, and never straddle parts); anything else goes as UCS-2, 70 UTF-16 units in one
    part or 67 per part (a surrogate pair never straddles parts). An empty message is one part.
    """
    if is_gsm7(message):
        widths = [2 if ch in _GSM_EXTENSION else 1 for ch in message]
        single, per_part = GSM_SINGLE, GSM_PER_PART
    else:
        widths = [2 if ord(ch) > 0xFFFF else 1 for ch in message]
        single, per_part = UCS2_SINGLE, UCS2_PER_PART
    if sum(widths) <= single:
        return 1
    parts, used = 1, 0
    for width in widths:
        if used + width > per_part:
            parts, used = parts + 1, 0
        used += width
    return parts


def room_left(message: str) -> int:
    """How many more characters fit in the message's last part (GSM-7 extension ones take two),
    so a compose view can say how close the next part is."""
    gsm = is_gsm7(message)
    widths = [
        (2 if ch in _GSM_EXTENSION else 1) if gsm else (2 if ord(ch) > 0xFFFF else 1)
        for ch in message
    ]
    single, per_part = (GSM_SINGLE, GSM_PER_PART) if gsm else (UCS2_SINGLE, UCS2_PER_PART)
    if sum(widths) <= single:
        return single - sum(widths)
    used = 0
    for width in widths:
        if used + width > per_part:
            used = 0
        used += width
    return per_part - used
