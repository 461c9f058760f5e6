"""Every send kind pywa offers, against the sandbox's send endpoint, as Meta's reference has it.

Each send must come back as pywa's ``Sent*`` object (the request accepted: a wamid, the
recipient's ``input`` and ``wa_id``), be recorded by the sandbox with the object pywa built, and
get its ``sent`` status webhook, read by pywa. Also here: replies (``context``), read receipts and
the typing indicator.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from pywa.types.callback import Button, FlowButton, Section, SectionList, SectionRow, URLButton
from pywa.types.message_status import MessageStatusType
from pywa.types.others import Contact, ProductsSection
from pywa.types.templates import TemplateLanguage
from pywa_async.client import WhatsApp
from pywa_async.types.message_status import MessageStatus

from sandbox.testing import SandboxClient
from tests.contract.business import CUSTOMER, CUSTOMER_NAME, PHONE_NUMBER_ID, body_parameters
from tests.contract.media_files import FILES, upload
from tests.contract.webhook_inbox import WebhookInbox

Send = Callable[[WhatsApp, "Refs"], Awaitable[Any]]


@dataclass(frozen=True)
class Refs:
    """What a send can refer to: the customer's message and the media uploaded for this test."""

    inbound: str
    media: dict[str, str]


@dataclass(frozen=True)
class Case:
    send: Send
    type: str  # the request's ``type``
    check: Callable[[dict[str, Any], Refs], bool]  # on the request body the sandbox recorded


CATALOG = "1000000000000"


def _obj(body: dict[str, Any]) -> Any:
    return body[body["type"]]


CASES: dict[str, Case] = {
    "text": Case(lambda wa, r: wa.send_message(CUSTOMER, "Your order shipped."), "text",
                 lambda b, r: _obj(b)["body"] == "Your order shipped."),
    "text-with-link-preview": Case(
        lambda wa, r: wa.send_message(CUSTOMER, "Track it: https://example.com/t/42",
                                      preview_url=True),
        "text", lambda b, r: _obj(b)["preview_url"] is True),
    "reply-buttons": Case(
        lambda wa, r: wa.send_message(CUSTOMER, "Did it arrive?", header="Order A-42",
                                      footer="Reply below", buttons=[
                                          Button("Yes", callback_data="yes"),
                                          Button("No", callback_data="no")]),
        "interactive", lambda b, r: _obj(b)["type"] == "button"
        and [x["reply"]["id"] for x in _obj(b)["action"]["buttons"]] == ["yes", "no"]),
    "list": Case(
        lambda wa, r: wa.send_message(CUSTOMER, "Pick a colour", buttons=SectionList(
            "Colours", [Section("In stock", [
                SectionRow("Blue", callback_data="blue", description="Ships today"),
                SectionRow("Green", callback_data="green")])])),
        "interactive", lambda b, r: _obj(b)["type"] == "list"
        and _obj(b)["action"]["button"] == "Colours"),
    "cta-url": Case(
        lambda wa, r: wa.send_message(CUSTOMER, "See your order", buttons=URLButton(
            "Open", "https://example.com/orders/42")),
        "interactive", lambda b, r: _obj(b)["type"] == "cta_url"),
    "flow": Case(
        lambda wa, r: wa.send_message(CUSTOMER, "Book a delivery slot", buttons=FlowButton(
            title="Book", flow_id="1234567890", flow_action_screen="SLOTS")),
        "interactive", lambda b, r: _obj(b)["type"] == "flow"
        and _obj(b)["action"]["parameters"]["flow_id"] == "1234567890"),
    "catalog": Case(
        lambda wa, r: wa.send_catalog(CUSTOMER, "Browse our catalog",
                                      thumbnail_product_sku="sku-1"),
        "interactive", lambda b, r: _obj(b)["type"] == "catalog_message"),
    "product": Case(
        lambda wa, r: wa.send_product(CUSTOMER, catalog_id=CATALOG, sku="sku-1",
                                      body="Back in stock"),
        "interactive", lambda b, r: _obj(b)["type"] == "product"
        and _obj(b)["action"]["product_retailer_id"] == "sku-1"),
    "product-list": Case(
        lambda wa, r: wa.send_products(CUSTOMER, catalog_id=CATALOG, title="Our picks",
                                       body="Picked for you", product_sections=[
                                           ProductsSection("Top", skus=["sku-1", "sku-2"])]),
        "interactive", lambda b, r: _obj(b)["type"] == "product_list"),
    "location-request": Case(
        lambda wa, r: wa.request_location(CUSTOMER, "Where should we deliver?"),
        "interactive", lambda b, r: _obj(b)["type"] == "location_request_message"),
    "image-by-link": Case(
        lambda wa, r: wa.send_image(CUSTOMER, "https://example.com/box.png", caption="the box"),
        "image", lambda b, r: _obj(b) == {"link": "https://example.com/box.png",
                                          "caption": "the box"}),
    "video-by-link": Case(
        lambda wa, r: wa.send_video(CUSTOMER, "https://example.com/unboxing.mp4"),
        "video", lambda b, r: _obj(b)["link"] == "https://example.com/unboxing.mp4"),
    "audio-by-link": Case(
        lambda wa, r: wa.send_audio(CUSTOMER, "https://example.com/jingle.mp3"),
        "audio", lambda b, r: _obj(b)["link"] == "https://example.com/jingle.mp3"),
    "document-by-link": Case(
        lambda wa, r: wa.send_document(CUSTOMER, "https://example.com/invoice.pdf",
                                       filename="invoice.pdf", caption="Your invoice"),
        "document", lambda b, r: _obj(b)["filename"] == "invoice.pdf"),
    "sticker-by-link": Case(
        lambda wa, r: wa.send_sticker(CUSTOMER, "https://example.com/thanks.webp"),
        "sticker", lambda b, r: _obj(b)["link"] == "https://example.com/thanks.webp"),
    "image-by-id": Case(
        lambda wa, r: wa.send_image(CUSTOMER, r.media["image"], caption="the box"),
        "image", lambda b, r: _obj(b) == {"id": r.media["image"], "caption": "the box"}),
    "video-by-id": Case(lambda wa, r: wa.send_video(CUSTOMER, r.media["video"]), "video",
                        lambda b, r: _obj(b)["id"] == r.media["video"]),
    "audio-by-id": Case(lambda wa, r: wa.send_audio(CUSTOMER, r.media["audio"]), "audio",
                        lambda b, r: _obj(b)["id"] == r.media["audio"]),
    "voice-by-id": Case(lambda wa, r: wa.send_voice(CUSTOMER, r.media["audio"]), "audio",
                        lambda b, r: _obj(b)["id"] == r.media["audio"]
                        and _obj(b).get("voice") is True),
    "document-by-id": Case(
        lambda wa, r: wa.send_document(CUSTOMER, r.media["document"], filename="invoice.pdf"),
        "document", lambda b, r: _obj(b)["id"] == r.media["document"]),
    "sticker-by-id": Case(lambda wa, r: wa.send_sticker(CUSTOMER, r.media["sticker"]),
                          "sticker", lambda b, r: _obj(b)["id"] == r.media["sticker"]),
    "image-uploaded-on-the-fly": Case(
        lambda wa, r: wa.send_image(CUSTOMER, FILES["image"].content,
                                    mime_type=FILES["image"].mime_type),
        "image", lambda b, r: _obj(b)["id"].isdigit()),
    "location": Case(
        lambda wa, r: wa.send_location(CUSTOMER, 52.3731, 4.8922, name="Dam Square",
                                       address="Dam, Amsterdam"),
        "location", lambda b, r: (_obj(b)["latitude"], _obj(b)["longitude"]) == (52.3731,
                                                                                  4.8922)),
    "contacts": Case(
        lambda wa, r: wa.send_contact(CUSTOMER, Contact(
            name=Contact.Name(formatted_name="Support", first_name="Support"),
            phones=[Contact.Phone(phone="+1 555 0100", type="WORK")])),
        "contacts", lambda b, r: b["contacts"][0]["name"]["formatted_name"] == "Support"),
    "reaction": Case(lambda wa, r: wa.send_reaction(CUSTOMER, "👍", r.inbound), "reaction",
                     lambda b, r: _obj(b) == {"message_id": r.inbound, "emoji": "👍"}),
    "reaction-removed": Case(lambda wa, r: wa.remove_reaction(CUSTOMER, r.inbound), "reaction",
                             lambda b, r: _obj(b) == {"message_id": r.inbound, "emoji": ""}),
    "reply-to-a-message": Case(
        lambda wa, r: wa.send_message(CUSTOMER, "Yes, in green.", reply_to_message_id=r.inbound),
        "text", lambda b, r: b["context"] == {"message_id": r.inbound}),
    "template-with-parameters": Case(
        lambda wa, r: wa.send_template(CUSTOMER, "order_update", TemplateLanguage.ENGLISH_US,
                                       params=[body_parameters("Sheena", "A-42")]),
        "template", lambda b, r: _obj(b)["name"] == "order_update"
        and [p["text"] for p in _obj(b)["components"][0]["parameters"]] == ["Sheena", "A-42"]),
    "tracked": Case(lambda wa, r: wa.send_message(CUSTOMER, "Tracked", tracker="cmd-42"), "text",
                    lambda b, r: b["biz_opaque_callback_data"] == "cmd-42"),
}


class TestEverySendKind:
    @pytest.mark.parametrize("name", list(CASES))
    async def test_is_accepted_recorded_and_gets_a_sent_status(
            self, name: str, sandbox: SandboxClient, wa: WhatsApp, inbox: WebhookInbox) -> None:
        case = CASES[name]
        inbound = await sandbox.customer_says(PHONE_NUMBER_ID, CUSTOMER, "Hi!",
                                              name=CUSTOMER_NAME)
        media = {kind: await upload(wa, kind) for kind in FILES} if "-by-id" in name else {}
        refs = Refs(inbound=inbound.wamid, media=media)

        sent = await case.send(wa, refs)

        assert sent.id.startswith("wamid.")
        assert sent.input == CUSTOMER  # contacts[0].input: the `to` as given
        assert sent.chat.id == CUSTOMER  # contacts[0].wa_id
        recorded = [r for r in await sandbox.accepted(PHONE_NUMBER_ID) if r.wamid == sent.id]
        assert len(recorded) == 1
        body = recorded[0].body
        assert (body["messaging_product"], body["to"], body["type"]) == (
            "whatsapp", CUSTOMER, case.type)
        assert case.check(body, refs), body
        status = await inbox.wait_for(MessageStatus, lambda s: s.id == sent.id)
        assert status.status == MessageStatusType.SENT


class TestReadReceiptsAndTyping:
    async def test_mark_as_read(self, sandbox: SandboxClient, wa: WhatsApp) -> None:
        inbound = await sandbox.customer_says(PHONE_NUMBER_ID, CUSTOMER, "Hi!")
        result = await wa.mark_message_as_read(inbound.wamid)
        assert result.success is True

    async def test_typing_indicator(self, sandbox: SandboxClient, wa: WhatsApp) -> None:
        inbound = await sandbox.customer_says(PHONE_NUMBER_ID, CUSTOMER, "Hi!")
        result = await wa.indicate_typing(inbound.wamid)
        assert result.success is True

    async def test_neither_is_a_message(self, sandbox: SandboxClient, wa: WhatsApp,
                                        inbox: WebhookInbox) -> None:
        inbound = await sandbox.customer_says(PHONE_NUMBER_ID, CUSTOMER, "Hi!")
        await wa.mark_message_as_read(inbound.wamid)
        await wa.indicate_typing(inbound.wamid)
        await sandbox.wait_webhooks_idle()
        assert await sandbox.accepted(PHONE_NUMBER_ID) == []  # no wamid, no status
        assert await inbox.of(MessageStatus) == []
