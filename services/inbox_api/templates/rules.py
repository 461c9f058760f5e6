"""Meta's rules for creating and editing a template, checked before any call. Pure.

:func:`components_of` turns a draft into Meta's components (``POST /{waba_id}/message_templates``)
or raises :class:`TemplateInvalid` naming the first field that breaks a rule (the API answers 422
with that ``field``). :func:`edit_refusal` says whether Meta would take an edit now.
Facts: /work/shared/whatsapp-cloud-api.md section 8; the list is in docs/templates.md.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from services.inbox_api.templates.schemas import (
    ContentIn,
    MediaHeaderIn,
    PhoneButtonIn,
    QuickReplyIn,
    TemplateCreateIn,
    TextHeaderIn,
    UrlButtonIn,
)

NAME = re.compile(r"^[a-z0-9_]+$")
LANGUAGE = re.compile(r"^[a-z]{2,3}(_[A-Z]{2})?$")
NAMED_VARIABLE = re.compile(r"^[a-z][a-z0-9_]*$")
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")
_ANY_BRACES = re.compile(r"\{\{|\}\}")

NAME_LIMIT = 512
HEADER_LIMIT = 60
BODY_LIMIT = 1024
FOOTER_LIMIT = 60
BUTTON_TEXT_LIMIT = 25
BUTTONS_LIMIT = 10
QUICK_REPLY_LIMIT = 10
URL_BUTTON_LIMIT = 2
PHONE_BUTTON_LIMIT = 1
URL_LIMIT = 2000
PHONE_LIMIT = 20
CATEGORIES = ("MARKETING", "UTILITY")
EDITABLE = frozenset({"APPROVED", "REJECTED", "PAUSED"})
EDITS_PER_30_DAYS = 10

Format = Literal["positional", "named"]


class TemplateInvalid(ValueError):
    """A draft breaks one of Meta's rules; ``field`` names where (``body.text``, ``name``)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class Validated:
    name: str
    language: str
    category: str
    parameter_format: Format
    components: list[dict[str, Any]]


def validate_create(draft: TemplateCreateIn) -> Validated:
    """The template Meta should receive, or the first rule it breaks."""
    if not draft.name or len(draft.name) > NAME_LIMIT or not NAME.match(draft.name):
        raise TemplateInvalid("name", "A name is 1 to 512 lowercase letters, digits or _.")
    if not LANGUAGE.match(draft.language):
        raise TemplateInvalid("language", "A language is a code like en, pt_BR or en_US.")
    category = _category(draft.category, required=True)
    assert category is not None
    fmt, components = components_of(draft)
    return Validated(draft.name, draft.language, category, fmt, components)


def _category(value: str | None, *, required: bool) -> str | None:
    if value is None:
        if required:
            raise TemplateInvalid("category", "A category is MARKETING or UTILITY.")
        return None
    category = value.upper()
    if category == "AUTHENTICATION":
        raise TemplateInvalid("category", "Authentication templates use Meta's fixed one-time "
                                          "password format and cannot be created here.")
    if category not in CATEGORIES:
        raise TemplateInvalid("category", "A category is MARKETING or UTILITY.")
    return category


def validate_edit(draft: ContentIn, stored_category: str | None,
                  stored_status: str) -> tuple[str | None, Format, list[dict[str, Any]]]:
    """(category to send or None, format, components) of an edit."""
    category = _category(draft.category, required=False)
    if (category is not None and stored_status == "APPROVED" and stored_category
            and category != stored_category.upper()):
        raise TemplateInvalid("category", "An approved template's category cannot change.")
    fmt, components = components_of(draft)
    return category, fmt, components


def components_of(draft: ContentIn) -> tuple[Format, list[dict[str, Any]]]:
    """Meta's components of a draft and its parameter format; raises :class:`TemplateInvalid`."""
    header_vars = body_vars = []  # type: list[str]
    header: dict[str, Any] | None = None
    if isinstance(draft.header, TextHeaderIn):
        header_vars = _variables(draft.header.text, "header.text")
        _length(draft.header.text, HEADER_LIMIT, "header.text", minimum=1)
        if len(header_vars) > 1:
            raise TemplateInvalid("header.text", "A header has at most one variable.")
    body_vars = _variables(draft.body.text, "body.text")
    _length(draft.body.text, BODY_LIMIT, "body.text", minimum=1)
    fmt = _format(header_vars + body_vars)
    _numbering(header_vars, fmt, "header.text")
    _numbering(body_vars, fmt, "body.text")
    stripped = draft.body.text.strip()
    if body_vars and (_PLACEHOLDER.match(stripped) or _ends_with_variable(stripped)):
        raise TemplateInvalid("body.text", "The body may not start or end with a variable.")

    if isinstance(draft.header, TextHeaderIn):
        header = {"type": "HEADER", "format": "TEXT", "text": draft.header.text}
        examples = _examples(header_vars, draft.header.examples, "header.examples", "header.")
        if examples:
            header["example"] = _example_block("header", header_vars, examples, fmt,
                                               nested=False)
    elif isinstance(draft.header, MediaHeaderIn):
        if not (draft.header.example or "").strip():
            raise TemplateInvalid("header.example",
                                  "A media header needs an example (a link or upload handle).")
        header = {"type": "HEADER", "format": draft.header.format,
                  "example": {"header_handle": [draft.header.example]}}

    body: dict[str, Any] = {"type": "BODY", "text": draft.body.text}
    examples = _examples(body_vars, draft.body.examples, "body.examples", "")
    if examples:
        body["example"] = _example_block("body", body_vars, examples, fmt, nested=True)

    components: list[dict[str, Any]] = [c for c in (header, body) if c is not None]
    if draft.footer is not None:
        _length(draft.footer.text, FOOTER_LIMIT, "footer.text", minimum=1)
        if _ANY_BRACES.search(draft.footer.text):
            raise TemplateInvalid("footer.text", "A footer cannot have variables.")
        components.append({"type": "FOOTER", "text": draft.footer.text})
    if draft.buttons:
        components.append({"type": "BUTTONS", "buttons": _buttons(draft)})
    return fmt, components


def _variables(text: str, field: str) -> list[str]:
    """The variables of a text in order of first use; stray braces are an error."""
    if _ANY_BRACES.search(_PLACEHOLDER.sub("", text)):
        raise TemplateInvalid(field, "Variables are written {{1}} or {{name}}; "
                                     "there is a stray '{{' or '}}'.")
    seen: list[str] = []
    for match in _PLACEHOLDER.finditer(text):
        if match.group(1) not in seen:
            seen.append(match.group(1))
    return seen


def _format(names: Sequence[str]) -> Format:
    if all(n.isdigit() for n in names):
        return "positional"
    if any(n.isdigit() for n in names):
        raise TemplateInvalid("body.text", "Variables are either all numbered ({{1}}) or all "
                                           "named ({{first_name}}), not both.")
    return "named"


def _numbering(names: Sequence[str], fmt: Format, field: str) -> None:
    if fmt == "positional":
        numbers = sorted(int(n) for n in names)
        if numbers != list(range(1, len(numbers) + 1)) or any(n != str(int(n)) for n in names):
            raise TemplateInvalid(field, "Numbered variables run {{1}}, {{2}}, ... without "
                                         "gaps.")
        return
    for name in names:
        if not NAMED_VARIABLE.match(name):
            raise TemplateInvalid(field, f"The variable name {name!r} must be lowercase "
                                         "letters, digits and _, starting with a letter.")


def _ends_with_variable(text: str) -> bool:
    ends = [m.end() for m in _PLACEHOLDER.finditer(text)]
    return bool(ends) and ends[-1] == len(text)


def _length(text: str, limit: int, field: str, *, minimum: int = 0) -> None:
    if len(text.strip()) < minimum:
        raise TemplateInvalid(field, "This text cannot be empty.")
    if len(text) > limit:
        raise TemplateInvalid(field, f"This text is {len(text)} characters long; "
                                     f"WhatsApp allows {limit}.")


def _examples(names: Sequence[str], given: Mapping[str, str], field: str,
              prefix: str) -> dict[str, str]:
    """An example for every variable (keys as in docs/templates.md) and nothing else."""
    out: dict[str, str] = {}
    for name in names:
        value = given.get(prefix + name)
        if value is None or not value.strip():
            raise TemplateInvalid(f"{field}.{prefix}{name}",
                                  f"Give an example for {{{{{name}}}}}: Meta reviews it.")
        out[name] = value
    for key in given:
        if not key.startswith(prefix) or key[len(prefix):] not in names:
            raise TemplateInvalid(f"{field}.{key}", f"There is no variable {key!r} here.")
    return out


def _example_block(kind: str, names: Sequence[str], examples: Mapping[str, str], fmt: Format,
                   *, nested: bool) -> dict[str, Any]:
    if fmt == "named":
        return {f"{kind}_text_named_params": [{"param_name": n, "example": examples[n]}
                                              for n in names]}
    row = [examples[str(i)] for i in range(1, len(names) + 1)]
    return {f"{kind}_text": [row] if nested else row}


def _buttons(draft: ContentIn) -> list[dict[str, Any]]:
    buttons = draft.buttons
    if len(buttons) > BUTTONS_LIMIT:
        raise TemplateInvalid("buttons", f"A template has at most {BUTTONS_LIMIT} buttons.")
    kinds: list[str] = [b.type for b in buttons]
    for kind, limit in (("QUICK_REPLY", QUICK_REPLY_LIMIT), ("URL", URL_BUTTON_LIMIT),
                        ("PHONE_NUMBER", PHONE_BUTTON_LIMIT)):
        if kinds.count(kind) > limit:
            raise TemplateInvalid("buttons", f"A template has at most {limit} {kind} "
                                             "button(s).")
    quick = [i for i, k in enumerate(kinds) if k == "QUICK_REPLY"]
    if quick and quick != list(range(quick[0], quick[0] + len(quick))):
        raise TemplateInvalid("buttons", "Quick-reply buttons must be grouped together, "
                                         "before or after the other buttons.")
    out: list[dict[str, Any]] = []
    for index, button in enumerate(buttons):
        field = f"buttons.{index}"
        _length(button.text, BUTTON_TEXT_LIMIT, f"{field}.text", minimum=1)
        if isinstance(button, QuickReplyIn):
            out.append({"type": "QUICK_REPLY", "text": button.text})
        elif isinstance(button, UrlButtonIn):
            out.append(_url_button(button, field))
        else:
            assert isinstance(button, PhoneButtonIn)
            number = button.phone_number.strip()
            if not number or len(number) > PHONE_LIMIT or not re.match(r"^\+?[0-9 ()-]+$",
                                                                        number):
                raise TemplateInvalid(f"{field}.phone_number",
                                      "A phone number has at most 20 digits (with +).")
            out.append({"type": "PHONE_NUMBER", "text": button.text, "phone_number": number})
    return out


def _url_button(button: UrlButtonIn, field: str) -> dict[str, Any]:
    url = button.url.strip()
    if not url.startswith(("https://", "http://")) or len(url) > URL_LIMIT:
        raise TemplateInvalid(f"{field}.url", "A URL starts with https:// and has at most "
                                              f"{URL_LIMIT} characters.")
    names = _variables(url, f"{field}.url")
    if not names:
        if button.example:
            raise TemplateInvalid(f"{field}.example", "This URL has no variable to exemplify.")
        return {"type": "URL", "text": button.text, "url": url}
    if names != ["1"] or not re.search(r"\{\{\s*1\s*\}\}$", url):
        raise TemplateInvalid(f"{field}.url", "A URL has one variable, {{1}}, at its end.")
    if not (button.example or "").strip():
        raise TemplateInvalid(f"{field}.example", "Give an example for the URL's {{1}}.")
    prefix = _PLACEHOLDER.split(url)[0]
    return {"type": "URL", "text": button.text, "url": url,
            "example": [prefix + (button.example or "")]}


def edit_refusal(status: str, edits: Sequence[datetime], now: datetime) -> str | None:
    """Why Meta would refuse an edit now (None: allowed). ``edits`` are past edit times."""
    if status not in EDITABLE:
        return (f"A {status} template cannot be edited; only approved, rejected or paused "
                "ones can.")
    if status != "APPROVED":
        return None
    if any(now - at < timedelta(hours=24) for at in edits):
        return "An approved template can be edited once per 24 hours."
    if sum(1 for at in edits if now - at < timedelta(days=30)) >= EDITS_PER_30_DAYS:
        return "An approved template can be edited 10 times per 30 days."
    return None
