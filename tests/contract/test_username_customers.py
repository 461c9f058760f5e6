"""pywa 4.5.0 reads the webhooks of a username customer whose number Meta hides (issue 14)."""

from __future__ import annotations

from pywa.types.message_status import MessageStatusType
from pywa_async.client import WhatsApp
from pywa_async.types.message import Message

from sandbox.identity import bsuid_for
from sandbox.testing import SandboxClient
from tests.contract.business import CUSTOMER, CUSTOMER_NAME, PHONE_NUMBER_ID, WABA_ID
from tests.contract.webhook_inbox import WebhookInbox

USER_ID = bsuid_for(WABA_ID, CUSTOMER)


class TestHiddenNumber:
    async def test_the_message_reads_with_only_a_bsuid(self, sandbox: SandboxClient,
                                                      inbox: WebhookInbox) -> None:
        said = await sandbox.customer_says(PHONE_NUMBER_ID, CUSTOMER, "Hi!", name=CUSTOMER_NAME,
                                           username="sheena", hide_number=True)
        message = await inbox.wait_for(Message, lambda m: m.id == said.wamid)
        assert message.from_user.wa_id is None
        assert message.from_user.bsuid == USER_ID
        assert message.from_user.username == "sheena"
        assert message.text == "Hi!"

    async def test_statuses_of_a_send_by_bsuid_read_without_a_number(
        self, sandbox: SandboxClient, wa: WhatsApp, inbox: WebhookInbox
    ) -> None:
        await sandbox.customer_says(PHONE_NUMBER_ID, CUSTOMER, "Hi!", name=CUSTOMER_NAME,
                                    username="sheena", hide_number=True)
        sent = await wa.send_message(USER_ID, "Hello Sheena")
        await sandbox.wait_webhooks_idle()
        statuses = await inbox.statuses(sent.id)
        assert [s.status for s in statuses] == [
            MessageStatusType.SENT, MessageStatusType.DELIVERED, MessageStatusType.READ]
        for status in statuses:
            assert status.from_user.bsuid == USER_ID
            assert status.from_user.wa_id is None
        assert statuses[-1].from_user.username == "sheena"

    async def test_the_shared_number_arrives_as_a_contact_request_answer(
        self, sandbox: SandboxClient, inbox: WebhookInbox
    ) -> None:
        await sandbox.customer_says(PHONE_NUMBER_ID, CUSTOMER, "Hi!", username="sheena",
                                    hide_number=True)
        shared = await sandbox.share_number(PHONE_NUMBER_ID, USER_ID, name=CUSTOMER_NAME)
        message = await inbox.wait_for(Message, lambda m: m.id == shared.wamid)
        assert message.contacts is not None
        assert str(message.contacts.origin) == "contact_request"
        assert message.contacts.first.phones[0].wa_id == CUSTOMER
