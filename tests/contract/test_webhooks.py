"""Every webhook kind the sandbox emits, read by pywa's own parser into its typed update.

Customer messages (each ``messages[].type``, plus replies, ads, edits and deletions), message
statuses (``sent``, ``delivered``, ``read``, ``failed``) and template events
(``message_template_status_update``, ``message_template_quality_update``). Each must come out of
pywa as its typed object, never as a raw update or a fallback (tests.contract.pywa_reader), with
the fields Meta's webhook reference gives it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from pywa.types.base_update import BaseUserUpdate
from pywa.types.message_status import MessageStatusType
from pywa.types.others import MessageType
from pywa.types.templates import QualityScoreType, TemplateLanguage, TemplateStatus
from pywa_async.client import WhatsApp
from pywa_async.types.callback import CallbackButton, CallbackSelection
from pywa_async.types.flows import FlowCompletion
from pywa_async.types.message import DeletedMessage, EditedMessage, Message
from pywa_async.types.system import PhoneNumberChange
from pywa_async.types.templates import TemplateQualityUpdate, TemplateStatusUpdate

from sandbox.testing import SandboxClient
from tests.contract.business import (
    CUSTOMER,
    CUSTOMER_NAME,
    DISPLAY_PHONE_NUMBER,
    PHONE_NUMBER_ID,
    WABA_ID,
)
from tests.contract.webhook_inbox import WebhookInbox

Check = Callable[[Any, "Thread"], None]


@dataclass(frozen=True)
class Thread:
    """What a customer message can refer to: the customer's first message and our reply."""

    first: str  # the customer's wamid
    ours: str  # the business's wamid


@dataclass(frozen=True)
class Kind:
    """One customer message kind: what the customer sends, what pywa must make of it."""

    message_type: str
    content: Callable[[Thread], Any]
    update: type[BaseUserUpdate]
    check: Check
    context: bool = False  # a reply to our message (buttons, lists, swipe-to-reply)
    referral: dict[str, Any] | None = None
    has_contacts: bool = True  # system messages carry no contacts array


def _text(m: Message, _: Thread) -> None:
    assert (m.type, m.text) == (MessageType.TEXT, "Does it come in another color?")


def _reply(m: Message, t: Thread) -> None:
    assert m.reply_to_message is not None
    assert m.reply_to_message.id == t.ours


def _ad(m: Message, _: Thread) -> None:
    assert m.referral is not None
    assert (m.referral.source_type, m.referral.source_id, m.referral.ctwa_clid) == (
        "ad", "120200000000000001", "ARAkLkA8rmlFeiCktEJQ-QTwRiyYHAFDLMNDBH0CD3qpjd0HR4irJ6LE")


def _image(m: Message, _: Thread) -> None:
    assert m.type == MessageType.IMAGE
    assert m.image is not None
    assert (m.image.caption, m.image.mime_type) == ("the box", "image/jpeg")
    assert m.image.id.isdigit()
    assert m.image.sha256


def _video(m: Message, _: Thread) -> None:
    assert m.type == MessageType.VIDEO
    assert m.video is not None
    assert m.video.mime_type == "video/mp4"
    assert m.video.caption == "unboxing"


def _voice(m: Message, _: Thread) -> None:
    assert m.type == MessageType.AUDIO
    assert m.audio is not None
    assert m.audio.voice is True
    assert m.audio.mime_type.startswith("audio/ogg")


def _document(m: Message, _: Thread) -> None:
    assert m.type == MessageType.DOCUMENT
    assert m.document is not None
    assert (m.document.filename, m.document.caption) == ("invoice.pdf", "my invoice")
    assert m.document.mime_type == "application/pdf"


def _sticker(m: Message, _: Thread) -> None:
    assert m.type == MessageType.STICKER
    assert m.sticker is not None
    assert m.sticker.mime_type == "image/webp"
    assert m.sticker.animated is False


def _location(m: Message, _: Thread) -> None:
    assert m.type == MessageType.LOCATION
    assert m.location is not None
    assert (m.location.latitude, m.location.longitude) == (52.3731, 4.8922)
    assert (m.location.name, m.location.address) == ("Dam Square", "Dam, Amsterdam")


def _contacts(m: Message, _: Thread) -> None:
    assert m.type == MessageType.CONTACTS
    assert m.contacts is not None
    assert m.contacts.first.name is not None
    assert m.contacts.first.name.formatted_name == "Jane Doe"
    assert m.contacts.first_wa_id == "15550100"


def _reaction(m: Message, t: Thread) -> None:
    assert m.type == MessageType.REACTION
    assert m.reaction is not None
    assert (m.reaction.message_id, m.reaction.emoji) == (t.ours, "👍")


def _unreaction(m: Message, t: Thread) -> None:
    assert m.reaction is not None
    assert (m.reaction.message_id, m.reaction.emoji) == (t.ours, None)  # Meta omits the emoji
    assert m.reaction.is_removed


def _button_reply(b: CallbackButton[Any], t: Thread) -> None:
    assert (b.data, b.title) == ("yes", "Yes")
    assert b.reply_to_message is not None
    assert b.reply_to_message.id == t.ours


def _list_reply(s: CallbackSelection[Any], t: Thread) -> None:
    assert (s.data, s.title, s.description) == ("blue", "Blue", "In stock")
    assert s.reply_to_message is not None
    assert s.reply_to_message.id == t.ours


def _quick_reply(b: CallbackButton[Any], t: Thread) -> None:
    assert (b.data, b.title) == ("TRACK", "Track my order")
    assert b.reply_to_message is not None
    assert b.reply_to_message.id == t.ours


def _order(m: Message, _: Thread) -> None:
    assert m.type == MessageType.ORDER
    assert m.order is not None
    assert m.order.catalog_id == "1000000000000"
    assert [(p.sku, p.quantity, p.price, p.currency) for p in m.order.products] == [
        ("sku-1", 2, 9.99, "USD")]


def _flow(f: FlowCompletion, t: Thread) -> None:
    assert (f.token, f.response, f.body) == ("flow-token-1", {"size": "M"}, "Sent")
    assert f.reply_to_message is not None
    assert f.reply_to_message.id == t.ours


def _number_change(c: PhoneNumberChange, _: Thread) -> None:
    assert (c.old_wa_id, c.new_wa_id) == (CUSTOMER, "16505550000")


def _unsupported(m: Message, _: Thread) -> None:
    assert m.type == MessageType.UNSUPPORTED
    assert m.error is not None
    assert m.error.code == 131051


def _edit(e: EditedMessage, t: Thread) -> None:
    assert e.original_message_id == t.first
    assert e.message.text == "Does it come in green?"


def _revoke(d: DeletedMessage, t: Thread) -> None:
    assert d.original_message_id == t.first


AD = {"source_url": "https://fb.me/2ZulEu42P", "source_id": "120200000000000001",
      "source_type": "ad", "headline": "Spring sale", "body": "Up to 40% off",
      "media_type": "image", "image_url": "https://example.com/ad.jpg",
      "ctwa_clid": "ARAkLkA8rmlFeiCktEJQ-QTwRiyYHAFDLMNDBH0CD3qpjd0HR4irJ6LE"}

KINDS = {
    "text": Kind("text", lambda t: {"body": "Does it come in another color?"}, Message, _text),
    "text-reply": Kind("text", lambda t: {"body": "Does it come in another color?"}, Message,
                       _reply, context=True),
    "text-from-an-ad": Kind("text", lambda t: {"body": "Does it come in another color?"},
                            Message, _ad, referral=AD),
    "image": Kind("image", lambda t: {"caption": "the box"}, Message, _image),
    "video": Kind("video", lambda t: {"caption": "unboxing"}, Message, _video),
    "voice": Kind("audio", lambda t: {}, Message, _voice),
    "document": Kind("document", lambda t: {"caption": "my invoice", "filename": "invoice.pdf"},
                     Message, _document),
    "sticker": Kind("sticker", lambda t: {}, Message, _sticker),
    "location": Kind("location", lambda t: {"latitude": 52.3731, "longitude": 4.8922,
                                            "name": "Dam Square", "address": "Dam, Amsterdam"},
                     Message, _location),
    "contacts": Kind("contacts", lambda t: [
        {"name": {"formatted_name": "Jane Doe", "first_name": "Jane", "last_name": "Doe"},
         "phones": [{"phone": "+1 555 0100", "wa_id": "15550100", "type": "CELL"}]}],
        Message, _contacts),
    "reaction": Kind("reaction", lambda t: {"message_id": t.ours, "emoji": "👍"}, Message,
                     _reaction),
    "reaction-removed": Kind("reaction", lambda t: {"message_id": t.ours}, Message, _unreaction),
    "button-reply": Kind("interactive", lambda t: {
        "type": "button_reply", "button_reply": {"id": "yes", "title": "Yes"}},
        CallbackButton, _button_reply, context=True),
    "list-reply": Kind("interactive", lambda t: {
        "type": "list_reply",
        "list_reply": {"id": "blue", "title": "Blue", "description": "In stock"}},
        CallbackSelection, _list_reply, context=True),
    "template-quick-reply": Kind("button", lambda t: {"text": "Track my order",
                                                      "payload": "TRACK"},
                                 CallbackButton, _quick_reply, context=True),
    "flow-reply": Kind("interactive", lambda t: {
        "type": "nfm_reply", "nfm_reply": {
            "name": "flow", "body": "Sent",
            "response_json": json.dumps({"flow_token": "flow-token-1", "size": "M"})}},
        FlowCompletion, _flow, context=True),
    "order": Kind("order", lambda t: {
        "catalog_id": "1000000000000", "text": "",
        "product_items": [{"product_retailer_id": "sku-1", "quantity": 2, "item_price": 9.99,
                           "currency": "USD"}]}, Message, _order),
    "system-number-change": Kind("system", lambda t: {
        "body": f"User A changed from {CUSTOMER} to 16505550000", "wa_id": "16505550000",
        "type": "user_changed_number"}, PhoneNumberChange, _number_change, has_contacts=False),
    "unsupported": Kind("unsupported", lambda t: {"type": "poll"}, Message, _unsupported),
    "edit": Kind("edit", lambda t: {"original_message_id": t.first, "message": {
        "type": "text", "text": {"body": "Does it come in green?"}}}, EditedMessage, _edit),
    "revoke": Kind("revoke", lambda t: {"original_message_id": t.first}, DeletedMessage,
                   _revoke),
}


async def open_thread(sandbox: SandboxClient, wa: WhatsApp) -> Thread:
    first = await sandbox.customer_says(PHONE_NUMBER_ID, CUSTOMER, "Hi!", name=CUSTOMER_NAME)
    ours = await wa.send_message(CUSTOMER, "Hello! How can we help?")
    return Thread(first=first.wamid, ours=ours.id)


class TestCustomerMessages:
    @pytest.mark.parametrize("name", list(KINDS))
    async def test_each_kind_reads_as_its_pywa_type(self, name: str, sandbox: SandboxClient,
                                                    wa: WhatsApp, inbox: WebhookInbox) -> None:
        kind = KINDS[name]
        thread = await open_thread(sandbox, wa)
        context = {"from": DISPLAY_PHONE_NUMBER, "id": thread.ours} if kind.context else None
        sent = await sandbox.customer_sends(PHONE_NUMBER_ID, CUSTOMER, kind.message_type,
                                            kind.content(thread), name=CUSTOMER_NAME,
                                            context=context, referral=kind.referral)
        assert sent.webhook_status == 200

        update = await inbox.wait_for(kind.update, lambda u: u.id == sent.wamid)
        # The envelope: the account, the business number, who wrote, and when.
        assert update.waba_id == WABA_ID
        assert update.metadata.phone_number_id == PHONE_NUMBER_ID
        assert update.metadata.display_phone_number == DISPLAY_PHONE_NUMBER
        assert update.timestamp == sent.timestamp.replace(microsecond=0)
        assert update.from_user.wa_id == CUSTOMER
        if kind.has_contacts:
            assert update.from_user.bsuid, "contacts[].user_id (BSUID) is in every message"
            assert update.from_user.name == CUSTOMER_NAME
        kind.check(update, thread)

    async def test_every_post_of_a_conversation_parses(self, sandbox: SandboxClient,
                                                       wa: WhatsApp,
                                                       inbox: WebhookInbox) -> None:
        thread = await open_thread(sandbox, wa)
        for kind in KINDS.values():
            context = {"from": DISPLAY_PHONE_NUMBER, "id": thread.ours} if kind.context else None
            await sandbox.customer_sends(PHONE_NUMBER_ID, CUSTOMER, kind.message_type,
                                         kind.content(thread), name=CUSTOMER_NAME,
                                         context=context, referral=kind.referral)
        await sandbox.wait_webhooks_idle()

        updates = await inbox.updates()  # raises on the first update pywa cannot read
        assert len(inbox.posts) >= len(KINDS) + 1
        assert sorted({type(u).__name__ for u in updates}) == sorted(
            {k.update.__name__ for k in KINDS.values()} | {"MessageStatus"})


class TestMessageStatuses:
    async def test_sent_delivered_read_of_a_reply(self, sandbox: SandboxClient, wa: WhatsApp,
                                                  inbox: WebhookInbox) -> None:
        await sandbox.customer_says(PHONE_NUMBER_ID, CUSTOMER, "Hi!", name=CUSTOMER_NAME)
        sent = await wa.send_message(CUSTOMER, "On its way", tracker="order-42")
        await sandbox.wait_webhooks_idle()

        statuses = await inbox.statuses(sent.id)
        assert [s.status for s in statuses] == [
            MessageStatusType.SENT, MessageStatusType.DELIVERED, MessageStatusType.READ]
        for status in statuses:
            assert status.waba_id == WABA_ID
            assert status.metadata.phone_number_id == PHONE_NUMBER_ID
            assert status.from_user.wa_id == CUSTOMER
            assert status.from_user.bsuid, "contacts[].user_id (BSUID) is in every status"
            assert status.tracker == "order-42"  # biz_opaque_callback_data, echoed
            assert status.error is None
            assert status.timestamp.tzinfo is not None
        assert [s.timestamp for s in statuses] == sorted(s.timestamp for s in statuses)
        # Per-message pricing (since July 2025): a reply in the window is free, on `sent`.
        sent_status = statuses[0]
        assert sent_status.pricing is not None
        assert (sent_status.pricing.model, sent_status.pricing.type,
                sent_status.pricing.category) == ("PMP", "free_customer_service", "service")

    async def test_a_template_is_billed_by_its_category(self, sandbox: SandboxClient,
                                                        wa: WhatsApp,
                                                        inbox: WebhookInbox) -> None:
        sent = await wa.send_template(CUSTOMER, "hello_world", TemplateLanguage.ENGLISH_US)
        await sandbox.wait_webhooks_idle()
        sent_status = (await inbox.statuses(sent.id))[0]
        assert sent_status.status == MessageStatusType.SENT
        assert sent_status.pricing is not None
        assert (sent_status.pricing.type, sent_status.pricing.category) == ("regular", "utility")

    async def test_failed_carries_the_error(self, sandbox: SandboxClient, wa: WhatsApp,
                                            inbox: WebhookInbox) -> None:
        await sandbox.customer_says(PHONE_NUMBER_ID, CUSTOMER, "Hi!", name=CUSTOMER_NAME)
        await sandbox.inject_fault(PHONE_NUMBER_ID, "status_failed", code=131026)
        sent = await wa.send_message(CUSTOMER, "Are you there?")
        await sandbox.wait_webhooks_idle()

        (failed,) = await inbox.statuses(sent.id)
        assert failed.status == MessageStatusType.FAILED
        assert failed.error is not None
        assert failed.error.code == 131026
        assert failed.error.message
        assert failed.error.details
        assert failed.pricing is None


class TestTemplateEvents:
    async def test_status_update_after_review(self, sandbox: SandboxClient, wa: WhatsApp,
                                              inbox: WebhookInbox) -> None:
        await sandbox.change_template_status(WABA_ID, "spring_sale", "PAUSED")
        update = await inbox.wait_for(TemplateStatusUpdate)
        assert update.id == WABA_ID
        assert update.template_name == "spring_sale"
        assert update.new_status == TemplateStatus.PAUSED
        assert update.template_language == TemplateLanguage.ENGLISH_US
        assert update.template_id.isdigit()
        assert update.timestamp.tzinfo is not None

    async def test_quality_update(self, sandbox: SandboxClient, wa: WhatsApp,
                                  inbox: WebhookInbox) -> None:
        await sandbox.change_template_quality(WABA_ID, "spring_sale", "RED")
        update = await inbox.wait_for(TemplateQualityUpdate)
        assert update.id == WABA_ID
        assert update.template_name == "spring_sale"
        assert update.new_quality_score == QualityScoreType.RED
        assert update.previous_quality_score == QualityScoreType.UNKNOWN
        assert update.timestamp <= datetime.now(UTC)
