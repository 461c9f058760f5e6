import pytest

from shared.phone import (
    InvalidPhoneNumber,
    canonical_wa_id,
    conversation_id,
    digits_of,
    split_conversation_id,
)


class TestCanonicalWaId:
    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            ("16505551234", "16505551234"),
            ("+1 (650) 555-1234", "16505551234"),
            ("0016505551234", "16505551234"),
            # Brazil: the same mobile with and without the 9th digit
            ("551198765432", "5511998765432"),
            ("5511998765432", "5511998765432"),
            ("+55 11 9 9876-5432", "5511998765432"),
            # Brazil landline (starts 2-5): never gets a 9
            ("551133334444", "551133334444"),
            # Mexico: 521 + 10 digits and 52 + 10 digits are one number
            ("5215512345678", "525512345678"),
            ("525512345678", "525512345678"),
            # Others unchanged
            ("919876543210", "919876543210"),
            ("5491123456789", "5491123456789"),
        ],
    )
    def test_canonical_form(self, raw, expected):
        assert canonical_wa_id(raw) == expected

    def test_variants_share_one_conversation(self):
        assert conversation_id("pn1", "551198765432") == conversation_id("pn1", "5511998765432")
        assert conversation_id("pn1", "5215512345678") == conversation_id("pn1", "525512345678")

    def test_different_business_numbers_are_different_conversations(self):
        assert conversation_id("pn1", "16505551234") != conversation_id("pn2", "16505551234")

    @pytest.mark.parametrize("raw", ["", "abc", "1234567", "1" * 16])
    def test_rejects_what_is_not_a_number(self, raw):
        with pytest.raises(InvalidPhoneNumber):
            digits_of(raw)

    def test_split_round_trips(self):
        assert split_conversation_id(conversation_id("106540352242922", "+1 650 555 1234")) == (
            "106540352242922",
            "16505551234",
        )

    @pytest.mark.parametrize("bad", ["", "nocolon", ":123", "123:"])
    def test_split_rejects_malformed(self, bad):
        with pytest.raises(ValueError, match="not a conversation id"):
            split_conversation_id(bad)
