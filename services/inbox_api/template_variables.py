"""A template's variables -> Meta's send components and the text the thread shows. Pure.

Templates name their body variables positionally (``{{1}}``) or by name (``{{first_name}}``).
Every variable of the body must be given and nothing else, so the agent learns about a typo here
(422 naming the variable) rather than from Meta's error 132000 later.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shared.events import TemplateComponent

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")


class TemplateVariablesError(ValueError):
    """A variable is missing or unknown; ``variable`` names it."""

    def __init__(self, variable: str, message: str) -> None:
        super().__init__(message)
        self.variable = variable


@dataclass(frozen=True, slots=True)
class FilledTemplate:
    components: list[TemplateComponent]
    rendered_text: str | None


def body_text_of(components: Sequence[Any]) -> str:
    """The BODY component's text in Meta's template definition ("" when not synced yet)."""
    for component in components:
        if isinstance(component, Mapping) and str(component.get("type", "")).upper() == "BODY":
            text = component.get("text")
            return text if isinstance(text, str) else ""
    return ""


def parameter_keys(body_text: str) -> list[str]:
    """The body's variables in Meta's parameter order: numbers ascending, else first use."""
    seen: list[str] = []
    for match in _PLACEHOLDER.finditer(body_text):
        if match.group(1) not in seen:
            seen.append(match.group(1))
    if seen and all(k.isdigit() for k in seen):
        seen.sort(key=int)
    return seen


def fill(body_text: str, variables: Mapping[str, str]) -> FilledTemplate:
    """Components for the send and the rendered text; raises for a missing or extra variable.

    A template whose body is not known yet (not synced) gets the variables as given, in key
    order: the caller knows the template better than we do, and Meta checks the count.
    """
    keys = parameter_keys(body_text)
    if not body_text:
        ordered = sorted(variables, key=lambda k: (not k.isdigit(), int(k) if k.isdigit() else 0,
                                                   k))
        return FilledTemplate(_body(ordered, variables), None)
    for key in keys:
        value = variables.get(key)
        if value is None or not value.strip():
            raise TemplateVariablesError(key, f"The template needs a value for {{{{{key}}}}}.")
    for key in variables:
        if key not in keys:
            raise TemplateVariablesError(key, f"The template has no variable {{{{{key}}}}}.")
    rendered = _PLACEHOLDER.sub(lambda m: variables[m.group(1)], body_text)
    return FilledTemplate(_body(keys, variables), rendered)


def _body(keys: Sequence[str], variables: Mapping[str, str]) -> list[TemplateComponent]:
    if not keys:
        return []
    parameters: list[dict[str, Any]] = []
    for key in keys:
        parameter: dict[str, Any] = {"type": "text", "text": variables[key]}
        if not key.isdigit():
            parameter["parameter_name"] = key
        parameters.append(parameter)
    return [TemplateComponent(type="body", parameters=parameters)]
