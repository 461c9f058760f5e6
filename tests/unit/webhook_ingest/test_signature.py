from __future__ import annotations

import hashlib
import hmac

import pytest

from services.webhook_ingest.signature import Verifier, is_valid, sign

BODY = b'{"object":"whatsapp_business_account","entry":[]}'
SECRET = b"s3cret"


class TestSignature:
    def test_accepts_the_hmac_of_the_raw_body(self) -> None:
        expected = hmac.new(SECRET, BODY, hashlib.sha256).hexdigest()
        assert sign(BODY, SECRET) == f"sha256={expected}"
        assert is_valid(BODY, f"sha256={expected}", [SECRET])

    def test_accepts_uppercase_hex(self) -> None:
        assert is_valid(BODY, "sha256=" + sign(BODY, SECRET)[7:].upper(), [SECRET])

    def test_accepts_any_configured_secret_while_rotating(self) -> None:
        old = sign(BODY, b"old")
        assert is_valid(BODY, old, [b"new", b"old"])
        assert not is_valid(BODY, old, [b"new"])

    @pytest.mark.parametrize(
        "header",
        [
            None,
            "",
            "sha256=",
            "sha1=" + "0" * 40,
            sign(BODY, SECRET)[7:],  # no prefix
            sign(BODY, SECRET)[:-2],  # truncated
            sign(BODY, b"other"),
            "sha256=" + "z" * 64,
        ],
    )
    def test_refuses_missing_malformed_or_foreign_signatures(self, header: str | None) -> None:
        assert not is_valid(BODY, header, [SECRET])

    def test_refuses_a_tampered_body(self) -> None:
        assert not is_valid(BODY.replace(b"[]", b"[{}]"), sign(BODY, SECRET), [SECRET])

    def test_refuses_everything_without_secrets(self) -> None:
        assert not is_valid(BODY, sign(BODY, SECRET), [])


class TestVerifier:
    @pytest.mark.parametrize("secrets", [[SECRET], [b"new", SECRET], [SECRET, b"new"]])
    def test_agrees_with_is_valid(self, secrets: list[bytes]) -> None:
        verify = Verifier(secrets)
        for header in (sign(BODY, SECRET), sign(BODY, b"other"), None, "sha256=zz"):
            assert verify(BODY, header) == is_valid(BODY, header, secrets)
        assert verify(BODY, sign(BODY, SECRET))
