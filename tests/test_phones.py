"""Numbers as users type them → the gateway's digits → what the channel shows."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sms.phones import MASK, InvalidNumber, display, mask, normalize


def _examples() -> list[str]:
    """One valid example number per region and type, as E.164 digits without "+"."""
    found: set[str] = set()
    kinds = (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE)
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in kinds:
            number = phonenumbers.example_number_for_type(region, kind)
            if number is not None and phonenumbers.is_valid_number(number):
                found.add(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
    return sorted(digits.removeprefix("+") for digits in found)


EXAMPLES = _examples()


@pytest.mark.parametrize(
    "raw",
    [
        "+2348031000010",
        "+234 803 100 0010",
        "+234-803-100-0010",
        "+234.803.100.0010",
        "(234) 803-100-0010",
        "2348031000010",
        "  +234 803 100 0010  ",
        "+234 (0) 803 100 0010",
        "002348031000010",
        "＋234 803 100 0010",
    ],
)
def test_normalize_accepts_the_ways_people_write_an_international_number(raw: str) -> None:
    assert normalize(raw, None) == "2348031000010"


@pytest.mark.parametrize("raw", ["08031000010", "0803 100 0010", "0803-100-0010", "8031000010"])
def test_normalize_reads_national_numbers_with_a_default_region(raw: str) -> None:
    assert normalize(raw, "NG") == "2348031000010"


def test_normalize_accepts_a_country_code_without_plus_even_with_another_default_region() -> None:
    assert normalize("447911123456", "NG") == "447911123456"


def test_normalize_uses_the_regions_own_international_prefix() -> None:
    assert normalize("011 44 7911 123456", "US") == "447911123456"


def test_normalize_refuses_national_numbers_without_a_default_region() -> None:
    with pytest.raises(InvalidNumber) as caught:
        normalize("0803 100 0010", None)
    assert str(caught.value) == (
        "“0803 100 0010” has no country code: write it as +234… (or set SMS_DEFAULT_REGION)"
    )


def test_normalize_names_the_number_it_refuses() -> None:
    with pytest.raises(InvalidNumber) as caught:
        normalize("+234 12", None)
    assert str(caught.value).startswith("“+234 12” is not a valid phone number")
    assert caught.value.raw == "+234 12"


def test_normalize_says_when_a_number_is_too_long() -> None:
    with pytest.raises(InvalidNumber, match="too long"):
        normalize("+234 803 100 0010 0000 000", None)


def test_normalize_says_when_a_country_code_does_not_exist() -> None:
    with pytest.raises(InvalidNumber, match="unknown country code"):
        normalize("+999 1234567", None)


def test_normalize_refuses_a_number_that_reads_two_ways_rather_than_guess() -> None:
    # "2015550123" is a US number to an American and an Egyptian one with its country code.
    with pytest.raises(InvalidNumber) as caught:
        normalize("2015550123", "US")
    assert "+1 201-555-0123" in str(caught.value)
    assert "+20 15 550123" in str(caught.value)


def test_normalize_accepts_the_ambiguous_digits_once_the_plus_is_written() -> None:
    assert normalize("+1 201 555 0123", "US") == "12015550123"
    assert normalize("+20 15 550123", "US") == "2015550123"


@pytest.mark.parametrize(
    "raw", ["", "   ", "abc", "+1 800 FLOWERS", "+234 803 100 0010 ext. 12", "++", "1"]
)
def test_normalize_refuses_things_that_are_not_numbers(raw: str) -> None:
    with pytest.raises(InvalidNumber):
        normalize(raw, "NG")


def test_invalid_number_is_a_value_error_so_callers_can_catch_either() -> None:
    assert issubclass(InvalidNumber, ValueError)


@given(st.text())
def test_normalize_only_ever_raises_invalid_number(raw: str) -> None:
    try:
        digits = normalize(raw, "NG")
    except InvalidNumber as exc:
        assert str(exc).startswith("“")
    else:
        assert digits.isdigit()
        assert phonenumbers.is_valid_number(phonenumbers.parse("+" + digits))


@given(st.sampled_from(EXAMPLES))
def test_normalize_round_trips_display(digits: str) -> None:
    assert normalize(display(digits), None) == digits


@given(st.sampled_from(EXAMPLES))
def test_normalize_accepts_its_own_output(digits: str) -> None:
    assert normalize(digits, None) == digits


def test_display_uses_international_format() -> None:
    assert display("2348031000010") == "+234 803 100 0010"
    assert display("12125551234") == "+1 212-555-1234"


def test_display_of_unparseable_digits_still_shows_them() -> None:
    assert display("") == "+"
    assert display("0123") == "+0123"


@pytest.mark.parametrize(
    ("digits", "masked"),
    [
        ("2348031000010", "+234 803 ••• 0010"),
        ("447911123456", "+44 7911 ••• 3456"),
        ("12125551234", "+1 212 ••• 1234"),
        ("4930123456", "+49 30 ••• 3456"),
    ],
)
def test_mask_shows_country_code_first_group_and_last_four_digits(digits: str, masked: str) -> None:
    assert mask(digits) == masked


def test_mask_hides_the_first_group_when_it_would_leave_too_little_hidden() -> None:
    # +353 12345: the first group plus the last four would give the whole number away.
    assert mask("35312345") == "+353 ••• 45"


def test_mask_of_unparseable_digits_reveals_at_most_the_last_four() -> None:
    assert mask("") == MASK
    assert mask("0123") == MASK
    assert mask("0123456789") == MASK + "6789"


@given(st.sampled_from(EXAMPLES))
def test_mask_always_hides_some_digits_and_keeps_the_country_code(digits: str) -> None:
    masked = mask(digits)
    country_code = str(phonenumbers.parse("+" + digits).country_code)
    assert masked.startswith(f"+{country_code} ")
    assert MASK in masked
    shown = "".join(ch for ch in masked if ch.isdigit())
    assert len(shown) <= len(digits) - 2
    assert digits.endswith(masked.rsplit(" ", 1)[-1])
