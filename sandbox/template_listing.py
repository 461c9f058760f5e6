"""``GET /{version}/{waba_id}/message_templates`` as Meta answers it. Pure: no I/O.

- Each template: ``id``, ``name``, ``language``, ``status``, ``category``, ``components``,
  ``parameter_format``, ``quality_score{score, date}``, and ``rejected_reason`` once rejected.
- ``fields=a,b{...},c``: only those fields, plus ``id`` (Graph always answers it); nested
  selections (``{...}``) and modifiers (``.limit(5)``) are read as the whole field, and fields the
  sandbox does not hold are left out (Meta errors on names it does not know; the sandbox does not
  keep Meta's whole field list).
- Filters: ``status``, ``category``, ``language``, ``quality_score`` (each a comma-separated
  list), ``name`` (part of the name), ``content`` (part of the body), ``name_or_content``.
- ``summary=total_count,message_template_count,message_template_limit,are_translations_complete``
  (or ``summary=true`` for all four): ``total_count`` counts what the filters match,
  ``message_template_count`` the account's templates.
- Paging: ``limit``, base64 ``after``/``before`` cursors; ``paging.next``/``previous`` repeat the
  request's other parameters, as Meta's links do.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from sandbox.catalog import TemplateSpec
from sandbox.errors import CloudApiError

MAX_LIMIT = 1000
# quality_score.date of a template the sandbox knows no scoring time for (2026-01-01 UTC).
SCORE_EPOCH = 1_767_225_600
TEMPLATE_LIMIT = 250  # per WABA (6,000 once the portfolio is verified; the sandbox's are not)
SUMMARY_FIELDS = ("total_count", "message_template_count", "message_template_limit",
                  "are_translations_complete")
_FIELD_NAME = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)")
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")


@dataclass(frozen=True, slots=True)
class ListingQuery:
    """What a listing request asks for (the query string, read)."""

    limit: int = 25
    after: str | None = None
    before: str | None = None
    fields: frozenset[str] | None = None  # None: every field
    summary: tuple[str, ...] = ()
    filters: tuple[Callable[[TemplateSpec], bool], ...] = ()

    @classmethod
    def of(cls, params: Mapping[str, str], *, default_limit: int) -> ListingQuery:
        filters: list[Callable[[TemplateSpec], bool]] = []
        for key, attribute in (("status", "status"), ("category", "category"),
                               ("language", "language"), ("quality_score", "quality")):
            wanted = _values(params.get(key))
            if wanted:
                filters.append(_one_of(attribute, wanted, upper=key != "language"))
        for key, parts in (("name", ("name",)), ("content", ("body_text",)),
                           ("name_or_content", ("name", "body_text"))):
            text = params.get(key)
            if text:
                filters.append(_containing(text, parts))
        return cls(limit=_limit(params.get("limit"), default_limit),
                   after=params.get("after"), before=params.get("before"),
                   fields=parse_fields(params["fields"]) if params.get("fields") else None,
                   summary=parse_summary(params.get("summary")), filters=tuple(filters))

    def matches(self, spec: TemplateSpec) -> bool:
        return all(accepts(spec) for accepts in self.filters)


def template_json(spec: TemplateSpec, *, quality_date: int | None = None) -> dict[str, Any]:
    """A template as Meta's listing (and ``GET /{template_id}``) shows it: every field the
    sandbox holds. ``quality_date``: when the score was set; by default the template's last edit,
    else :data:`SCORE_EPOCH`."""
    if quality_date is None:
        quality_date = int(max(spec.edited_at, default=SCORE_EPOCH))
    out: dict[str, Any] = {
        "id": spec.template_id, "name": spec.name, "language": spec.language,
        "status": spec.status, "category": spec.category,
        "components": [_with_example(c, spec.parameter_format) for c in spec.components],
        "parameter_format": spec.parameter_format.upper(),
        "quality_score": {"score": spec.quality, "date": quality_date}}
    if spec.rejected_reason is not None:
        out["rejected_reason"] = spec.rejected_reason
    return out


def _with_example(component: Mapping[str, Any], parameter_format: str) -> dict[str, Any]:
    """A BODY or text HEADER with variables shows example values, as Meta's do (Meta requires
    them at creation; the sandbox's configured templates may have none)."""
    out = dict(component)
    kind = str(out.get("type", "")).upper()
    text = out.get("text")
    if "example" in out or kind not in ("BODY", "HEADER") or not isinstance(text, str):
        return out
    names = list(dict.fromkeys(m.group(1) for m in _PLACEHOLDER.finditer(text)))
    if not names:
        return out
    prefix = kind.lower()
    if parameter_format.lower() == "named":
        out["example"] = {f"{prefix}_text_named_params": [
            {"param_name": n, "example": f"Sample {n}"} for n in names]}
    elif kind == "BODY":
        out["example"] = {"body_text": [[f"Sample {n}" for n in names]]}
    else:
        out["example"] = {"header_text": [f"Sample {n}" for n in names]}
    return out


def select(item: Mapping[str, Any], fields: frozenset[str] | None) -> dict[str, Any]:
    """Only the asked ``fields`` of ``item``, and its ``id``."""
    if fields is None:
        return dict(item)
    return {k: v for k, v in item.items() if k == "id" or k in fields}


def parse_fields(text: str) -> frozenset[str]:
    """The top-level names of a Graph ``fields`` list (``a,b{c,d},e.limit(2)`` -> a, b, e)."""
    names: set[str] = set()
    depth = 0
    start = 0
    for i, ch in enumerate(text + ","):
        if ch in "{(":
            depth += 1
        elif ch in "})":
            depth = max(0, depth - 1)
        elif ch == "," and depth == 0:
            found = _FIELD_NAME.match(text[start:i])
            if found:
                names.add(found.group(1))
            start = i + 1
    return frozenset(names)


def parse_summary(text: str | None) -> tuple[str, ...]:
    if not text:
        return ()
    if text.strip().lower() == "true":
        return SUMMARY_FIELDS
    asked = {part.strip() for part in text.split(",")}
    return tuple(f for f in SUMMARY_FIELDS if f in asked)


def summary(asked: Sequence[str], *, total: int, account_templates: int) -> dict[str, Any]:
    values: dict[str, Any] = {"total_count": total, "message_template_count": account_templates,
                              "message_template_limit": TEMPLATE_LIMIT,
                              "are_translations_complete": True}
    return {k: values[k] for k in asked}


def encode_cursor(index: int) -> str:
    return base64.urlsafe_b64encode(f"i:{index}".encode()).decode()


def decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
        if not text.startswith("i:"):
            raise ValueError(cursor)
        return int(text[2:])
    except ValueError:
        raise CloudApiError(100, "Invalid cursor.") from None


def page(items: Sequence[dict[str, Any]], limit: int, after: str | None,
         before: str | None, url: str, query: Mapping[str, str] | None = None,
         ) -> dict[str, Any]:
    """One page of a listing in Meta's shape: ``{"data": [...], "paging": {...}}``.

    ``query``: the request's other parameters, repeated in the ``next``/``previous`` links.
    """
    limit = max(1, min(limit, MAX_LIMIT))
    if before is not None:
        end = decode_cursor(before)
        start = max(0, end - limit)
    else:
        start = decode_cursor(after) + 1 if after is not None else 0
        end = start + limit
    chunk = list(items[start:end])
    out: dict[str, Any] = {"data": chunk}
    if chunk:
        last = start + len(chunk) - 1
        kept = {k: v for k, v in (query or {}).items() if k not in ("limit", "after", "before")}
        out["paging"] = {"cursors": {"before": encode_cursor(start),
                                     "after": encode_cursor(last)}}
        if last + 1 < len(items):
            out["paging"]["next"] = _link(url, kept, limit, after=encode_cursor(last))
        if start > 0:
            out["paging"]["previous"] = _link(url, kept, limit, before=encode_cursor(start))
    return out


def _link(url: str, kept: Mapping[str, str], limit: int, **cursor: str) -> str:
    return f"{url}?{urlencode({**kept, 'limit': limit, **cursor})}"


def _limit(text: str | None, default: int) -> int:
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        raise CloudApiError(100, "Param limit must be an integer.") from None
    if not 1 <= value <= MAX_LIMIT:
        raise CloudApiError(100, f"Param limit must be between 1 and {MAX_LIMIT}.")
    return value


def _values(text: str | None) -> frozenset[str]:
    return frozenset(p.strip() for p in (text or "").split(",") if p.strip())


def _one_of(attribute: str, wanted: frozenset[str], *,
            upper: bool) -> Callable[[TemplateSpec], bool]:
    allowed = frozenset(w.upper() for w in wanted) if upper else wanted

    def accepts(spec: TemplateSpec) -> bool:
        value = str(getattr(spec, attribute))
        return (value.upper() if upper else value) in allowed
    return accepts


def _containing(text: str, attributes: tuple[str, ...]) -> Callable[[TemplateSpec], bool]:
    needle = text.lower()

    def accepts(spec: TemplateSpec) -> bool:
        return any(needle in str(getattr(spec, a)).lower() for a in attributes)
    return accepts
