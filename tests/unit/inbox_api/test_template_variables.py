"""Send-time variables against every component: missing, extra, too long -> the variable named."""

from __future__ import annotations

from typing import Any

import pytest

from services.inbox_api.templates.variables import (
    TemplateVariablesError,
    fill_components,
    template_parameters,
)

FULL: list[dict[str, Any]] = [
    {"type": "HEADER", "format": "TEXT", "text": "Order {{1}}"},
    {"type": "BODY", "text": "Hi {{1}}, order {{2}}."},
    {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "Ok"},
                                    {"type": "URL", "text": "Go", "url": "https://x.co/{{1}}"}]},
]
NAMED: list[dict[str, Any]] = [
    {"type": "HEADER", "format": "IMAGE", "example": {"header_handle": ["h"]}},
    {"type": "BODY", "text": "Hi {{first_name}}!",
     "example": {"body_text_named_params": [{"param_name": "first_name", "example": "Ana"}]}},
]
VALUES = {"header.1": "A-1", "1": "Ana", "2": "A-1", "button.1": "A-1"}


def refused(components: list[dict[str, Any]], variables: dict[str, str]) -> str:
    with pytest.raises(TemplateVariablesError) as caught:
        fill_components(components, variables)
    return caught.value.variable


class TestParameters:
    def test_every_component_in_metas_order(self) -> None:
        assert [(p.key, p.component) for p in template_parameters(FULL)] == [
            ("header.1", "header"), ("1", "body"), ("2", "body"), ("button.1", "button")]

    def test_named_and_media_with_examples(self) -> None:
        assert [(p.key, p.example) for p in template_parameters(NAMED)] == [
            ("header.image", "h"), ("first_name", "Ana")]


class TestFill:
    def test_builds_metas_send_components(self) -> None:
        filled = fill_components(FULL, VALUES)
        assert [c.model_dump(exclude_none=True) for c in filled.components] == [
            {"type": "header", "parameters": [{"type": "text", "text": "A-1"}]},
            {"type": "body", "parameters": [{"type": "text", "text": "Ana"},
                                            {"type": "text", "text": "A-1"}]},
            {"type": "button", "sub_type": "url", "index": 1,
             "parameters": [{"type": "text", "text": "A-1"}]}]
        assert filled.rendered_text == "Hi Ana, order A-1."

    def test_named_parameters_and_a_media_link(self) -> None:
        filled = fill_components(NAMED, {"header.image": "https://x.co/a.png",
                                         "first_name": "Bo"})
        header, body = filled.components
        assert header.parameters == [{"type": "image", "image": {"link": "https://x.co/a.png"}}]
        assert body.parameters == [{"type": "text", "text": "Bo", "parameter_name": "first_name"}]

    def test_a_media_id_is_sent_as_id(self) -> None:
        filled = fill_components(NAMED, {"header.image": "12345", "first_name": "Bo"})
        assert filled.components[0].parameters[0] == {"type": "image", "image": {"id": "12345"}}

    @pytest.mark.parametrize(("drop", "key"), [("header.1", "header.1"), ("2", "2"),
                                               ("button.1", "button.1")])
    def test_a_missing_variable_is_named(self, drop: str, key: str) -> None:
        assert refused(FULL, {k: v for k, v in VALUES.items() if k != drop}) == key

    def test_an_extra_variable_is_named(self) -> None:
        assert refused(FULL, {**VALUES, "3": "x"}) == "3"

    def test_too_long_for_metas_limits(self) -> None:
        assert refused(FULL, {**VALUES, "header.1": "x" * 61}) == "header.1"
        assert refused(FULL, {**VALUES, "2": "x" * 1025}) == "2"
        assert refused(FULL, {**VALUES, "button.1": "x" * 2001}) == "button.1"

    def test_unsynced_template_passes_variables_through(self) -> None:
        filled = fill_components([], {"1": "a"})
        assert filled.components[0].parameters == [{"type": "text", "text": "a"}]
