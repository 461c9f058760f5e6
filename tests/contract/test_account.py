"""Reading the business number and its profile through pywa (Graph API ``GET /{phone_number_id}``,
``GET /{waba_id}/phone_numbers`` and ``GET /{phone_number_id}/whatsapp_business_profile``)."""

from __future__ import annotations

import re

from pywa.types.others import Industry
from pywa_async.client import WhatsApp

from sandbox.testing import SandboxClient
from tests.contract.business import DISPLAY_PHONE_NUMBER, PHONE_NUMBER_ID

QUALITY_RATINGS = {"GREEN", "YELLOW", "RED", "UNKNOWN"}


def digits(phone: str | None) -> str:
    return re.sub(r"\D", "", phone or "")


class TestPhoneNumber:
    async def test_the_number_reads_as_meta_describes_it(self, sandbox: SandboxClient,
                                                         wa: WhatsApp) -> None:
        number = await wa.get_business_phone_number()
        assert number.id == PHONE_NUMBER_ID
        # Meta formats it for people ("+1 555-000-9191"); the digits are the number's.
        assert digits(number.display_phone_number) == DISPLAY_PHONE_NUMBER
        assert number.verified_name
        assert number.quality_rating in QUALITY_RATINGS
        assert number.platform_type == "CLOUD_API"
        assert number.code_verification_status in {"VERIFIED", "NOT_VERIFIED", "EXPIRED"}
        assert number.throughput is not None
        assert number.throughput.get("level")

    async def test_the_account_lists_the_number(self, sandbox: SandboxClient,
                                                wa: WhatsApp) -> None:
        numbers = await wa.get_business_phone_numbers()
        assert [n.id for n in numbers] == [PHONE_NUMBER_ID]
        assert digits(numbers[0].display_phone_number) == DISPLAY_PHONE_NUMBER


class TestBusinessProfile:
    async def test_the_profile_reads_with_its_industry(self, sandbox: SandboxClient,
                                                       wa: WhatsApp) -> None:
        profile = await wa.get_business_profile()
        assert profile.industry != Industry.UNKNOWN  # `vertical`, one of Meta's values
        for text in (profile.about, profile.description, profile.address, profile.email):
            assert text is None or isinstance(text, str)
        assert profile.websites is None or all(
            w.startswith(("http://", "https://")) for w in profile.websites)
