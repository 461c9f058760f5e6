"""A template's variables -> Meta's send components and the text the thread shows. Pure.

Templates name their variables positionally (``{{1}}``) or by name (``{{first_name}}``), in the
header, the body and URL buttons. Keys are flat strings (docs/templates.md): ``"1"`` or
``"first_name"`` for the body, ``"header.1"`` / ``"header.image"`` for the header, ``"button.0"``
for a URL button's suffix. Every variable must be given, within Meta's length limits, and nothing
else, so the sender learns about a typo here (422 naming the variable) rather than from Meta's
error 132000 later. :func:`fill_components` is the full check; :func:`fill` the body-only one.
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


# -- every component: header, body, buttons -----------------------------------------------------

# Meta's per-parameter limits at send time: a header's text is at most 60 characters, a body
# parameter at most 1024 (the body's own limit), a URL button's suffix at most 2000 (a URL's).
HEADER_TEXT_LIMIT = 60
BODY_PARAMETER_LIMIT = 1024
URL_SUFFIX_LIMIT = 2000
MEDIA_FORMATS = frozenset({"IMAGE", "VIDEO", "DOCUMENT"})
MEDIA_KEYS = frozenset(f.lower() for f in MEDIA_FORMATS)


@dataclass(frozen=True, slots=True)
class TemplateParameter:
    """One variable a send must fill: its key (``"1"``, ``"first_name"``, ``"header.1"``,
    ``"header.image"``, ``"button.0"``), where it goes, its example and its length limit."""

    key: str
    component: str  # "header" | "body" | "button"
    example: str | None
    max_length: int
    name: str  # the name inside the component ("1", "first_name", "image")
    button_index: int | None = None


def _upper(value: object) -> str:
    return str(value or "").upper()


def _component(components: Sequence[Any], kind: str) -> Mapping[str, Any] | None:
    for component in components:
        if isinstance(component, Mapping) and _upper(component.get("type")) == kind:
            return component
    return None


def _examples(component: Mapping[str, Any], prefix: str) -> dict[str, str]:
    """The examples Meta keeps on a HEADER or BODY component, by variable name."""
    example = component.get("example")
    if not isinstance(example, Mapping):
        return {}
    out: dict[str, str] = {}
    for item in example.get(f"{prefix}_text_named_params") or []:
        if isinstance(item, Mapping) and item.get("param_name") is not None:
            out[str(item["param_name"])] = str(item.get("example", ""))
    positional = example.get(f"{prefix}_text")
    if isinstance(positional, list) and positional:
        row = positional[0] if isinstance(positional[0], list) else positional
        for number, value in enumerate(row, start=1):
            out[str(number)] = str(value)
    return out


def template_parameters(components: Sequence[Any]) -> list[TemplateParameter]:
    """Every variable of a template in Meta's component order: header, body, buttons."""
    params: list[TemplateParameter] = []
    header = _component(components, "HEADER")
    if header is not None:
        fmt = _upper(header.get("format")) or "TEXT"
        if fmt == "TEXT":
            examples = _examples(header, "header")
            for name in parameter_keys(str(header.get("text") or "")):
                params.append(TemplateParameter(f"header.{name}", "header", examples.get(name),
                                                HEADER_TEXT_LIMIT, name))
        elif fmt in MEDIA_FORMATS:
            handles = (header.get("example") or {}).get("header_handle") \
                if isinstance(header.get("example"), Mapping) else None
            example = str(handles[0]) if isinstance(handles, list) and handles else None
            params.append(TemplateParameter(f"header.{fmt.lower()}", "header", example,
                                            URL_SUFFIX_LIMIT, fmt.lower()))
    body = _component(components, "BODY")
    if body is not None:
        examples = _examples(body, "body")
        for name in parameter_keys(str(body.get("text") or "")):
            params.append(TemplateParameter(name, "body", examples.get(name),
                                            BODY_PARAMETER_LIMIT, name))
    buttons = _component(components, "BUTTONS")
    for index, button in enumerate((buttons or {}).get("buttons") or []):
        if not isinstance(button, Mapping) or _upper(button.get("type")) != "URL":
            continue
        url = str(button.get("url") or "")
        if not _PLACEHOLDER.search(url):
            continue
        params.append(TemplateParameter(f"button.{index}", "button",
                                        url_suffix_example(url, button.get("example")),
                                        URL_SUFFIX_LIMIT, "1", button_index=index))
    return params


def url_suffix_example(url: str, example: object) -> str | None:
    """The suffix example of a URL button: Meta keeps a whole example URL."""
    full = example[0] if isinstance(example, list) and example else example
    if not isinstance(full, str):
        return None
    prefix = _PLACEHOLDER.split(url)[0]
    return full[len(prefix):] if full.startswith(prefix) else full


def fill_components(components: Sequence[Any], variables: Mapping[str, str]) -> FilledTemplate:
    """Meta's send components for every variable of the template, and the body as rendered.

    Raises :class:`TemplateVariablesError` for a missing, blank, unknown or too long variable.
    A template whose components are not known yet (not synced) gets the variables as body
    parameters, as :func:`fill` does.
    """
    if not components:
        return fill("", variables)
    params = template_parameters(components)
    keys = {p.key for p in params}
    for param in params:
        value = variables.get(param.key)
        if value is None or not value.strip():
            raise TemplateVariablesError(
                param.key, f"The template needs a value for {_label(param)}.")
        if len(value) > param.max_length:
            raise TemplateVariablesError(
                param.key, f"The value for {_label(param)} is {len(value)} characters long; "
                           f"WhatsApp allows {param.max_length}.")
    for key in variables:
        if key not in keys:
            raise TemplateVariablesError(key, f"The template has no variable {key!r}.")
    named = any(not p.name.isdigit() for p in params
                if p.component == "body" or (p.component == "header" and
                                             p.name not in MEDIA_KEYS))
    out: list[TemplateComponent] = []
    header = [p for p in params if p.component == "header"]
    if header:
        out.append(TemplateComponent(type="header", parameters=[
            _header_parameter(p, variables[p.key], named) for p in header]))
    body = [p for p in params if p.component == "body"]
    if body:
        out.append(TemplateComponent(type="body", parameters=[
            _text_parameter(p.name, variables[p.key], named) for p in body]))
    for p in params:
        if p.component == "button":
            out.append(TemplateComponent(type="button", sub_type="url", index=p.button_index,
                                         parameters=[{"type": "text", "text": variables[p.key]}]))
    body_component = _component(components, "BODY")
    body_text = str((body_component or {}).get("text") or "")
    rendered = _PLACEHOLDER.sub(lambda m: variables.get(m.group(1), m.group(0)), body_text)
    return FilledTemplate(out, rendered or None)


def _label(param: TemplateParameter) -> str:
    if param.component == "body":
        return f"{{{{{param.name}}}}}"
    if param.component == "button":
        return f"the URL of button {param.button_index}"
    return f"the header's {{{{{param.name}}}}}" if param.name not in MEDIA_KEYS \
        else f"the header's {param.name}"



def _text_parameter(name: str, value: str, named: bool) -> dict[str, Any]:
    parameter: dict[str, Any] = {"type": "text", "text": value}
    if named:
        parameter["parameter_name"] = name
    return parameter


def _header_parameter(param: TemplateParameter, value: str, named: bool) -> dict[str, Any]:
    if param.name in MEDIA_KEYS:
        # A link is fetched by Meta; anything else is an uploaded media id.
        media = {"link": value} if value.startswith(("https://", "http://")) else {"id": value}
        return {"type": param.name, param.name: media}
    return _text_parameter(param.name, value, named)
