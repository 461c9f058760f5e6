"""A template rendered the way WhatsApp shows it: variables filled, formatting as spans. Pure.

WhatsApp's formatting: ``*bold*``, ``_italic_``, ``~strike~`` and ```` ```mono``` ````. A marker
pair formats only when it wraps text that neither starts nor ends with a space, the opening
marker is not glued to a letter or digit before it and the closing one not to one after it
(``2*3*4`` stays as typed). Markers nest (``*_both_*``); nothing is formatted inside mono.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from services.inbox_api.templates.schemas import (
    ButtonPreview,
    ContentIn,
    FooterPreview,
    HeaderPreview,
    MediaHeaderIn,
    PhoneButtonIn,
    Preview,
    Span,
    TextHeaderIn,
    TextPart,
    UrlButtonIn,
)
from services.inbox_api.templates.variables import MEDIA_FORMATS, template_parameters

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")
_MARKERS = {"*": "bold", "_": "italic", "~": "strike"}
MONO = "```"


@dataclass(frozen=True, slots=True)
class _Style:
    bold: bool = False
    italic: bool = False
    strike: bool = False
    mono: bool = False


def spans(text: str) -> list[Span]:
    """The text as WhatsApp formats it, in runs of one style (markers removed)."""
    out: list[Span] = []
    _parse(text, _Style(), out)
    merged: list[Span] = []
    for span in out:
        if merged and _same_style(merged[-1], span):
            merged[-1] = merged[-1].model_copy(update={"text": merged[-1].text + span.text})
        elif span.text:
            merged.append(span)
    return merged


def _same_style(a: Span, b: Span) -> bool:
    return (a.bold, a.italic, a.strike, a.mono) == (b.bold, b.italic, b.strike, b.mono)


def _parse(text: str, style: _Style, out: list[Span]) -> None:
    plain_start = i = 0
    while i < len(text):
        marker = MONO if text.startswith(MONO, i) else text[i] if text[i] in _MARKERS else None
        if marker is not None and _may_open(text, i):
            end = _closing(text, i, marker)
            if end is not None:
                _emit(text[plain_start:i], style, out)
                inner = text[i + len(marker):end]
                if marker == MONO:
                    _emit(inner, replace(style, mono=True), out)
                else:
                    _parse(inner, replace(style, **{_MARKERS[marker]: True}), out)
                i = plain_start = end + len(marker)
                continue
        i += 1
    _emit(text[plain_start:], style, out)


def _may_open(text: str, i: int) -> bool:
    return i == 0 or not text[i - 1].isalnum()


def _closing(text: str, start: int, marker: str) -> int | None:
    """Where the pair opened at ``start`` closes, if it is a valid pair."""
    inner_start = start + len(marker)
    end = text.find(marker, inner_start)
    while end != -1:
        inner = text[inner_start:end]
        after = end + len(marker)
        if (inner and not inner[0].isspace() and not inner[-1].isspace()
                and "\n" not in inner and (after >= len(text) or not text[after].isalnum())):
            return end
        end = text.find(marker, end + 1)
    return None


def _emit(text: str, style: _Style, out: list[Span]) -> None:
    if text:
        out.append(Span(text=text, bold=style.bold, italic=style.italic, strike=style.strike,
                        mono=style.mono))


def _plain(parts: Sequence[Span]) -> str:
    return "".join(p.text for p in parts)


def _fill(text: str, values: Mapping[str, str], prefix: str, missing: list[str]) -> str:
    def one(match: re.Match[str]) -> str:
        key = prefix + match.group(1)
        value = values.get(key)
        if value is None or not value.strip():
            if key not in missing:
                missing.append(key)
            return match.group(0)
        return value

    return _PLACEHOLDER.sub(one, text)


def _text_part(text: str) -> TextPart:
    parts = spans(text)
    return TextPart(text=_plain(parts), spans=parts)


def render(components: Sequence[Any], values: Mapping[str, str] | None = None) -> Preview:
    """A stored template (Meta's components) with ``values`` (default: its examples)."""
    if values is None:
        values = {p.key: p.example for p in template_parameters(components)
                  if p.example is not None}
    missing: list[str] = []
    header: HeaderPreview | None = None
    body, footer_text = _text_part(""), None
    buttons: list[ButtonPreview] = []
    for component in components:
        if not isinstance(component, Mapping):
            continue
        kind = str(component.get("type", "")).upper()
        if kind == "HEADER":
            fmt = str(component.get("format") or "TEXT").upper()
            if fmt == "TEXT":
                part = _text_part(_fill(str(component.get("text") or ""), values, "header.",
                                        missing))
                header = HeaderPreview(format=fmt, text=part.text, spans=part.spans)
            else:
                header = HeaderPreview(format=fmt, media=_media(fmt, values, missing))
        elif kind == "BODY":
            body = _text_part(_fill(str(component.get("text") or ""), values, "", missing))
        elif kind == "FOOTER":
            footer_text = str(component.get("text") or "")
        elif kind == "BUTTONS":
            for index, button in enumerate(component.get("buttons") or []):
                if isinstance(button, Mapping):
                    buttons.append(_button(index, button, values, missing))
    return Preview(header=header, body=body,
                   footer=FooterPreview(text=footer_text) if footer_text is not None else None,
                   buttons=buttons, missing=missing)


def _media(fmt: str, values: Mapping[str, str], missing: list[str]) -> str | None:
    if fmt not in MEDIA_FORMATS:
        return None  # a location is given at send time
    key = f"header.{fmt.lower()}"
    if not values.get(key):
        missing.append(key)
        return None
    return values[key]


def _button(index: int, button: Mapping[str, Any], values: Mapping[str, str],
            missing: list[str]) -> ButtonPreview:
    kind = str(button.get("type") or "").upper()
    url = button.get("url")
    if kind == "URL" and isinstance(url, str):
        url = _PLACEHOLDER.sub(lambda m: values.get(f"button.{index}") or _missing(
            f"button.{index}", m.group(0), missing), url)
    return ButtonPreview(type=kind, text=str(button.get("text") or ""),
                         url=url if isinstance(url, str) else None,
                         phone_number=button.get("phone_number"))


def _missing(key: str, shown: str, missing: list[str]) -> str:
    if key not in missing:
        missing.append(key)
    return shown


def draft_components(draft: ContentIn) -> list[dict[str, Any]]:
    """A draft in Meta's component shape, unchecked (a preview shows drafts being written)."""
    out: list[dict[str, Any]] = []
    if isinstance(draft.header, TextHeaderIn):
        out.append({"type": "HEADER", "format": "TEXT", "text": draft.header.text})
    elif isinstance(draft.header, MediaHeaderIn):
        out.append({"type": "HEADER", "format": draft.header.format})
    out.append({"type": "BODY", "text": draft.body.text})
    if draft.footer is not None:
        out.append({"type": "FOOTER", "text": draft.footer.text})
    buttons: list[dict[str, Any]] = []
    for button in draft.buttons:
        item: dict[str, Any] = {"type": button.type, "text": button.text}
        if isinstance(button, UrlButtonIn):
            item["url"] = button.url
        elif isinstance(button, PhoneButtonIn):
            item["phone_number"] = button.phone_number
        buttons.append(item)
    if buttons:
        out.append({"type": "BUTTONS", "buttons": buttons})
    return out


def draft_examples(draft: ContentIn) -> dict[str, str]:
    """A draft's examples under the send keys (``"1"``, ``"header.1"``, ``"button.0"``)."""
    values: dict[str, str] = dict(draft.body.examples)
    if isinstance(draft.header, TextHeaderIn):
        values.update(draft.header.examples)
    elif isinstance(draft.header, MediaHeaderIn) and draft.header.example:
        values[f"header.{draft.header.format.lower()}"] = draft.header.example
    for index, button in enumerate(draft.buttons):
        if isinstance(button, UrlButtonIn) and button.example:
            values[f"button.{index}"] = button.example
    return values
