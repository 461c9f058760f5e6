"""Refusals, as pywa surfaces them: Meta's error envelope becomes pywa's typed exception.

Meta's reference (``WA/support/error-codes``, Graph API errors): the body is ``{"error":
{"message", "type", "code", "error_subcode"?, "error_data"?, "fbtrace_id"}}`` and clients key on
``code``. A bad token is 190 (``OAuthException``, HTTP 401); an object id that does not exist,
or that the token cannot see, is 100 with subcode 33 (``GraphMethodException``, HTTP 400); over
the number's throughput is 130429; a paused template is 132015.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from pywa.errors import ExpiredAccessToken, RateLimitHit, TemplatePaused, WhatsAppError
from pywa.types.templates import TemplateLanguage
from pywa_async.client import WhatsApp

from sandbox.catalog import TemplateSpec
from sandbox.testing import SandboxClient
from tests.contract.business import CUSTOMER, PHONE_NUMBER_ID, body_parameters
from tests.contract.graph_transport import graph_session, pywa_client

UNKNOWN_NUMBER = "100000000009999"


@pytest.fixture
async def stranger(sandbox: SandboxClient) -> AsyncIterator[WhatsApp]:
    """pywa's client for the business number, with a token that is not the number's."""
    async with graph_session(sandbox.base_url) as session:
        yield pywa_client(session, token="EAAG-not-a-token")


def _status(error: WhatsAppError) -> int | None:
    return error.raw_response.status_code if error.raw_response is not None else None


class TestBadToken:
    async def test_a_send_is_190(self, sandbox: SandboxClient, stranger: WhatsApp) -> None:
        await sandbox.customer_says(PHONE_NUMBER_ID, CUSTOMER, "Hi!")
        with pytest.raises(ExpiredAccessToken) as refused:
            await stranger.send_message(CUSTOMER, "Hello")
        assert refused.value.code == 190
        assert refused.value.type == "OAuthException"
        assert refused.value.fbtrace_id
        assert _status(refused.value) == 401
        assert await sandbox.accepted(PHONE_NUMBER_ID) == []

    async def test_a_read_is_190_too(self, stranger: WhatsApp) -> None:
        with pytest.raises(ExpiredAccessToken):
            await stranger.get_business_phone_number()
        with pytest.raises(ExpiredAccessToken):
            await stranger.get_templates()


class TestUnknownNumber:
    async def test_a_send_from_a_number_that_does_not_exist(self, sandbox: SandboxClient,
                                                            wa: WhatsApp) -> None:
        with pytest.raises(WhatsAppError) as refused:
            await wa.send_message(CUSTOMER, "Hello", sender=UNKNOWN_NUMBER)
        assert (refused.value.code, refused.value.subcode) == (100, 33)
        assert refused.value.type == "GraphMethodException"
        assert _status(refused.value) == 400

    async def test_reading_a_number_that_does_not_exist(self, sandbox: SandboxClient,
                                                        wa: WhatsApp) -> None:
        with pytest.raises(WhatsAppError) as refused:
            await wa.get_business_phone_number(phone_id=UNKNOWN_NUMBER)
        assert (refused.value.code, refused.value.subcode) == (100, 33)


class TestRateLimit:
    async def test_over_the_throughput_is_130429(self, sandbox: SandboxClient,
                                                 wa: WhatsApp) -> None:
        await sandbox.customer_says(PHONE_NUMBER_ID, CUSTOMER, "Hi!")
        await sandbox.inject_fault(PHONE_NUMBER_ID, "rate_limit")
        with pytest.raises(RateLimitHit) as refused:
            await wa.send_message(CUSTOMER, "Hello")
        assert refused.value.code == 130429
        assert refused.value.details
        # The next request, after the fault, goes through.
        sent = await wa.send_message(CUSTOMER, "Hello again")
        assert sent.id.startswith("wamid.")


class TestTemplates:
    async def test_a_paused_template_is_132015(self, sandbox: SandboxClient,
                                               wa: WhatsApp) -> None:
        await sandbox.put_template(TemplateSpec(name="spring_sale", category="MARKETING",
                                                status="PAUSED",
                                                body_text="Hi {{1}}, our spring sale starts."))
        with pytest.raises(TemplatePaused) as refused:
            await wa.send_template(CUSTOMER, "spring_sale", TemplateLanguage.ENGLISH_US,
                                   params=[body_parameters("Sheena")])
        assert refused.value.code == 132015
