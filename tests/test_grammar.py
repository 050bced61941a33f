"""The `/sms` grammar: what users type (as Slack escapes it) → typed requests or usage errors."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from listeners.commands.grammar import (
    MAX_MESSAGE_CHARS,
    SUBCOMMANDS,
    USAGE,
    BalanceRequest,
    ContactsAddRequest,
    ContactsListRequest,
    ContactsRemoveRequest,
    HelpRequest,
    SendRequest,
    StatusRequest,
    UsageError,
    parse,
)

LAGOS = ZoneInfo("Africa/Lagos")
NOW = datetime(2025, 1, 10, 12, 0, 30, tzinfo=LAGOS)
A = "2348031000010"
B = "2348031000011"


Request = (
    HelpRequest
    | BalanceRequest
    | StatusRequest
    | SendRequest
    | ContactsAddRequest
    | ContactsListRequest
    | ContactsRemoveRequest
)


def p(
    text: str,
    *,
    region: str | None = None,
    zone: ZoneInfo = LAGOS,
    now: datetime = NOW,
    contacts: Collection[str] = (),
) -> Request:
    return parse(text, default_region=region, zone=zone, now=now, contacts=contacts)


def send(text: str, **kwargs: Any) -> SendRequest:
    request = p(text, **kwargs)
    assert isinstance(request, SendRequest)
    return request


def error(text: str, **kwargs: Any) -> str:
    with pytest.raises(UsageError) as caught:
        p(text, **kwargs)
    return str(caught.value)


# help, balance, status, unknown subcommands


@pytest.mark.parametrize("text", ["", "   ", "\n", "help", "HELP", "Help", "?", "  help  "])
def test_empty_text_and_help_ask_for_usage(text: str) -> None:
    assert p(text) == HelpRequest()


def test_help_keeps_a_known_topic() -> None:
    assert p("help SEND") == HelpRequest(topic="send")


def test_help_drops_an_unknown_topic_and_shows_everything() -> None:
    assert p("help nonsense") == HelpRequest(topic=None)


def test_usage_lists_every_subcommand_with_an_example() -> None:
    for subcommand in SUBCOMMANDS:
        assert f"`/sms {subcommand}" in USAGE
    assert "/sms send +2348031000010" in USAGE
    assert "/sms status 240924162017564896" in USAGE


@pytest.mark.parametrize("text", ["balance", "BALANCE", " balance  "])
def test_balance_takes_nothing(text: str) -> None:
    assert p(text) == BalanceRequest()


def test_balance_with_arguments_is_a_usage_error() -> None:
    assert "`/sms balance`" in error("balance now")


def test_status_without_id_asks_for_recent_sends() -> None:
    assert p("status") == StatusRequest(msg_id=None)


def test_status_keeps_the_msg_id_as_a_string_with_leading_zeros() -> None:
    assert p("Status 0240924162017564896") == StatusRequest(msg_id="0240924162017564896")


@pytest.mark.parametrize(
    "text", ["status abc", "status 12a", "status 1 2", "status ١٢٣", "status -1"]
)
def test_status_with_a_non_digit_id_is_a_usage_error(text: str) -> None:
    message = error(text)
    assert "only digits" in message
    assert message.splitlines()[-1] == "Usage: `/sms status [msgId]`"


def test_unknown_subcommand_suggests_the_closest() -> None:
    message = error("sned +2348031000010 hi")
    assert "“sned”" in message
    assert "Did you mean `send`?" in message


def test_unknown_subcommand_far_from_any_does_not_guess() -> None:
    message = error("frobnicate")
    assert "Did you mean" not in message
    assert "/sms help" in message


def test_a_number_where_the_subcommand_belongs_says_to_start_with_one() -> None:
    assert "Start with a subcommand" in error("+2348031000010 hello")


# send and page: recipients


def test_send_reads_number_then_message() -> None:
    assert send("send +2348031000010 Your code is 279275") == SendRequest(
        kind="send",
        recipients=(A,),
        user_mentions=(),
        group_mentions=(),
        message="Your code is 279275",
        sender_id=None,
        send_at=None,
    )


def test_subcommand_is_case_insensitive_and_sets_the_kind() -> None:
    assert send("SEND +2348031000010 hi").kind == "send"
    assert send("Page +2348031000010 hi").kind == "page"


def test_comma_separated_numbers_are_each_recipients() -> None:
    assert send("send +2348031000010,+2348031000011 hi").recipients == (A, B)


def test_recipients_are_deduplicated_in_order_after_normalising() -> None:
    request = send('send +2348031000011 +2348031000010,2348031000011 "(234) 803-100-0010" hi')
    assert request.recipients == (B, A)


def test_numbers_without_plus_are_international() -> None:
    assert send("send 2348031000010 hi").recipients == (A,)


def test_national_numbers_use_the_default_region() -> None:
    assert send("send 08031000010 hi", region="NG").recipients == (A,)


@pytest.mark.parametrize(
    "quoted", ['"+234 803 100 0010"', "“+234 803 100 0010”", '“+234 803 100 0010"']
)
def test_a_quoted_number_may_contain_spaces(quoted: str) -> None:
    request = send(f"send {quoted} +2348031000011 hi")
    assert request.recipients == (A, B)
    assert request.message == "hi"


def test_a_quoted_phrase_that_is_not_a_number_starts_the_message() -> None:
    request = send('send +2348031000010 "Hello" she said')
    assert request.message == '"Hello" she said'


def test_user_and_group_mentions_are_recipients() -> None:
    request = send("page <@U123|alice> <@W456> <!subteam^S789|@oncall> DB primary down")
    assert request.recipients == ()
    assert request.user_mentions == ("U123", "W456")
    assert request.group_mentions == ("S789",)
    assert request.message == "DB primary down"


def test_mentions_can_be_comma_separated_and_are_deduplicated() -> None:
    request = send("page <@U1|a>,<@U2|b>,+2348031000010 <@U1|a> <!subteam^S1> hi")
    assert request.user_mentions == ("U1", "U2")
    assert request.group_mentions == ("S1",)
    assert request.recipients == (A,)


def test_a_mention_label_with_spaces_or_commas_stays_one_recipient() -> None:
    assert send("page <@U1|Alice, Smith> hi").user_mentions == ("U1",)


def test_a_slack_tel_link_is_read_as_its_number() -> None:
    assert send("send <tel:+2348031000010|+234 803 100 0010> hi").recipients == (A,)


def test_the_first_non_recipient_token_starts_the_message() -> None:
    request = send("send +2348031000010 10:30 standup moved")
    assert request.message == "10:30 standup moved"


def test_double_dash_lets_a_message_start_with_digits() -> None:
    request = send("send +2348031000010 -- 2FA code 1234")
    assert request.recipients == (A,)
    assert request.message == "2FA code 1234"


def test_an_autocorrected_dash_also_separates_recipients_from_the_message() -> None:
    assert send("send +2348031000010 — 1234 is your code").message == "1234 is your code"


def test_a_message_starting_with_digits_without_double_dash_explains_the_fix() -> None:
    message = error("send +2348031000010 1234 is your code")
    assert "“1234” is not a valid phone number" in message
    assert "put `--` before it" in message


# errors about recipients


def test_no_recipients_is_a_usage_error() -> None:
    assert "Who should get it?" in error("send hello there")


def test_send_with_nothing_is_a_usage_error() -> None:
    assert "Who should get it?" in error("send")


def test_double_dash_with_no_recipients_is_a_usage_error() -> None:
    assert "Who should get it?" in error("send -- hello")


@pytest.mark.parametrize(("markup", "shown"), [("<!here>", "@here"), ("<#C1|general>", "#general")])
def test_broadcasts_and_channels_are_not_recipients(markup: str, shown: str) -> None:
    assert f"{shown} can't get an SMS" in error(f"send {markup} hello")


def test_every_bad_number_is_reported_with_its_reason() -> None:
    message = error("send +2341,+2348031000010,0803 +99912345 hi")
    assert "“+2341” is not a valid phone number" in message
    assert "“0803” has no country code" in message
    assert "“+99912345” is not a valid phone number" in message
    assert "These numbers can't be used:" in message
    assert message.splitlines()[-1].startswith("Usage: `/sms send")


def test_a_bad_number_typed_twice_is_listed_once() -> None:
    message = error("send +2341 +2341,+2348031000010 hi")
    assert message.count("“+2341”") == 1
    assert "This number can't be used:" in message


def test_a_flood_of_bad_numbers_is_summarised() -> None:
    message = error("send " + ",".join(f"+23400{i}" for i in range(100)) + " hi")
    assert "…and 90 more" in message
    assert len(message.splitlines()) < 20


def test_an_unquoted_number_with_spaces_gets_a_quoting_hint() -> None:
    message = error("send +234 803 100 0010 hello")
    assert 'in quotes: `"+234 803 100 0010"`' in message


def test_a_national_number_without_region_says_to_add_the_country_code() -> None:
    assert "SMS_DEFAULT_REGION" in error("send 08031000010 hi")


# the message


def test_message_keeps_spacing_and_newlines_verbatim() -> None:
    request = send("send +2348031000010 line one  has  spaces\n\n  line three\tend")
    assert request.message == "line one  has  spaces\n\n  line three\tend"


def test_newlines_may_separate_subcommand_recipients_and_message() -> None:
    request = send("send\n+2348031000010\nHello\nthere")
    assert request.recipients == (A,)
    assert request.message == "Hello\nthere"


def test_message_is_unescaped_once() -> None:
    request = send("send +2348031000010 a &lt;b&gt; &amp; c &amp;lt; d &amp;amp;")
    assert request.message == "a <b> & c &lt; d &amp;"


def test_mentions_inside_the_message_become_readable_names() -> None:
    request = send(
        "send +2348031000010 ask <@U1|alice>, <@U2> or <!subteam^S1|@oncall> in "
        "<#C1|inc-42> <!here> see <https://example.com/a?b=1&amp;c=2|example.com>"
    )
    assert request.message == (
        "ask @alice, @U2 or @oncall in #inc-42 @here see https://example.com/a?b=1&c=2"
    )
    assert request.user_mentions == ()


def test_empty_message_is_a_usage_error() -> None:
    assert "The message is empty" in error("send +2348031000010")
    assert "The message is empty" in error("send +2348031000010 --   ")


def test_message_of_the_maximum_length_is_accepted() -> None:
    assert len(send("send +2348031000010 " + "x" * MAX_MESSAGE_CHARS).message) == 1600


def test_message_over_the_maximum_length_is_a_usage_error() -> None:
    assert "1601 characters" in error("send +2348031000010 " + "x" * (MAX_MESSAGE_CHARS + 1))


def test_message_length_is_counted_after_unescaping() -> None:
    assert send("send +2348031000010 " + "&amp;" * MAX_MESSAGE_CHARS).message == "&" * 1600


# options


def test_from_and_at_are_read_from_the_end_in_either_order() -> None:
    first = send('send +2348031000010 hi --from ACME --at "2025-01-11 09:00"')
    second = send('send +2348031000010 hi --at "2025-01-11 09:00" --from ACME')
    assert first == second
    assert first.message == "hi"
    assert first.sender_id == "ACME"
    assert first.send_at == datetime(2025, 1, 11, 9, 0, tzinfo=LAGOS)


def test_at_is_wall_time_in_the_given_zone() -> None:
    tokyo = ZoneInfo("Asia/Tokyo")
    request = send('send +2348031000010 hi --at "2025-01-11 09:00"', zone=tokyo)
    assert request.send_at is not None
    assert request.send_at.tzinfo is tokyo
    assert request.send_at.replace(tzinfo=None) == datetime(2025, 1, 11, 9, 0)


@pytest.mark.parametrize(
    "option", ["--at “2025-01-11 09:00”", "--at 2025-01-11 09:00", "—at '2025-01-11 09:00'"]
)
def test_at_accepts_curly_quotes_no_quotes_and_autocorrected_dashes(option: str) -> None:
    option = option.replace("'", '"')
    assert send(f"send +2348031000010 hi {option}").send_at == datetime(
        2025, 1, 11, 9, 0, tzinfo=LAGOS
    )


def test_options_in_the_middle_of_the_message_are_message_text() -> None:
    request = send("send +2348031000010 use --from to pick the sender, then wait")
    assert request.message == "use --from to pick the sender, then wait"
    assert request.sender_id is None


def test_options_before_the_message_are_a_usage_error() -> None:
    assert "Options go after the message" in error("send +2348031000010 --from ACME hello")


def test_options_after_double_dash_are_still_options_at_the_end() -> None:
    request = send("send +2348031000010 -- 1234 --from ACME")
    assert (request.message, request.sender_id) == ("1234", "ACME")


def test_at_in_the_past_is_a_usage_error() -> None:
    assert "in the past" in error('send +2348031000010 hi --at "2025-01-10 11:59"')


def test_at_in_the_current_minute_is_already_past() -> None:
    assert "in the past" in error('send +2348031000010 hi --at "2025-01-10 12:00"')


def test_at_exactly_now_is_accepted() -> None:
    now = datetime(2025, 1, 10, 12, 0, tzinfo=LAGOS)
    assert send('send +2348031000010 hi --at "2025-01-10 12:00"', now=now).send_at == now


def test_at_up_to_thirty_days_ahead_is_accepted() -> None:
    now = datetime(2025, 1, 10, 12, 0, tzinfo=LAGOS)
    request = send('send +2348031000010 hi --at "2025-02-09 12:00"', now=now)
    assert request.send_at == now + timedelta(days=30)


def test_at_more_than_thirty_days_ahead_is_a_usage_error() -> None:
    now = datetime(2025, 1, 10, 12, 0, tzinfo=LAGOS)
    assert "more than 30 days" in error('send +2348031000010 hi --at "2025-02-09 12:01"', now=now)


def test_at_compares_with_an_aware_now_in_another_zone() -> None:
    utc_now = NOW.astimezone(ZoneInfo("UTC"))  # 11:00:30 UTC is 12:00:30 in Lagos
    assert "in the past" in error('send +2348031000010 hi --at "2025-01-10 11:30"', now=utc_now)


def test_a_naive_now_is_taken_as_wall_time_in_the_zone() -> None:
    naive = datetime(2025, 1, 10, 12, 0)
    assert send('send +2348031000010 hi --at "2025-01-10 12:30"', now=naive).send_at is not None


@pytest.mark.parametrize(
    "value", ['"tomorrow"', "tomorrow", '"2025-01-11"', '"2025-02-30 10:00"', '"2025-01-11 25:00"']
)
def test_at_in_another_format_is_a_usage_error(value: str) -> None:
    assert "YYYY-MM-DD HH:MM" in error(f"send +2348031000010 hi --at {value}")


def test_at_a_time_the_clocks_skip_is_a_usage_error() -> None:
    london = ZoneInfo("Europe/London")
    now = datetime(2025, 3, 20, 12, 0, tzinfo=london)
    assert "does not exist" in error(
        'send +2348031000010 hi --at "2025-03-30 01:30"', zone=london, now=now
    )


def test_at_without_a_value_is_a_usage_error() -> None:
    assert "YYYY-MM-DD HH:MM" in error("send +2348031000010 hi --at")


@pytest.mark.parametrize(
    "at", ['--at "2025-01-11 09:00"', "--at 2025-01-11 09:00", '--at "tomorrow"', "--at"]
)
def test_a_page_with_at_is_refused_because_a_page_goes_out_now(at: str) -> None:
    said = error(f"page <@U1|alice> DB primary down {at}")
    assert "A page goes out now" in said and "/sms send" in said


def test_a_page_with_from_is_still_a_page() -> None:
    assert send("page <@U1|alice> DB primary down --from ACME").sender_id == "ACME"


def test_from_of_twenty_characters_is_accepted() -> None:
    assert send("send +2348031000010 hi --from " + "A" * 20).sender_id == "A" * 20


def test_from_longer_than_twenty_characters_is_a_usage_error() -> None:
    assert "21 characters" in error("send +2348031000010 hi --from " + "A" * 21)


@pytest.mark.parametrize("tail", ["--from", '--from ""', "--from --at"])
def test_from_without_a_value_is_a_usage_error(tail: str) -> None:
    assert "needs a sender ID" in error(f"send +2348031000010 hi {tail}")


def test_from_may_be_quoted_and_is_unescaped() -> None:
    assert send('send +2348031000010 hi --from "A&amp;B Co"').sender_id == "A&B Co"


def test_an_option_given_twice_is_a_usage_error() -> None:
    assert "given twice" in error("send +2348031000010 hi --from A --from B")


# the request and the error types


def test_usage_is_safe_slack_mrkdwn_without_raw_angle_brackets() -> None:
    assert "<" not in USAGE and ">" not in USAGE
    assert "&lt;to&gt;" in error("send hello")


def test_errors_quote_what_the_user_typed_still_escaped_for_slack() -> None:
    assert "“&lt;b&gt;”" in error("&lt;b&gt; hello")
    assert "“A&amp;B-VERY-LONG-SENDER-ID”" in error(
        "send +2348031000010 hi --from A&amp;B-VERY-LONG-SENDER-ID"
    )


def test_requests_are_frozen() -> None:
    request = send("send +2348031000010 hi")
    with pytest.raises(dataclasses.FrozenInstanceError):
        request.message = "changed"  # type: ignore[misc]


def test_usage_error_is_a_sentence_then_a_usage_hint_line() -> None:
    with pytest.raises(UsageError) as caught:
        p("send hello")
    reason, hint = str(caught.value).rsplit("\n", 1)
    assert reason == caught.value.reason
    assert hint == caught.value.hint
    assert hint.startswith("Usage: ")
    assert isinstance(caught.value, ValueError)


# saved contacts as recipients

SAVED = {"oncall", "alice", "bob", "ops.team"}


def test_a_saved_name_is_a_recipient_and_the_next_word_starts_the_message() -> None:
    request = send("send oncall DB primary down", contacts=SAVED)
    assert request.contacts == ("oncall",)
    assert request.recipients == ()
    assert request.message == "DB primary down"


def test_a_send_to_a_contact_of_numbers_only_carries_the_name() -> None:
    assert send("send oncall hi", contacts={"oncall"}) == SendRequest(
        kind="send",
        recipients=(),
        user_mentions=(),
        group_mentions=(),
        message="hi",
        sender_id=None,
        send_at=None,
        contacts=("oncall",),
    )


def test_contacts_mix_with_numbers_and_mentions_in_comma_lists_and_keep_their_order() -> None:
    request = send("page +2348031000010,oncall <@U1|a> bob,ALICE,oncall hi", contacts=SAVED)
    assert request.contacts == ("oncall", "bob", "alice")
    assert request.recipients == (A,)
    assert request.user_mentions == ("U1",)
    assert request.message == "hi"


def test_contact_names_match_whatever_the_case_and_come_back_lower_case() -> None:
    assert send("send OnCall hi", contacts=SAVED).contacts == ("oncall",)
    assert send("send oncall hi", contacts={"OnCall"}).contacts == ("oncall",)


def test_a_name_with_dots_is_one_recipient() -> None:
    assert send("send ops.team hi", contacts=SAVED).contacts == ("ops.team",)


def test_double_dash_lets_a_message_start_with_a_contacts_name() -> None:
    request = send("send +2348031000010 -- alice will call you", contacts=SAVED)
    assert request.contacts == ()
    assert request.message == "alice will call you"


def test_without_double_dash_a_leading_contact_name_is_a_recipient() -> None:
    request = send("send +2348031000010 alice will call you", contacts=SAVED)
    assert request.contacts == ("alice",)
    assert request.message == "will call you"


def test_a_word_that_is_not_saved_starts_the_message_as_before() -> None:
    request = send("send +2348031000010 carol will call you", contacts=SAVED)
    assert request.contacts == ()
    assert request.message == "carol will call you"


def test_a_quoted_name_is_message_text_not_a_contact() -> None:
    request = send('send +2348031000010 "alice" is here', contacts=SAVED)
    assert request.contacts == ()
    assert request.message == '"alice" is here'


def test_without_saved_contacts_names_are_message_words() -> None:
    assert "Who should get it?" in error("send oncall hi")


def test_a_typo_in_a_contact_name_is_suggested_when_nobody_else_is_named() -> None:
    message = error("send oncal DB down", contacts=SAVED)
    assert "Who should get it?" in message
    assert "Did you mean the contact `oncall`?" in message


def test_no_suggestion_when_no_name_is_close() -> None:
    assert "Did you mean" not in error("send hello there", contacts=SAVED)


def test_a_typo_inside_a_comma_list_is_named_instead_of_becoming_the_message() -> None:
    message = error("send +2348031000010 alice,bobb hi", contacts=SAVED)
    assert "“bobb” in “alice,bobb”" in message
    assert "Did you mean the contact `bob`?" in message


def test_a_comma_list_of_plain_words_is_still_message_text() -> None:
    assert send("send +2348031000010 hi,there", contacts=SAVED).message == "hi,there"


def test_a_contact_name_where_the_subcommand_belongs_says_to_start_with_one() -> None:
    assert "Start with a subcommand" in error("oncall hi", contacts=SAVED)


# contacts add, list, remove


def test_contacts_alone_or_list_lists() -> None:
    assert p("contacts") == ContactsListRequest()
    assert p("Contacts LIST") == ContactsListRequest()
    assert "takes nothing after it" in error("contacts list all")


def test_contacts_add_reads_a_name_then_numbers_and_mentions() -> None:
    request = p(
        'contacts add OnCall +2348031000010,2348031000011 "+234 803 100 0010" '
        "<@U0BOB|bob> <!subteam^S1|@ops>"
    )
    assert request == ContactsAddRequest(
        name="oncall", numbers=(A, B), user_mentions=("U0BOB",), group_mentions=("S1",)
    )


def test_contacts_add_normalises_national_numbers_with_the_default_region() -> None:
    request = p("contacts add home 08031000010", region="NG")
    assert isinstance(request, ContactsAddRequest)
    assert request.numbers == (A,)


def test_contacts_add_may_replace_an_existing_name() -> None:
    request = p("contacts add oncall +2348031000010", contacts=SAVED)
    assert request == ContactsAddRequest("oncall", (A,), (), ())


def test_contacts_add_without_members_asks_who() -> None:
    assert "Who is `oncall`?" in error("contacts add oncall")


def test_contacts_add_without_a_name_asks_for_one() -> None:
    assert "Which contact?" in error("contacts add")


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("contacts add x +2348031000010 hello there", "“hello”"),
        ("contacts add x +2348031000010 -- hello", "“--”"),
        ("contacts add x +2348031000010 --from ACME", "“--from”"),
        ("contacts add x +2348031000010 <!here>", "“@here”"),
        ("contacts add x +2348031000010,hello", "“hello” in “+2348031000010,hello”"),
    ],
)
def test_contacts_add_refuses_anything_after_the_members_and_names_it(
    text: str, named: str
) -> None:
    message = error(text)
    assert named in message
    assert message.splitlines()[-1].startswith("Usage: `/sms contacts add NAME")


def test_contacts_add_reports_bad_numbers_without_the_message_hint() -> None:
    message = error("contacts add x +2348031000010 1234")
    assert "“1234” is not a valid phone number" in message
    assert "put `--`" not in message


def test_a_contact_cannot_contain_another_contact() -> None:
    message = error("contacts add team +2348031000010,alice bob", contacts=SAVED)
    assert "can't contain another contact (`alice`, `bob`)" in message


@pytest.mark.parametrize(
    "name", ["a", "A", "on-call", "ops_team", "ops.team", "x1", "a" * 32, "Zed.2-b_c"]
)
def test_valid_contact_names_are_kept_lower_case(name: str) -> None:
    request = p(f"contacts add {name} +2348031000010")
    assert isinstance(request, ContactsAddRequest)
    assert request.name == name.lower()


@pytest.mark.parametrize(
    "name", ["1team", "-x", "_x", ".x", "a" * 33, "a/b", "a@b", "josé", "a&amp;b", "a,b"]
)
def test_invalid_contact_names_say_what_a_name_may_hold(name: str) -> None:
    assert "can't be a contact name" in error(f"contacts add {name} +2348031000010")


@pytest.mark.parametrize("name", [*SUBCOMMANDS, "SEND", "Help"])
def test_a_subcommand_word_cannot_be_a_contact_name(name: str) -> None:
    assert "it is a subcommand" in error(f"contacts add {name} +2348031000010")


@pytest.mark.parametrize("name", ["+2348031000010", "2348031000010", "<@U1|a>", "<!subteam^S1>"])
def test_a_number_or_mention_in_the_name_place_says_to_put_the_name_first(name: str) -> None:
    assert "Put the contact's name first" in error(f"contacts add {name} +2348031000011")


def test_contacts_remove_takes_one_name_lower_cased() -> None:
    assert p("contacts remove OnCall") == ContactsRemoveRequest("oncall")
    assert "Which contact?" in error("contacts remove")
    assert "one name" in error("contacts remove a b")


@pytest.mark.parametrize(
    ("action", "suggested"),
    [("delete", "remove"), ("rm", "remove"), ("lst", "list"), ("ad", "add"), ("save", "add")],
)
def test_an_unknown_contacts_action_is_named_with_a_suggestion(action: str, suggested: str) -> None:
    message = error(f"contacts {action} x")
    assert f"`contacts {action}`" in message
    assert f"Did you mean `/sms contacts {suggested}`?" in message


def test_contact_is_suggested_for_contacts() -> None:
    assert "Did you mean `contacts`?" in error("contact list")


def test_usage_documents_contacts_and_the_double_dash() -> None:
    assert "/sms contacts add oncall +2348031000010" in USAGE
    assert "/sms send oncall" in USAGE
    assert "saved contacts" in USAGE
    assert "with a contact's name" in USAGE


# properties

TOKENS = st.sampled_from(
    [
        "send", "page", "status", "balance", "help", "SEND", "+2348031000010", "2348031000011",
        "+234", "0803", "(234)", "803-100-0010", ",", ",,", "--", "—", "--from", "--at", "ACME",
        '"', "“", "”", '"+234 803 100 0010"', '"2025-01-11 09:00"', "2025-01-11", "09:00",
        "<@U1|a>", "<@W2>", "<!subteam^S1|@g>", "<!here>", "<#C1|c>", "<", ">", "<@", "&amp;",
        "&lt;", "&gt;",
        "1234", "hi", "é", "😀", "\n", " ", "<tel:+2348031000010|x>", "<tel:|>", "status 1",
    ]
)  # fmt: skip
SOUP = st.lists(TOKENS, max_size=14).map(" ".join)
REGIONS = st.sampled_from([None, "NG", "US", "GB"])


@given(st.one_of(st.text(), SOUP, SOUP.map(lambda s: "send " + s)), REGIONS)
def test_parse_never_raises_anything_but_usage_error(text: str, region: str | None) -> None:
    try:
        p(text, region=region)
    except UsageError as exc:
        assert str(exc).strip()


NAMES = st.sets(
    st.one_of(
        st.sampled_from(["oncall", "alice", "a", "ops.team", "send", "hi", "1234", "--", ",", ""]),
        st.text(max_size=8),
    ),
    max_size=5,
)
CONTACT_SOUP = st.lists(
    st.one_of(TOKENS, st.sampled_from(["oncall", "ONCALL", "oncal", "alice,oncall", "add"])),
    max_size=14,
).map(" ".join)


@given(
    st.one_of(
        CONTACT_SOUP.map(lambda s: "send " + s),
        CONTACT_SOUP.map(lambda s: "contacts " + s),
        CONTACT_SOUP.map(lambda s: "contacts add " + s),
        st.text().map(lambda s: "contacts add " + s),
    ),
    NAMES,
    REGIONS,
)
def test_parse_with_any_saved_names_never_raises_anything_but_usage_error(
    text: str, names: set[str], region: str | None
) -> None:
    try:
        request = p(text, region=region, contacts=names)
    except UsageError as exc:
        assert str(exc).strip()
        return
    if isinstance(request, SendRequest):
        assert set(request.contacts) <= {n.lower() for n in names}
    if isinstance(request, ContactsAddRequest):
        assert request.numbers or request.user_mentions or request.group_mentions


@given(
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)),
    st.sampled_from(["UTC", "Pacific/Kiritimati", "Pacific/Pago_Pago", "Europe/London"]),
)
def test_parse_copes_with_any_at_time_in_any_zone(when: datetime, zone_name: str) -> None:
    zone = ZoneInfo(zone_name)
    text = f'send +2348031000010 hi --at "{when:%Y-%m-%d %H:%M}"'
    try:
        request = p(text, zone=zone, now=NOW)
    except UsageError:
        return
    assert isinstance(request, SendRequest) and request.send_at is not None
    assert NOW <= request.send_at <= NOW + timedelta(days=30)


# Well-formed messages: NUL (U+0000) is refused as unsendable (sms/text.py), tested apart.
MESSAGE_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters='<>&"“”„\x00'),
    min_size=1,
    max_size=200,
).filter(lambda s: s.strip() and not s.split()[0][0].isdigit())


@given(st.lists(st.sampled_from([A, B, "+" + A, "+" + B]), min_size=1, max_size=5), MESSAGE_TEXT)
def test_a_well_formed_send_round_trips(numbers: list[str], message: str) -> None:
    text = f"send {','.join(numbers)} -- {message}"
    try:
        request = p(text)
    except UsageError as exc:
        assert "Options go after" in str(exc) or "--" in message or "—" in message or "–" in message
        return
    assert set(request.recipients) == {n.removeprefix("+") for n in numbers}
    assert request.message == message.strip()


def test_a_zone_written_after_at_is_the_zone_it_is_read_in() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    request = send('send +2348031000010 hi --at "2025-01-11 09:00 Europe/Berlin"')
    assert request.send_at == datetime(2025, 1, 11, 9, 0, tzinfo=berlin)
    assert request.at is not None and request.at.zone == berlin


def test_without_a_zone_to_read_in_at_is_left_for_the_caller_to_place() -> None:
    request = parse(
        'send +2348031000010 hi --at "2025-01-11 09:00"', default_region=None, zone=None, now=NOW
    )
    assert isinstance(request, SendRequest)
    assert request.send_at is None
    assert request.at is not None and request.at.wall == datetime(2025, 1, 11, 9, 0)


def test_words_after_an_unquoted_at_are_read_as_its_zone_not_sent_as_message() -> None:
    assert "not a time zone I know" in error("send +2348031000010 hi --at 2025-01-11 09:00 sharp")
