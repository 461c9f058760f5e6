"""Meta's webhook kinds beyond messages and statuses, read by pywa's own parser.

The sandbox's controls for a customer's edit and deletion, the WhatsApp Business app's echoes
(with its edits and deletions), marketing preferences, calls, an account restriction and a
template's new content each post a webhook pywa must turn into its typed update
(``EditedMessage``, ``OutgoingMessage``, ``UserMarketingPreferences``, ``CallConnect``,
``AccountUpdate``, ``TemplateComponentsUpdate``, ...), never a raw update or a fallback
(tests.contract.pywa_reader). pywa has no typed update for ``history``,
``smb_app_state_sync``, ``account_alerts`` or ``business_capability_update``: those are
checked against Meta's shapes in tests/unit/sandbox/test_webhook_kinds.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pywa.types.account_update import AccountUpdateEvent, RestrictionType
from pywa.types.calls import CallDirection, CallTerminateStatus
from pywa.types.others import MessageType
from pywa.types.templates import TemplateLanguage
from pywa.types.user_preferences import MarketingPreference, UserPreferenceCategory
from pywa_async.client import WhatsApp
from pywa_async.types.account_update import AccountUpdate
from pywa_async.types.calls import CallConnect, CallTerminate
from pywa_async.types.message import (
    DeletedMessage,
    EditedMessage,
    Message,
    OutgoingDeletedMessage,
    OutgoingEditedMessage,
    OutgoingMessage,
)
from pywa_async.types.templates import TemplateComponentsUpdate
from pywa_async.types.user_preferences import UserMarketingPreferences

from sandbox.testing import SandboxClient
from tests.contract.business import CUSTOMER, CUSTOMER_NAME, PHONE_NUMBER_ID, WABA_ID
from tests.contract.webhook_inbox import WebhookInbox


class TestTheCustomer:
    async def test_an_edit_and_a_deletion(self, sandbox: SandboxClient,
                                          inbox: WebhookInbox) -> None:
        said = await sandbox.customer_says(PHONE_NUMBER_ID, CUSTOMER, "Is it in stok?",
                                           name=CUSTOMER_NAME)
        edit = await sandbox.customer_edits(PHONE_NUMBER_ID, CUSTOMER, said.wamid,
                                            "Is it in stock?")
        revoke = await sandbox.customer_deletes(PHONE_NUMBER_ID, CUSTOMER, said.wamid)
        edited = await inbox.wait_for(EditedMessage, lambda u: u.id == edit.wamid)
        assert edited.original_message_id == said.wamid
        assert edited.message.text == "Is it in stock?"
        assert edited.from_user.wa_id == CUSTOMER
        assert edited.from_user.name == CUSTOMER_NAME  # the name their messages showed
        deleted = await inbox.wait_for(DeletedMessage, lambda u: u.id == revoke.wamid)
        assert deleted.original_message_id == said.wamid
        assert deleted.from_user.bsuid

    async def test_stopping_and_resuming_marketing(self, sandbox: SandboxClient,
                                                   inbox: WebhookInbox) -> None:
        await sandbox.stop_marketing(PHONE_NUMBER_ID, CUSTOMER, name=CUSTOMER_NAME)
        await sandbox.stop_marketing(PHONE_NUMBER_ID, CUSTOMER, resume=True)
        await sandbox.wait_webhooks_idle()
        stop, resume = await inbox.of(UserMarketingPreferences)
        assert (stop.value, resume.value) == (MarketingPreference.STOP,
                                              MarketingPreference.RESUME)
        assert stop.category == UserPreferenceCategory.MARKETING_MESSAGES
        assert stop.detail
        assert stop.from_user.wa_id == CUSTOMER
        assert stop.from_user.bsuid
        assert stop.metadata.phone_number_id == PHONE_NUMBER_ID

    async def test_an_answered_call_and_a_missed_one(self, sandbox: SandboxClient,
                                                     inbox: WebhookInbox) -> None:
        answered = await sandbox.customer_calls(PHONE_NUMBER_ID, CUSTOMER,
                                                duration=timedelta(minutes=3))
        missed = await sandbox.customer_calls(PHONE_NUMBER_ID, CUSTOMER, answered=False)
        connect = await inbox.wait_for(CallConnect, lambda u: u.id == answered.id)
        assert connect.direction == CallDirection.USER_INITIATED
        assert connect.session is not None
        assert connect.session.sdp_type == "offer"
        assert connect.from_user.wa_id == CUSTOMER
        ended = await inbox.wait_for(CallTerminate, lambda u: u.id == answered.id)
        assert ended.status == CallTerminateStatus.COMPLETED
        assert ended.duration == 180
        assert ended.start_time is not None
        assert ended.end_time is not None
        assert ended.end_time - ended.start_time == timedelta(minutes=3)
        not_picked_up = await inbox.wait_for(CallTerminate, lambda u: u.id == missed.id)
        assert not_picked_up.status == CallTerminateStatus.FAILED
        assert not_picked_up.duration is None

    async def test_a_late_message_carries_the_time_it_was_sent(
        self, sandbox: SandboxClient, inbox: WebhookInbox
    ) -> None:
        said = await sandbox.customer_says(PHONE_NUMBER_ID, CUSTOMER, "Still open?",
                                           sent_ago=timedelta(hours=25))
        message = await inbox.wait_for(Message, lambda u: u.id == said.wamid)
        assert datetime.now(UTC) - message.timestamp >= timedelta(hours=25)


class TestTheBusinessApp:
    async def test_an_echo_its_edit_and_its_deletion(self, sandbox: SandboxClient,
                                                     inbox: WebhookInbox) -> None:
        echo = await sandbox.app_sends(PHONE_NUMBER_ID, CUSTOMER, "We open at 9")
        assert echo.id is not None
        edit = await sandbox.app_edits(PHONE_NUMBER_ID, CUSTOMER, echo.id, "We open at 10")
        revoke = await sandbox.app_deletes(PHONE_NUMBER_ID, CUSTOMER, echo.id)
        sent = await inbox.wait_for(OutgoingMessage, lambda u: u.id == echo.id)
        assert (sent.type, sent.text) == (MessageType.TEXT, "We open at 9")
        assert sent.to_user.wa_id == CUSTOMER
        assert sent.to_user.bsuid
        assert sent.metadata.phone_number_id == PHONE_NUMBER_ID
        edited = await inbox.wait_for(OutgoingEditedMessage, lambda u: u.id == edit.id)
        assert edited.original_message_id == echo.id
        assert edited.message.text == "We open at 10"
        deleted = await inbox.wait_for(OutgoingDeletedMessage, lambda u: u.id == revoke.id)
        assert deleted.original_message_id == echo.id


class TestTheAccount:
    async def test_a_restriction(self, sandbox: SandboxClient, wa: WhatsApp,
                                 inbox: WebhookInbox) -> None:
        await sandbox.restrict_account(WABA_ID, expires_in=timedelta(hours=6))
        update = await inbox.wait_for(AccountUpdate)
        assert update.id == WABA_ID
        assert update.event == AccountUpdateEvent.ACCOUNT_RESTRICTION
        [restriction] = update.restriction_info
        assert restriction.type == RestrictionType.RESTRICTED_BIZ_INITIATED_MESSAGING
        assert restriction.expiration - update.timestamp == timedelta(hours=6)

    async def test_a_template_gets_new_content(self, sandbox: SandboxClient,
                                               inbox: WebhookInbox) -> None:
        await sandbox.change_template_components(WABA_ID, "order_update",
                                                 "Hi {{1}}, order {{2}} ships today.",
                                                 footer="Reply STOP to opt out")
        update = await inbox.wait_for(TemplateComponentsUpdate)
        assert update.id == WABA_ID
        assert (update.template_name, update.template_language) == (
            "order_update", TemplateLanguage.ENGLISH_US)
        assert update.template_element == "Hi {{1}}, order {{2}} ships today."
        assert update.template_footer == "Reply STOP to opt out"
        assert update.template_id.isdigit()
