"""The SMS an alert pages with: `[FIRING:N] title — text`, in as many parts as allowed."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.alerts.text import alert_sms
from sms.parts import is_gsm7, segments


def signed(text: str, signature: str | None) -> str:
    return f"【{signature}】{text}" if signature else text


def test_a_short_alert_is_sent_whole() -> None:
    assert alert_sms("DB down", "primary is gone", 2) == "[FIRING:2] DB down - primary is gone"


def test_no_text_means_just_the_title_and_at_least_one_alert_is_counted() -> None:
    assert alert_sms("DB down", "", 0) == "[FIRING:1] DB down"


def test_whitespace_and_newlines_fold_into_one_line() -> None:
    assert alert_sms("  DB\n down ", "line one\n\nline two", 1) == (
        "[FIRING:1] DB down - line one line two"
    )


# `[` and `]` are in GSM-7's extension table: two septets each, so the head takes 13.
HEAD_SEPTETS = 13


def test_a_long_latin_alert_fills_one_gsm_part_and_ends_with_three_dots() -> None:
    sms = alert_sms("Disk full", "x" * 500, 3)
    assert sms.startswith("[FIRING:3] Disk full - xxx") and sms.endswith("...")
    assert is_gsm7(sms) and len(sms) == 160 - 2 and segments(sms) == 1


@pytest.mark.parametrize("septets", [159, 160, 161])
def test_the_gsm_boundary_is_exact(septets: int) -> None:
    title = "T" * (septets - HEAD_SEPTETS)
    sms = alert_sms(title, "", 1)
    if septets <= 160:
        assert sms == "[FIRING:1] " + title
    else:
        assert sms == "[FIRING:1] " + "T" * (160 - HEAD_SEPTETS - 3) + "..."


def test_extension_characters_count_twice() -> None:
    sms = alert_sms("{}" * 100, "", 1)
    assert sms == "[FIRING:1] " + "{}" * 36 + "..."  # 13 + 144 + 3 septets


def test_chinese_makes_it_ucs2_70_characters_with_a_real_ellipsis() -> None:
    sms = alert_sms("数据库主节点宕机", "主库无法连接，请立即检查复制状态和磁盘空间" * 5, 1)
    assert not is_gsm7(sms) and len(sms) == 70 and segments(sms) == 1
    assert sms.startswith("[FIRING:1] 数据库主节点宕机 — 主库") and sms.endswith("…")


def test_one_greek_letter_outside_gsm_turns_the_whole_sms_ucs2() -> None:
    # capital Δ is GSM-7; small α is not
    assert is_gsm7(alert_sms("Δ latency", "x" * 100, 1))
    sms = alert_sms("α latency", "x" * 100, 1)
    assert len(sms) == 70 and sms.endswith("…") and "α latency — xx" in sms


def test_emoji_are_counted_as_two_units_and_never_cut_in_half() -> None:
    family = "👨\u200d👩\u200d👧"  # one character a person sees, five code points
    sms = alert_sms("Fire", family * 30, 1)
    assert segments(sms) == 1 and sms.endswith("…")
    kept = sms.removeprefix("[FIRING:1] Fire — ").removesuffix("…")
    assert kept == family * (len(kept) // len(family)), "an emoji sequence was split"
    flags = alert_sms("Fire", "🇳🇬" * 60, 1)
    assert (flags.count("🇳🇬") * 2) == sum(0x1F1E6 <= ord(c) <= 0x1F1FF for c in flags)


def test_the_signature_counts_and_makes_it_ucs2() -> None:
    sms = alert_sms("DB down", "x" * 200, 1, signature="ACME")
    full = signed(sms, "ACME")
    assert segments(full) == 1 and len(full) == 70 and sms.endswith("…")


def test_more_parts_allow_more_text() -> None:
    sms = alert_sms("Disk full", "x" * 1000, 1, max_parts=3)
    assert segments(sms) == 3 and len(sms) == 3 * 153 - 2


def test_a_cut_that_drops_the_only_non_gsm_character_goes_back_to_gsm() -> None:
    # The em dash in the text would make it UCS-2; cut before it, the SMS is GSM-7 again.
    sms = alert_sms("x" * 200, "中", 1)
    assert is_gsm7(sms) and len(sms) == 160 - 2 and sms.endswith("...")


@given(
    st.text(min_size=1, max_size=300),
    st.text(max_size=600),
    st.integers(0, 999),
    st.integers(1, 4),
    st.sampled_from([None, "ACME", "数据"]),
)
def test_any_alert_fits_its_parts_and_starts_with_firing(
    title: str, text: str, firing: int, parts: int, signature: str | None
) -> None:
    sms = alert_sms(title, text, firing, max_parts=parts, signature=signature)
    assert sms.startswith(f"[FIRING:{max(firing, 1)}]")
    assert segments(signed(sms, signature)) <= parts
