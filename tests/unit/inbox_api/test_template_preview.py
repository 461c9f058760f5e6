"""Previews as WhatsApp shows them: variables filled, formatting turned into spans."""

from __future__ import annotations

from typing import Any, ClassVar

from services.inbox_api.templates.preview import render, spans
from services.inbox_api.templates.schemas import PreviewDraftIn, Span
from services.inbox_api.templates.service import TemplateAdmin


def styles(text: str) -> list[tuple[str, str]]:
    out = []
    for span in spans(text):
        flags = "".join(f for f, on in (("b", span.bold), ("i", span.italic),
                                         ("s", span.strike), ("m", span.mono)) if on)
        out.append((span.text, flags))
    return out


class TestFormatting:
    def test_each_marker(self) -> None:
        assert styles("a *b* _c_ ~d~ ```e```") == [
            ("a ", ""), ("b", "b"), (" ", ""), ("c", "i"), (" ", ""), ("d", "s"), (" ", ""),
            ("e", "m")]

    def test_markers_nest_but_not_inside_mono(self) -> None:
        assert styles("*_both_*") == [("both", "bi")]
        assert styles("```*raw*```") == [("*raw*", "m")]

    def test_markers_that_do_not_wrap_text_stay_as_typed(self) -> None:
        assert styles("2*3*4 and * x * and **") == [("2*3*4 and * x * and **", "")]
        assert styles("snake_case_name") == [("snake_case_name", "")]

    def test_a_pair_does_not_span_lines(self) -> None:
        assert styles("*a\nb*") == [("*a\nb*", "")]


class TestRender:
    COMPONENTS: ClassVar[list[dict[str, Any]]] = [
        {"type": "HEADER", "format": "TEXT", "text": "Order {{1}}",
         "example": {"header_text": ["A-0"]}},
        {"type": "BODY", "text": "Hi *{{1}}*, total {{2}}.",
         "example": {"body_text": [["Ana", "$5"]]}},
        {"type": "FOOTER", "text": "Shop"},
        {"type": "BUTTONS", "buttons": [
            {"type": "URL", "text": "Track", "url": "https://x.co/{{1}}",
             "example": ["https://x.co/abc"]},
            {"type": "PHONE_NUMBER", "text": "Call", "phone_number": "+1555"}]},
    ]

    def test_fills_values_and_formats(self) -> None:
        preview = render(self.COMPONENTS, {"header.1": "A-9", "1": "Bo", "2": "$7",
                                           "button.0": "zz"})
        assert preview.header is not None
        assert preview.header.text == "Order A-9"
        assert preview.body.text == "Hi Bo, total $7."
        assert Span(text="Bo", bold=True) in preview.body.spans
        assert preview.footer is not None
        assert preview.footer.text == "Shop"
        assert [b.url for b in preview.buttons] == ["https://x.co/zz", None]
        assert preview.missing == []

    def test_defaults_to_the_examples(self) -> None:
        preview = render(self.COMPONENTS)
        assert preview.body.text == "Hi Ana, total $5."
        assert preview.buttons[0].url == "https://x.co/abc"

    def test_missing_values_show_the_placeholder(self) -> None:
        preview = render(self.COMPONENTS, {"1": "Bo"})
        assert preview.body.text == "Hi Bo, total {{2}}."
        assert preview.missing == ["header.1", "2", "button.0"]

    def test_a_draft_renders_with_its_examples(self) -> None:
        draft = PreviewDraftIn.model_validate({
            "header": {"format": "IMAGE", "example": "https://x.co/a.png"},
            "body": {"text": "Hi {{name}}!", "examples": {"name": "Ana"}}})
        preview = TemplateAdmin.preview_draft(draft)
        assert preview.header is not None
        assert preview.header.media == "https://x.co/a.png"
        assert preview.body.text == "Hi Ana!"
