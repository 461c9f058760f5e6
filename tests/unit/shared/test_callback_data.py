"""The command id and the reference in Meta's ``biz_opaque_callback_data``, and back."""

from __future__ import annotations

import pytest

from shared.callback_data import (
    COMMAND_ID_LIMIT,
    LIMIT,
    REFERENCE_LIMIT,
    CallbackData,
    decode,
    encode,
)


class TestRoundTrip:
    @pytest.mark.parametrize(("command_id", "reference"), [
        ("cmd-1", None),
        ("cmd-1", ""),
        ("cmd-1", "campaign:42"),
        ("a:b:c", "x:y"),  # colons in either part
        ("3:abc", "wai1:3:abc"),  # a part that looks like the format itself
        ("ünï😀", "çà😀 \n\t"),
        ("c" * COMMAND_ID_LIMIT, "r" * REFERENCE_LIMIT),
        ("1", "1"),
    ])
    def test_decode_gives_back_both_parts(self, command_id: str, reference: str | None):
        assert decode(encode(command_id, reference)) == CallbackData(command_id, reference)

    def test_longest_parts_stay_within_metas_limit(self):
        assert len(encode("c" * COMMAND_ID_LIMIT, "r" * REFERENCE_LIMIT)) <= LIMIT

    def test_format_is_readable(self):
        assert encode("cmd-1", None) == "wai1:5:cmd-1"
        assert encode("cmd-1", "ref") == "wai1:5:cmd-1:ref"

    @pytest.mark.parametrize(("command_id", "reference"), [
        ("", None),
        ("c" * (COMMAND_ID_LIMIT + 1), None),
        ("cmd-1", "r" * (REFERENCE_LIMIT + 1)),
    ])
    def test_parts_over_their_limits_are_refused_never_cut(self, command_id: str,
                                                           reference: str | None):
        with pytest.raises(ValueError, match="characters"):
            encode(command_id, reference)


class TestForeignValues:
    """A value another system sent through the same account is all reference."""

    @pytest.mark.parametrize("value", [
        "",
        "cmd-1",
        "campaign-42:contact-7",
        "wai1",
        "wai1:",
        "wai1:5",
        "wai1:5:",
        "wai1:5:abc",  # shorter than it says
        "wai1:3:abcd",  # no separator after the command id
        "wai1:0:",
        "wai1:05:cmd-1",  # not how encode writes a length
        "wai1:+5:cmd-1",
        "wai1:٥:cmd-1",  # a non-ASCII digit
        "wai1:x:cmd-1",
        f"wai1:{COMMAND_ID_LIMIT + 1}:" + "c" * (COMMAND_ID_LIMIT + 1),
        "WAI1:5:cmd-1",
        " wai1:5:cmd-1",
    ])
    def test_decode_keeps_the_whole_value_as_the_reference(self, value: str):
        assert decode(value) == CallbackData(command_id=None, reference=value)

    def test_no_value_decodes_as_nothing(self):
        assert decode(None) == CallbackData(command_id=None, reference=None)
