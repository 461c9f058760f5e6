"""Request bodies in Meta's shapes (shared/whatsapp-cloud-api.md §5)."""

import pytest
from pydantic import ValidationError

from sandbox.requests import CALLBACK_DATA_LIMIT
from services.outbound_sender.payloads import content_of, mark_read_body, message_body
from shared import callback_data
from shared.callback_data import REFERENCE_LIMIT, CallbackData
from shared.events import (
    AnySend,
    JsonObject,
    MarkRead,
    React,
    SendMedia,
    SendText,
    TemplateComponent,
)
from tests.unit.outbound_sender.fakes import CID, CUSTOMER, NUMBER, T0, TENANT, template, text

COMMON = {"occurred_at": T0, "tenant_id": TENANT, "conversation_id": CID,
          "business_phone_number_id": NUMBER, "customer_wa_id": CUSTOMER}


def sent_by(body: JsonObject) -> CallbackData:
    value = body["biz_opaque_callback_data"]
    assert isinstance(value, str)
    return callback_data.decode(value)


class TestMessageBodies:
    def test_text_goes_to_the_plus_number(self):
        body = message_body(text(body="Hi there"))
        assert body == {"messaging_product": "whatsapp", "recipient_type": "individual",
                        "to": f"+{CUSTOMER}", "type": "text",
                        "text": {"body": "Hi there", "preview_url": False},
                        "biz_opaque_callback_data": "wai1:5:cmd-1"}

    def test_reply_quotes_and_reference_echoes_beside_the_command_id(self):
        command = text().model_copy(update={"reply_to_wamid": "wamid.Q", "reference": "ref-7"})
        body = message_body(command)
        assert body["context"] == {"message_id": "wamid.Q"}
        assert sent_by(body) == CallbackData(command_id="cmd-1", reference="ref-7")

    @pytest.mark.parametrize("command", [
        text(), template(),
        SendMedia(**COMMON, command_id="m1", media_type="image", media_id="42"),
        React(**COMMON, command_id="r1", message_wamid="wamid.A", emoji="👍"),
    ])
    def test_every_send_carries_its_command_id_to_meta(self, command: AnySend):
        sent = sent_by(message_body(command))
        assert sent.command_id == command.command_id
        assert sent.reference is None

    def test_the_longest_command_id_and_reference_fit_metas_limit(self):
        command = text("c" * 200).model_copy(update={"reference": "r" * REFERENCE_LIMIT})
        value = message_body(command)["biz_opaque_callback_data"]
        assert isinstance(value, str)
        assert len(value) <= CALLBACK_DATA_LIMIT  # what the sandbox (as Meta) accepts
        assert callback_data.decode(value) == CallbackData("c" * 200, "r" * REFERENCE_LIMIT)

    def test_a_longer_reference_is_refused_by_the_contract(self):
        with pytest.raises(ValidationError):
            SendText(**COMMON, command_id="c1", text="x", reference="r" * (REFERENCE_LIMIT + 1))

    def test_template_with_components(self):
        command = template().model_copy(update={"components": [
            TemplateComponent(type="body", parameters=[{"type": "text", "text": "Ana"}]),
            TemplateComponent(type="button", sub_type="quick_reply", index=0,
                              parameters=[{"type": "payload", "payload": "YES"}]),
        ]})
        assert message_body(command)["template"] == {
            "name": "welcome", "language": {"code": "en_US"},
            "components": [
                {"type": "body", "parameters": [{"type": "text", "text": "Ana"}]},
                {"type": "button", "sub_type": "quick_reply", "index": "0",
                 "parameters": [{"type": "payload", "payload": "YES"}]},
            ]}

    def test_media_by_id_preferred_caption_only_where_allowed(self):
        image = SendMedia(**COMMON, command_id="m1", media_type="image", media_id="42",
                          link="https://x/y.png", caption="look")
        assert message_body(image)["image"] == {"id": "42", "caption": "look"}
        audio = SendMedia(**COMMON, command_id="m2", media_type="audio",
                          link="https://x/a.ogg", caption="ignored")
        assert message_body(audio)["audio"] == {"link": "https://x/a.ogg"}
        doc = SendMedia(**COMMON, command_id="m3", media_type="document", media_id="7",
                        filename="invoice.pdf")
        assert message_body(doc)["document"] == {"id": "7", "filename": "invoice.pdf"}

    def test_reaction_is_never_a_contextual_reply(self):
        react = React(**COMMON, command_id="r1", message_wamid="wamid.A", emoji="👍",
                      reply_to_wamid="wamid.B")
        body = message_body(react)
        assert body["reaction"] == {"message_id": "wamid.A", "emoji": "👍"}
        assert "context" not in body

    def test_mark_read(self):
        read = MarkRead(occurred_at=T0, tenant_id=TENANT, conversation_id=CID, command_id="r",
                        business_phone_number_id=NUMBER, message_wamid="wamid.IN")
        assert mark_read_body(read) == {"messaging_product": "whatsapp", "status": "read",
                                        "message_id": "wamid.IN"}
        assert mark_read_body(read.model_copy(update={"message_wamid": None})) is None


class TestContent:
    def test_what_the_thread_shows(self):
        assert content_of(text(body="yo")).text == "yo"
        shown = content_of(template())
        assert (shown.kind, shown.template_name, shown.text) == ("template", "welcome",
                                                                 "Welcome!")
        react = React(**COMMON, command_id="r1", message_wamid="wamid.A", emoji="👍")
        assert content_of(react).reaction_to_wamid == "wamid.A"


class TestRecipientByNumberOrBsuid:
    """Issue 14: ``to`` when the number is known, else ``recipient`` = the BSUID; never both."""

    BSUID = "US.13491208655302741918"

    def test_a_number_goes_as_to(self):
        body = message_body(text().model_copy(update={"customer_user_id": self.BSUID}))
        assert body["to"] == f"+{CUSTOMER}"
        assert "recipient" not in body

    @pytest.mark.parametrize("command", [
        text(), template(),
        SendMedia(**COMMON, command_id="m1", media_type="image", media_id="42"),
        React(**COMMON, command_id="r1", message_wamid="wamid.A", emoji="👍"),
    ])
    def test_without_a_number_every_send_goes_by_recipient(self, command: AnySend):
        command = command.model_copy(update={"customer_wa_id": None,
                                             "customer_user_id": self.BSUID})
        body = message_body(command)
        assert body["recipient"] == self.BSUID
        assert "to" not in body
        assert body["messaging_product"] == "whatsapp"

    def test_a_command_names_a_number_or_a_bsuid(self):
        fields = {**COMMON, "customer_wa_id": None}
        with pytest.raises(ValidationError):
            SendText(**fields, command_id="c", text="hi")
        sent = SendText(**{**fields, "customer_user_id": self.BSUID}, command_id="c", text="hi")
        assert sent.customer_wa_id is None
        assert SendText.model_validate_json(sent.model_dump_json()) == sent


def test_outcomes_of_a_bsuid_send_name_the_bsuid_and_no_number():
    from services.outbound_sender.outcomes import unknown
    command = text().model_copy(update={"customer_wa_id": None,
                                        "customer_user_id": "US.1349"})
    event = unknown(command, "in doubt.", T0)
    assert (event.customer_wa_id, event.customer_user_id) == (None, "US.1349")
    assert type(event).model_validate_json(event.to_bytes()) == event
