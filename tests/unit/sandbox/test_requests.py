"""Reading send requests as Meta does: every message type, and the error code for each mistake."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.errors import CloudApiError
from sandbox.requests import TemplateRef, parse_send


def message(message_type: str, content: Any, **extra: Any) -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "to": "+16505551234", "type": message_type,
            message_type: content, **extra}


def refusal(body: Any) -> int:
    with pytest.raises(CloudApiError) as caught:
        parse_send(body)
    return caught.value.code


class TestValidMessages:
    @pytest.mark.parametrize(("message_type", "content"), [
        ("text", {"body": "hi", "preview_url": True}),
        ("image", {"id": "1234", "caption": "look"}),
        ("image", {"link": "https://example.com/a.jpg"}),
        ("video", {"id": "1234"}),
        ("audio", {"id": "1234"}),
        ("document", {"link": "https://example.com/a.pdf", "filename": "a.pdf"}),
        ("sticker", {"id": "1234"}),
        ("reaction", {"message_id": "wamid.X", "emoji": "👍"}),
        ("reaction", {"message_id": "wamid.X", "emoji": ""}),
        ("location", {"latitude": 37.4, "longitude": -122.1, "name": "HQ"}),
        ("contacts", [{"name": {"formatted_name": "Jane Doe"}}]),
        ("interactive", {"type": "button", "body": {"text": "Pick"}, "action": {"buttons": [
            {"type": "reply", "reply": {"id": "y", "title": "Yes"}}]}}),
        ("interactive", {"type": "list", "body": {"text": "Pick"}, "action": {
            "button": "Options",
            "sections": [{"title": "A", "rows": [{"id": "1", "title": "x"}]}]}}),
        ("interactive", {"type": "cta_url", "body": {"text": "See"}, "action": {
            "name": "cta_url", "parameters": {"display_text": "Open", "url": "https://x.io"}}}),
    ])
    def test_is_read_with_its_type_and_recipient(self, message_type: str, content: Any) -> None:
        request = parse_send(message(message_type, content))
        assert request.message_type == message_type
        assert (request.to, request.wa_id) == ("+16505551234", "16505551234")
        assert not request.is_template
        assert not request.is_read

    def test_type_defaults_to_text(self) -> None:
        body = {"messaging_product": "whatsapp", "to": "16505551234", "text": {"body": "hi"}}
        assert parse_send(body).message_type == "text"

    def test_template_counts_its_body_parameters(self) -> None:
        request = parse_send(message("template", {
            "name": "order_update", "language": {"code": "en_US"},
            "components": [
                {"type": "header", "parameters": [{"type": "image", "image": {"id": "9"}}]},
                {"type": "body", "parameters": [{"type": "text", "text": "Jo"},
                                                {"type": "text", "text": "42"}]},
                {"type": "button", "sub_type": "quick_reply", "index": "0",
                 "parameters": [{"type": "payload", "payload": "X"}]},
            ]}))
        assert request.template == TemplateRef("order_update", "en_US", 2, media_ids=("9",))
        assert request.media_ids == ("9",)

    def test_template_without_components_has_no_parameters(self) -> None:
        request = parse_send(message("template", {"name": "hello_world",
                                                  "language": {"code": "en_US"}}))
        assert request.template == TemplateRef("hello_world", "en_US", 0)

    def test_reply_context_and_callback_data_are_kept(self) -> None:
        request = parse_send(message("text", {"body": "hi"}, context={"message_id": "wamid.A"},
                                     biz_opaque_callback_data="cmd-1"))
        assert (request.reply_to, request.callback_data) == ("wamid.A", "cmd-1")

    def test_mark_as_read(self) -> None:
        request = parse_send({"messaging_product": "whatsapp", "status": "read",
                              "message_id": "wamid.IN", "typing_indicator": {"type": "text"}})
        assert request.is_read
        assert request.message_id == "wamid.IN"

    @pytest.mark.parametrize(("message_type", "content", "ids"), [
        ("image", {"id": "1234", "caption": "look"}, ("1234",)),
        ("document", {"id": 77, "filename": "a.pdf"}, ("77",)),
        ("image", {"link": "https://example.com/a.jpg"}, ()),
        ("text", {"body": "hi"}, ()),
    ])
    def test_media_ids_are_collected_for_the_existence_check(
        self, message_type: str, content: Any, ids: tuple[str, ...]
    ) -> None:
        assert parse_send(message(message_type, content)).media_ids == ids

    def test_group_recipient_is_kept_as_given(self) -> None:
        request = parse_send(message("text", {"body": "hi"}, recipient_type="group",
                                     to="group-abc"))
        assert request.group
        assert request.wa_id == "group-abc"


class TestRecipientByBsuid:
    def body(self, **recipient: Any) -> dict[str, Any]:
        return {"messaging_product": "whatsapp", "type": "text", "text": {"body": "hi"},
                **recipient}

    @pytest.mark.parametrize("bsuid", ["US.13491208655302741918", "US.ENT.11815799212886844830",
                                       "BR.1502576394655843", "GB.abcXYZ09"])
    def test_a_bsuid_or_parent_bsuid_replaces_to(self, bsuid: str) -> None:
        request = parse_send(self.body(recipient=bsuid))
        assert (request.to, request.user_id, request.wa_id) == (bsuid, bsuid, "")

    def test_when_both_are_given_to_wins(self) -> None:
        request = parse_send(self.body(to="+16505551234", recipient="US.13491208655302741918"))
        assert (request.to, request.wa_id, request.user_id) == (
            "+16505551234", "16505551234", None)

    @pytest.mark.parametrize("bsuid", ["16505551234", "us.123", "USA.123", "US.", "US.12-34",
                                       "US." + "1" * 129, 42])
    def test_a_malformed_bsuid_is_131009(self, bsuid: Any) -> None:
        assert refusal(self.body(recipient=bsuid)) == 131009

    def test_neither_to_nor_recipient_is_131008(self) -> None:
        assert refusal(self.body()) == 131008


class TestRefusals:
    @pytest.mark.parametrize(("body", "code"), [
        ([], 100),
        ({"to": "16505551234", "type": "text", "text": {"body": "x"}}, 100),
        ({**message("text", {"body": "x"}), "messaging_product": "sms"}, 100),
        ({**message("text", {"body": "x"}), "unknown_param": 1}, 100),
        ({**message("text", {"body": "x"}), "image": {"id": "1"}}, 100),
        (message("text", {"body": "x" * 4097}), 100),
        ({**message("text", {"body": "x"}), "recipient_type": "broadcast"}, 100),
        ({"messaging_product": "whatsapp", "status": "delivered", "message_id": "w"}, 100),
        ({"messaging_product": "whatsapp", "status": "read"}, 131008),
        ({"messaging_product": "whatsapp", "type": "text", "text": {"body": "x"}}, 131008),
        ({"messaging_product": "whatsapp", "to": "16505551234", "type": "text"}, 131008),
        (message("text", {}), 131008),
        (message("image", {"caption": "no media"}), 131008),
        (message("reaction", {"emoji": "👍"}), 131008),
        (message("location", {"latitude": 1.0}), 131008),
        (message("template", {"language": {"code": "en_US"}}), 131008),
        (message("template", {"name": "t"}), 131008),
        (message("template", {"name": "t", "language": {}}), 131008),
        (message("template", {"name": "t", "language": {"code": "en"},
                              "components": [{"type": "body", "parameters": [
                                  {"type": "text"}]}]}), 131008),
        (message("interactive", {"type": "button", "action": {"buttons": []}}), 131008),
        (message("contacts", [{"phones": []}]), 131008),
        (message("sms", {"body": "x"}), 131009),
        (message("text", {"body": "x"}, to="call me maybe"), 131009),
        (message("text", {"body": "x"}, to="+1234"), 131009),
        (message("image", {"id": "1", "link": "https://x.io/a.png"}), 131009),
        (message("image", {"link": "ftp://x.io/a.png"}), 131009),
        (message("audio", {"id": "1", "caption": "no captions on audio"}), 131009),
        (message("reaction", {"message_id": "w", "emoji": "👍"}, context={"message_id": "w"}),
         131009),
        (message("location", {"latitude": 91, "longitude": 0}), 131009),
        (message("contacts", []), 131009),
        (message("interactive", {"type": "carousel", "action": {}}), 131009),
        (message("interactive", {"type": "button", "body": {"text": "x"}, "action": {
            "buttons": [{"reply": {"id": str(i), "title": "t"}} for i in range(4)]}}), 131009),
        (message("interactive", {"type": "list", "body": {"text": "x"}, "action": {
            "button": "a label that is far too long", "sections": [{}]}}), 131009),
        (message("text", {"body": "x"}, biz_opaque_callback_data="x" * 513), 131009),
        (message("text", "just a string"), 131009),
    ])
    def test_answers_metas_code(self, body: Any, code: int) -> None:
        assert refusal(body) == code

    def test_error_envelope_has_metas_shape(self) -> None:
        with pytest.raises(CloudApiError) as caught:
            parse_send(message("text", {}))
        error = caught.value.envelope()["error"]
        assert error["code"] == 131008
        assert error["type"] == "OAuthException"
        assert error["message"] == "(#131008) Required parameter is missing"
        assert error["error_data"] == {"messaging_product": "whatsapp",
                                       "details": "The parameter text.body is required."}
        assert error["fbtrace_id"]
        assert caught.value.http_status == 400
