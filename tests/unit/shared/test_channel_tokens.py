"""Channels' access tokens sealed at rest: sealing, opening, rotation, legacy plaintext."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr

from shared.channel_tokens import (
    DEVELOPMENT_KEY,
    SEALED_PREFIX,
    TokenBox,
    TokenKeyError,
    token_box,
)
from shared.channels import Channel, ChannelDirectory

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def channel(token: str = "EAAG-secret") -> Channel:
    return Channel(phone_number_id="1001", tenant_id="acme", waba_id="2001",
                   access_token=SecretStr(token))


class TestTokenBox:
    def test_a_sealed_token_hides_the_plaintext_and_opens_again(self) -> None:
        box = TokenBox([NEW])
        sealed = box.seal("EAAG-secret")
        assert sealed.startswith(SEALED_PREFIX)
        assert "EAAG-secret" not in sealed
        assert box.open(sealed) == "EAAG-secret"

    def test_sealing_twice_gives_different_ciphertexts(self) -> None:
        box = TokenBox([NEW])
        assert box.seal("t") != box.seal("t")

    def test_legacy_plaintext_opens_as_is_and_needs_resealing(self) -> None:
        box = TokenBox([NEW])
        assert box.open("EAAG-plain") == "EAAG-plain"
        assert box.needs_reseal("EAAG-plain")

    def test_an_empty_token_stays_empty(self) -> None:
        box = TokenBox([NEW])
        assert box.seal("") == ""
        assert not box.needs_reseal("")

    def test_rotation_new_key_first_opens_old_tokens_and_reseals_them(self) -> None:
        old_sealed = TokenBox([OLD]).seal("t")
        rotating = TokenBox([NEW, OLD])
        assert rotating.open(old_sealed) == "t"
        assert rotating.needs_reseal(old_sealed)
        resealed = rotating.seal(rotating.open(old_sealed))
        assert not rotating.needs_reseal(resealed)
        assert TokenBox([NEW]).open(resealed) == "t"  # the old key can now be dropped

    def test_a_token_sealed_with_an_unknown_key_is_a_clear_error(self) -> None:
        with pytest.raises(TokenKeyError, match="CHANNEL_TOKEN_KEYS"):
            TokenBox([NEW]).open(TokenBox([OLD]).seal("t"))

    def test_a_malformed_key_is_a_clear_error(self) -> None:
        with pytest.raises(TokenKeyError, match="Fernet key"):
            TokenBox(["not-a-key"])

    def test_keys_from_the_environment_first_one_seals(self) -> None:
        box = token_box(SecretStr(f"{NEW}, {OLD}"))
        assert TokenBox([NEW]).open(box.seal("t")) == "t"

    def test_no_keys_means_the_development_key_with_a_warning(
            self, caplog: pytest.LogCaptureFixture) -> None:
        box = token_box(SecretStr(""))
        assert TokenBox([DEVELOPMENT_KEY]).open(box.seal("t")) == "t"
        assert "development key" in caplog.text


class TestChannelDocument:
    def test_the_stored_document_carries_the_sealed_token(self) -> None:
        box = TokenBox([NEW])
        doc = channel().to_document(box)
        assert "EAAG-secret" not in str(doc)
        assert Channel.from_document(doc, box).access_token.get_secret_value() == "EAAG-secret"

    def test_an_old_plaintext_document_still_reads(self) -> None:
        doc = channel().to_document()  # as written before sealing existed
        read = Channel.from_document(doc, TokenBox([NEW]))
        assert read.access_token.get_secret_value() == "EAAG-secret"

    def test_a_reader_without_keys_holds_no_token(self) -> None:
        doc = channel().to_document(TokenBox([NEW]))
        assert Channel.from_document(doc).access_token.get_secret_value() == ""

    async def test_the_directory_opens_tokens_with_its_box(self) -> None:
        box = TokenBox([NEW])

        class Docs:
            async def to_list(self, _: object) -> list[dict[str, object]]:
                return [channel().to_document(box)]

        class Collection:
            def find(self, _: object) -> Docs:
                return Docs()

        directory = ChannelDirectory(tokens=box)
        await directory.load(Collection())
        found = directory.by_number("1001")
        assert found is not None
        assert found.access_token.get_secret_value() == "EAAG-secret"
