"""SMS parts: what a text costs, pinned at every boundary where one more character adds a part."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sms.parts import segments


@pytest.mark.parametrize(
    ("length", "parts"), [(1, 1), (160, 1), (161, 2), (306, 2), (307, 3), (459, 3), (460, 4)]
)
def test_gsm_text_fits_160_in_one_part_then_153_per_part(length: int, parts: int) -> None:
    assert segments("a" * length) == parts


@pytest.mark.parametrize(
    ("length", "parts"), [(1, 1), (70, 1), (71, 2), (134, 2), (135, 3), (201, 3), (202, 4)]
)
def test_ucs2_text_fits_70_in_one_part_then_67_per_part(length: int, parts: int) -> None:
    assert segments("ж" * length) == parts


def test_gsm_extension_characters_count_twice() -> None:
    assert segments("€" * 80) == 1
    assert segments("€" * 81) == 2
    assert segments("[" + "a" * 158) == 1
    assert segments("[" + "a" * 159) == 2


def test_an_extension_character_never_straddles_two_parts() -> None:
    # 306 septets would fit two parts, but the "€" cannot be split across the first boundary.
    assert segments("a" * 152 + "€" + "a" * 152) == 3


def test_one_character_outside_gsm_makes_the_whole_message_ucs2() -> None:
    assert segments("a" * 70 + "ç") == 2
    assert segments("【ACME】" + "a" * 64) == 1
    assert segments("【ACME】" + "a" * 65) == 2


def test_gsm_accented_letters_stay_gsm() -> None:
    assert segments("é" * 160) == 1


def test_emoji_take_two_ucs2_units_and_are_never_split() -> None:
    assert segments("😀" * 35) == 1
    assert segments("😀" * 36) == 2
    # 134 units would fit two parts, but the emoji cannot be split across the first boundary.
    assert segments("a" * 66 + "😀" + "a" * 66) == 3


def test_empty_message_is_one_part() -> None:
    assert segments("") == 1


@given(st.text(alphabet="abcXYZ 0123456789.,!?@$\n", max_size=1000))
def test_plain_gsm_text_segments_match_the_formula(message: str) -> None:
    expected = 1 if len(message) <= 160 else math.ceil(len(message) / 153)
    assert segments(message) == expected


@given(st.text(max_size=400), st.text(max_size=400))
def test_longer_text_never_needs_fewer_parts(head: str, tail: str) -> None:
    assert segments(head + tail) >= segments(head) >= 1


# the boundaries, one character either side


def test_gsm_160_is_one_part_and_161_is_two() -> None:
    assert segments("a" * 160) == 1
    assert segments("a" * 161) == 2


def test_ucs2_70_is_one_part_and_71_is_two() -> None:
    assert segments("ж" * 70) == 1
    assert segments("ж" * 71) == 2


def test_an_extension_character_ending_exactly_at_153_stays_in_the_first_part() -> None:
    # 151 + 2 septets fill the first part exactly; 153 more fill the second.
    assert segments("a" * 151 + "€" + "a" * 153) == 2
    assert segments("a" * 151 + "€" + "a" * 154) == 3


def test_an_extension_character_at_septet_153_moves_to_the_next_part() -> None:
    assert segments("a" * 152 + "€" + "a" * 151) == 2
    assert segments("a" * 152 + "€" + "a" * 152) == 3


def test_an_emoji_ending_exactly_at_67_stays_in_the_first_part() -> None:
    # 65 + 2 units fill the first part exactly; 67 more fill the second.
    assert segments("a" * 65 + "😀" + "a" * 67) == 2
    assert segments("a" * 65 + "😀" + "a" * 68) == 3


def test_an_emoji_at_unit_67_moves_to_the_next_part() -> None:
    assert segments("a" * 66 + "😀" + "a" * 65) == 2
    assert segments("a" * 66 + "😀" + "a" * 66) == 3


def test_form_feed_is_an_extension_character_but_escape_is_not_gsm() -> None:
    assert segments("\f" + "a" * 158) == 1  # form feed: extension table, two septets
    assert segments("\f" + "a" * 159) == 2
    assert segments("\x1b" + "a" * 69) == 1  # ESC is no character of its own: UCS-2
    assert segments("\x1b" + "a" * 70) == 2
