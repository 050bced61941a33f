"""The SMS an alert's page sends: `[FIRING:N] title — text`, fitted to SMS_ALERT_MAX_PARTS.

An alert's description can be pages long; a phone at 3 a.m. needs the first line of it in
one SMS. The text is cut on a character boundary (never inside an emoji sequence) with an
ellipsis, counting parts as the gateway will (`sms.parts`), signature included.

One character outside GSM-7 makes the whole SMS UCS-2, 70 characters a part instead of
160, so the text's own punctuation must not be what tips it: the separator and the
ellipsis are ASCII (` - `, `...`) while the SMS is GSM-7, and `—`, `…` once it is UCS-2
anyway (Chinese, Greek lower case, emoji, or the provider's `【signature】`).
"""

from __future__ import annotations

import unicodedata

from sms.parts import is_gsm7, segments

__all__ = ["alert_sms"]

# Characters that belong to the one before them: cutting before one splits a character.
_JOINERS = {"\u200d", "\ufe0e", "\ufe0f", "\u20e3"}
_SKIN_TONES = range(0x1F3FB, 0x1F400)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _belongs_to_previous(text: str, at: int) -> bool:
    """Whether a cut before `text[at]` would split one character a person sees."""
    ch = text[at]
    if ch in _JOINERS or ord(ch) in _SKIN_TONES or unicodedata.combining(ch):
        return True
    if text[at - 1] == "\u200d":
        return True
    tags = range(0xE0020, 0xE0080)  # the tags of a subdivision flag
    return ord(ch) in tags


def _regional_pair_split(text: str, at: int) -> bool:
    """A flag is two regional indicators: a cut between them leaves half a flag."""
    run = 0
    while at - run - 1 >= 0 and 0x1F1E6 <= ord(text[at - run - 1]) <= 0x1F1FF:
        run += 1
    return run % 2 == 1


def _fits(content: str, signature: str | None, max_parts: int) -> bool:
    full = f"【{signature}】{content}" if signature else content
    return segments(full) <= max_parts


def alert_sms(
    title: str, text: str, firing: int, *, max_parts: int = 1, signature: str | None = None
) -> str:
    """The page's SMS text (without the signature, which the send path puts before it)."""
    head = f"[FIRING:{max(firing, 1)}] "
    title, text = _one_line(title), _one_line(text)
    signed = f"【{signature}】" if signature else ""
    plain = is_gsm7(signed + head + title + text)
    dash, ellipsis = (" - ", "...") if plain else (" — ", "…")
    body = title + (dash + text if text else "")
    if _fits(head + body, signature, max_parts):
        return head + body
    # Longest first: a shorter cut can change the encoding, so fitting is not monotonic.
    for cut in range(min(len(body), max_parts * 160), 0, -1):
        if cut < len(body) and (_belongs_to_previous(body, cut) or _regional_pair_split(body, cut)):
            continue
        kept = body[:cut].rstrip().removesuffix(dash.strip()).rstrip()
        end = "..." if is_gsm7(signed + head + kept) else ellipsis
        if _fits(head + kept + end, signature, max_parts):
            return head + kept + end
    return head.rstrip()
