"""Meta's template rules (create, edit), checked before any call: the failing field is named."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.inbox_api.templates.rules import (
    TemplateInvalid,
    edit_refusal,
    validate_create,
    validate_edit,
)
from services.inbox_api.templates.schemas import ContentIn, TemplateCreateIn

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def draft(**changes: Any) -> TemplateCreateIn:
    data: dict[str, Any] = {"name": "order_ready", "language": "en_US", "category": "utility",
                            "body": {"text": "Hi {{1}}, order {{2}} is ready.",
                                     "examples": {"1": "Ana", "2": "A-1"}}}
    data.update(changes)
    return TemplateCreateIn.model_validate(data)


def failing_field(**changes: Any) -> str:
    with pytest.raises(TemplateInvalid) as caught:
        validate_create(draft(**changes))
    return caught.value.field


class TestValidTemplates:
    def test_positional_template_becomes_metas_components(self) -> None:
        valid = validate_create(draft(
            header={"format": "TEXT", "text": "Order {{1}}", "examples": {"header.1": "A-1"}},
            footer={"text": "Reply STOP to opt out"},
            buttons=[{"type": "QUICK_REPLY", "text": "Thanks"},
                     {"type": "URL", "text": "Track", "url": "https://x.co/t/{{1}}",
                      "example": "A-1"},
                     {"type": "PHONE_NUMBER", "text": "Call us", "phone_number": "+15550001111"}]))
        assert (valid.category, valid.parameter_format) == ("UTILITY", "positional")
        header, body, footer, buttons = valid.components
        assert header == {"type": "HEADER", "format": "TEXT", "text": "Order {{1}}",
                          "example": {"header_text": ["A-1"]}}
        assert body["example"] == {"body_text": [["Ana", "A-1"]]}
        assert footer == {"type": "FOOTER", "text": "Reply STOP to opt out"}
        assert buttons["buttons"][1]["example"] == ["https://x.co/t/A-1"]

    def test_named_variables_use_metas_named_examples(self) -> None:
        valid = validate_create(draft(body={"text": "Hi {{first_name}}, welcome.",
                                            "examples": {"first_name": "Ana"}}))
        assert valid.parameter_format == "named"
        assert valid.components[0]["example"] == {
            "body_text_named_params": [{"param_name": "first_name", "example": "Ana"}]}

    def test_media_header_carries_its_example_handle(self) -> None:
        valid = validate_create(draft(header={"format": "IMAGE",
                                              "example": "https://x.co/a.png"}))
        assert valid.components[0] == {"type": "HEADER", "format": "IMAGE",
                                       "example": {"header_handle": ["https://x.co/a.png"]}}


class TestRefusedTemplates:
    @pytest.mark.parametrize(("changes", "field"), [
        ({"name": "Order Ready"}, "name"),
        ({"name": "x" * 513}, "name"),
        ({"language": "english"}, "language"),
        ({"category": "AUTHENTICATION"}, "category"),
        ({"category": None}, "category"),
        ({"body": {"text": "Hi {{1}}, {{3}}.", "examples": {"1": "a", "3": "b"}}}, "body.text"),
        ({"body": {"text": "Hi {{1}} and {{name}}.", "examples": {"1": "a", "name": "b"}}},
         "body.text"),
        ({"body": {"text": "{{1}}, hello there", "examples": {"1": "a"}}}, "body.text"),
        ({"body": {"text": "Hello there {{1}}", "examples": {"1": "a"}}}, "body.text"),
        ({"body": {"text": "Hi {{1}}, x.", "examples": {}}}, "body.examples.1"),
        ({"body": {"text": "Hi {{1}}, x.", "examples": {"1": " "}}}, "body.examples.1"),
        ({"body": {"text": "Hi {{1}}, x.", "examples": {"1": "a", "2": "b"}}},
         "body.examples.2"),
        ({"body": {"text": "Hi {{First}}, x.", "examples": {"First": "a"}}}, "body.text"),
        ({"body": {"text": "x" * 1025}}, "body.text"),
        ({"body": {"text": "Hi {{1}, x."}}, "body.text"),
        ({"header": {"format": "TEXT", "text": "x" * 61}}, "header.text"),
        ({"header": {"format": "TEXT", "text": "{{1}} {{2}}",
                     "examples": {"header.1": "a", "header.2": "b"}}}, "header.text"),
        ({"header": {"format": "VIDEO"}}, "header.example"),
        ({"footer": {"text": "x" * 61}}, "footer.text"),
        ({"footer": {"text": "Hi {{1}}"}}, "footer.text"),
        ({"buttons": [{"type": "QUICK_REPLY", "text": "x" * 26}]}, "buttons.0.text"),
        ({"buttons": [{"type": "QUICK_REPLY", "text": str(i)} for i in range(11)]}, "buttons"),
        ({"buttons": [{"type": "URL", "text": "a", "url": "https://x.co"}] * 3}, "buttons"),
        ({"buttons": [{"type": "QUICK_REPLY", "text": "a"},
                      {"type": "URL", "text": "b", "url": "https://x.co"},
                      {"type": "QUICK_REPLY", "text": "c"}]}, "buttons"),
        ({"buttons": [{"type": "URL", "text": "a", "url": "ftp://x.co"}]}, "buttons.0.url"),
        ({"buttons": [{"type": "URL", "text": "a", "url": "https://x.co/{{1}}/b",
                       "example": "e"}]}, "buttons.0.url"),
        ({"buttons": [{"type": "URL", "text": "a", "url": "https://x.co/{{1}}"}]},
         "buttons.0.example"),
        ({"buttons": [{"type": "PHONE_NUMBER", "text": "a",
                       "phone_number": "+1" + "5" * 20}]}, "buttons.0.phone_number"),
    ])
    def test_names_the_failing_field(self, changes: dict[str, Any], field: str) -> None:
        assert failing_field(**changes) == field


class TestEdits:
    def test_only_approved_rejected_or_paused_can_be_edited(self) -> None:
        assert edit_refusal("PENDING", [], NOW) is not None
        assert edit_refusal("REJECTED", [NOW], NOW) is None
        assert edit_refusal("PAUSED", [], NOW) is None

    def test_approved_once_per_day_and_ten_per_thirty_days(self) -> None:
        assert edit_refusal("APPROVED", [NOW - timedelta(hours=23)], NOW) is not None
        assert edit_refusal("APPROVED", [NOW - timedelta(hours=25)], NOW) is None
        ten = [NOW - timedelta(days=2 + i) for i in range(10)]
        assert edit_refusal("APPROVED", ten, NOW) is not None
        assert edit_refusal("APPROVED", ten[:9], NOW) is None

    def test_an_approved_templates_category_cannot_change(self) -> None:
        content = ContentIn.model_validate({"category": "MARKETING",
                                            "body": {"text": "Hello there."}})
        with pytest.raises(TemplateInvalid) as caught:
            validate_edit(content, "UTILITY", "APPROVED")
        assert caught.value.field == "category"
        assert validate_edit(content, "UTILITY", "REJECTED")[0] == "MARKETING"
