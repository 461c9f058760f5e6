"""Stored template documents -> the template API's JSON shape. Pure: ``now`` is passed in."""

from __future__ import annotations

from datetime import UTC, datetime

from services.inbox_api.templates.ports import Document
from services.inbox_api.templates.rules import edit_refusal
from services.inbox_api.templates.schemas import ParameterOut, StatusDetails, TemplateDetail
from services.inbox_api.templates.variables import body_text_of, template_parameters


def edited_times(value: object) -> list[datetime]:
    """The stored ``edited_at`` times (aware), which Meta's edit limits count."""
    if not isinstance(value, list):
        return []
    return [t.replace(tzinfo=UTC) if t.tzinfo is None else t
            for t in value if isinstance(t, datetime)]


def _aware(value: object) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def detail_view(doc: Document, now: datetime) -> TemplateDetail:
    components = [c for c in doc.get("components") or [] if isinstance(c, dict)]
    params = template_parameters(components)
    fmt = doc.get("parameter_format")
    if fmt not in ("positional", "named"):
        named = any(not p.name.isdigit() for p in params if p.component == "body")
        fmt = "named" if named else "positional"
    status = str(doc.get("status") or "UNKNOWN")
    reason = doc.get("reason")
    return TemplateDetail(
        id=str(doc["_id"]), waba_id=str(doc.get("waba_id") or ""),
        template_id=doc.get("template_id") or None, name=str(doc.get("name") or ""),
        language=str(doc.get("language") or ""), category=doc.get("category"),
        status=status, reason=None if reason in (None, "NONE") else str(reason),
        quality=doc.get("quality"), status_at=_aware(doc.get("status_at")),
        parameter_format=fmt, body_text=body_text_of(components),
        parameters=[ParameterOut(key=p.key, component=p.component,
                                 example=p.example, max_length=p.max_length) for p in params],
        components=components,
        editable=edit_refusal(status, edited_times(doc.get("edited_at")), now) is None,
        status_details=status_details(doc.get("status_details"), status, reason),
        synced=bool(components))


# Meta's events that leave the status APPROVED (conversation_store templates.STILL_APPROVED).
_STILL_APPROVED = frozenset({"REINSTATED", "UNARCHIVED", "FLAGGED"})


def _fields(value: object) -> dict[str, object]:
    return dict(value) if isinstance(value, dict) else {}


def status_details(value: object, status: str, reason: object) -> StatusDetails | None:
    """Meta's details stored with the last status webhook, while that status is current (a
    later sync or edit that changed the status makes them stale)."""
    details = _fields(value)
    event = str(details.pop("event", "") or "").upper()
    if not event or ("APPROVED" if event in _STILL_APPROVED else event) != status.upper():
        return None
    rejection = _fields(details.pop("rejection_info", None))
    other = _fields(details.pop("other_info", None))
    disable = _fields(details.pop("disable_info", None))
    shown = rejection.get("reason") or (reason if reason not in (None, "NONE") else None)
    if not (rejection or other or disable or details or shown):
        return None

    def text(v: object) -> str | None:
        return str(v) if v not in (None, "") else None

    return StatusDetails(event=event, reason=text(shown),
                         recommendation=text(rejection.get("recommendation")),
                         title=text(other.get("title")),
                         description=text(other.get("description")),
                         disable_date=text(disable.get("disable_date")), other=details)
