"""Phone numbers as users type them, as the gateway wants them, and as the channel shows them.

The gateway takes E.164 digits without "+" (gateway-api.md §7.9) while people type
"+234 803 100 0010", "0803…" or "(234) 803-100-0010"; phonenumbers does the parsing and
validation so that a typo is caught here rather than billed by the gateway.
"""

from __future__ import annotations

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumber, PhoneNumberFormat
from phonenumbers import ValidationResult as Reason

MASK = "•••"

_REASONS = {
    Reason.TOO_SHORT: "too short",
    Reason.TOO_LONG: "too long",
    Reason.INVALID_COUNTRY_CODE: "unknown country code",
}


class InvalidNumber(ValueError):
    """A number the user typed that cannot be sent to; str(e) is a sentence for that user."""

    def __init__(self, raw: str, reason: str) -> None:
        super().__init__(f"“{raw}” {reason}")
        self.raw = raw


def _parse(text: str, region: str | None) -> PhoneNumber | None:
    """A valid number without an extension, or None: SMS cannot reach an extension."""
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException:
        return None
    if number.extension or not phonenumbers.is_valid_number(number):
        return None
    return number


def _e164_digits(number: PhoneNumber) -> str:
    return phonenumbers.format_number(number, PhoneNumberFormat.E164).removeprefix("+")


def _invalid_reason(text: str) -> str:
    """Why an explicitly international number failed, in a few words for the user."""
    try:
        number = phonenumbers.parse(text, None)
    except NumberParseException as exc:
        if exc.error_type == NumberParseException.INVALID_COUNTRY_CODE:
            return "is not a valid phone number (unknown country code)"
        return "is not a valid phone number"
    why = _REASONS.get(phonenumbers.is_possible_number_with_reason(number))
    return f"is not a valid phone number ({why})" if why else "is not a valid phone number"


def normalize(raw: str, default_region: str | None) -> str:
    """E.164 digits without "+" (e.g. "2348031000010"), or InvalidNumber naming what was typed.

    Digits without "+" are read as international first (users paste "234803…"); with a default
    region they may also be national ("0803…"). When both readings are valid numbers in
    different places the user must say which, because guessing would text a stranger.
    """
    text = raw.strip()
    digits = phonenumbers.normalize_digits_only(text)
    if not digits or any(ch.isalpha() for ch in text):
        raise InvalidNumber(raw.strip(), "is not a phone number")
    if text[0] in "+＋":
        number = _parse(text, None)
        if number is None:
            raise InvalidNumber(text, _invalid_reason(text))
        return _e164_digits(number)

    readings = [_parse("+" + digits, None)]
    if digits.startswith("00"):
        readings.append(_parse("+" + digits[2:], None))
    if default_region:
        readings.append(_parse(text, default_region))
    found = list(dict.fromkeys(_e164_digits(n) for n in readings if n is not None))
    if len(found) == 1:
        return found[0]
    if len(found) > 1:
        options = " or ".join(display(d) for d in found)
        raise InvalidNumber(text, f"could be {options}: write it with + and the country code")
    if default_region is None and digits.startswith("0") and not digits.startswith("00"):
        raise InvalidNumber(
            text, "has no country code: write it as +234… (or set SMS_DEFAULT_REGION)"
        )
    if default_region is None:
        raise InvalidNumber(
            text, "is not a valid phone number (write it with + and the country code)"
        )
    raise InvalidNumber(text, "is not a valid phone number")


def _parsed(digits: str) -> PhoneNumber | None:
    try:
        return phonenumbers.parse("+" + digits, None)
    except NumberParseException:
        return None


def display(digits: str) -> str:
    """The number as people read it, e.g. "+234 803 100 0010"; raw "+digits" if unparseable."""
    number = _parsed(digits)
    if number is None:
        return "+" + digits
    return phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)


def mask(digits: str) -> str:
    """E.g. "+234 803 ••• 0010": enough to recognise a number in a channel, not to dial it.

    The first group stays visible unless showing it with the last four digits would leave fewer
    than two digits hidden; very short numbers show only their last two digits.
    """
    number = _parsed(digits)
    if number is None:
        return MASK + digits[-4:] if len(digits) > 6 else MASK
    national = phonenumbers.national_significant_number(number)
    prefix = f"+{number.country_code}"
    tail = 4 if len(national) > 6 else 2
    groups = display(digits).removeprefix(prefix).strip().replace("-", " ").split()
    first = groups[0] if groups and national.startswith(groups[0]) else ""
    if len(national) - len(first) - tail < 2:
        first = ""
    head = f"{prefix} {first}" if first else prefix
    return f"{head} {MASK} {national[-tail:]}"
