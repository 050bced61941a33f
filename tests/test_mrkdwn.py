"""Slack mrkdwn text: user text shown safely, Slack's escaped text read as a person would."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.mrkdwn import escape, to_plain_text, unescape


def test_escape_neutralises_slack_control_characters() -> None:
    assert escape("<!channel> & <@U1>") == "&lt;!channel&gt; &amp; &lt;@U1&gt;"


def test_unescape_decodes_each_entity_once() -> None:
    assert unescape("&lt;b&gt; &amp;lt; &quot;") == "<b> &lt; &quot;"


@given(st.text())
def test_unescape_undoes_escape(text: str) -> None:
    assert unescape(escape(text)) == text


@pytest.mark.parametrize(
    ("slack", "plain"),
    [
        ("hi <@U123|alice>", "hi @alice"),
        ("<@U123>", "@U123"),
        ("<!subteam^S1|@oncall>", "@oncall"),
        ("<!subteam^S1>", "@S1"),
        ("<!here> <!channel|channel>", "@here @channel"),
        ("<#C1|general> <#C2>", "#general #C2"),
        ("<tel:+2348031000010|call me> <mailto:a@b.c>", "call me a@b.c"),
        ("<https://example.com|site>", "https://example.com"),
        ("A&amp;B &lt;3", "A&B <3"),
    ],
)
def test_to_plain_text_reads_mentions_as_names_and_decodes_entities(slack: str, plain: str) -> None:
    assert to_plain_text(slack) == plain
