"""Meta's template webhooks: ``message_template_status_update`` and ``..._quality_update``. Pure.

``message_template_status_update`` value: ``event``, ``message_template_id`` (a number),
``message_template_name``, ``message_template_language``, ``reason`` (``NONE`` unless rejected;
null for ``PENDING_DELETION``), ``message_template_category``, and per event:

- ``PAUSED``: ``other_info{title: FIRST_PAUSE | SECOND_PAUSE | RATE_LIMITING_PAUSE, description}``;
- ``DISABLED``: ``disable_info{disable_date}`` and ``other_info{title: DISABLED, description}``;
- back to sendable after a pause (``REINSTATED``, ``APPROVED``, ...): ``other_info{title:
  UNPAUSE, description}``;
- ``REJECTED`` with ``INVALID_FORMAT``: ``rejection_info{reason, recommendation}`` (Meta sends the
  details for that reason only).

``message_template_components_update`` (:func:`components_webhook`) tells the template's new
content after a change.

``entry[].time`` is the sandbox clock's Unix time, as an integer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sandbox.catalog import TemplateSpec

PAUSE_HOURS = {"FIRST_PAUSE": 3, "SECOND_PAUSE": 6}
LINK_BUTTONS = frozenset({"URL", "PHONE_NUMBER"})
DETAILED_REJECTION = "INVALID_FORMAT"


@dataclass(frozen=True, slots=True)
class OtherInfo:
    """``other_info`` of a pause, unpause or disable event."""

    title: str
    description: str

    def json(self) -> dict[str, str]:
        return {"title": self.title, "description": self.description}


def pause_info(pauses_before: int, at: int, title: str | None = None) -> OtherInfo:
    """A pause's ``other_info``: the first pauses for 3 h, the next ones for 6 h (Meta's pacing)."""
    title = title or ("FIRST_PAUSE" if pauses_before == 0 else "SECOND_PAUSE")
    hours = PAUSE_HOURS.get(title)
    if hours is None:
        return OtherInfo(title, "Your WhatsApp message template has been paused.")
    until = datetime.fromtimestamp(at, UTC) + timedelta(hours=hours)
    why = "it had issues" if title == "FIRST_PAUSE" else "it continued to have issues"
    return OtherInfo(title, f"Your WhatsApp message template has been paused for {hours} hours "
                            f"until {until:%b %d at %I:%M %p} UTC because {why}.")


def unpause_info() -> OtherInfo:
    return OtherInfo("UNPAUSE", "Your WhatsApp message template has been unpaused.")


def disable_info() -> OtherInfo:
    return OtherInfo("DISABLED", "Your WhatsApp message template has been disabled because of "
                                 "continued quality issues.")


def status_webhook(waba_id: str, spec: TemplateSpec, event: str, reason: str | None,
                   time: int, *, other_info: OtherInfo | None = None,
                   recommendation: str | None = None) -> dict[str, Any]:
    value: dict[str, Any] = {
        "event": event, "message_template_id": int(spec.template_id),
        "message_template_name": spec.name, "message_template_language": spec.language,
        "reason": None if event == "PENDING_DELETION" else reason or "NONE",
        "message_template_category": spec.category}
    if event == "DISABLED":
        value["disable_info"] = {"disable_date": time}
    if other_info is not None:
        value["other_info"] = other_info.json()
    if event == "REJECTED" and reason == DETAILED_REJECTION:
        value["rejection_info"] = {
            "reason": "The template's format is not valid: check its variables and examples.",
            "recommendation": recommendation or "Sandbox: edit the template and submit it again."}
    return _webhook(waba_id, "message_template_status_update", value, time)


def quality_webhook(waba_id: str, spec: TemplateSpec, previous: str, time: int) -> dict[str, Any]:
    value = {"previous_quality_score": previous, "new_quality_score": spec.quality,
             "message_template_id": int(spec.template_id),
             "message_template_name": spec.name, "message_template_language": spec.language}
    return _webhook(waba_id, "message_template_quality_update", value, time)


def components_webhook(waba_id: str, spec: TemplateSpec, time: int) -> dict[str, Any]:
    """``message_template_components_update``: the template's content as it now is.

    ``message_template_element`` is the body; ``message_template_title`` a text header and
    ``message_template_footer`` the footer, when the template has them;
    ``message_template_buttons`` its buttons when one of them is a URL or phone-number button
    (Meta includes the field only then; that it then lists every button is our reading).
    """
    value: dict[str, Any] = {
        "message_template_id": int(spec.template_id), "message_template_name": spec.name,
        "message_template_language": spec.language}
    for component in spec.components:
        kind = str(component.get("type", "")).upper()
        if kind == "HEADER" and str(component.get("format", "TEXT")).upper() == "TEXT" \
                and component.get("text"):
            value["message_template_title"] = str(component["text"])
    value["message_template_element"] = spec.body_text
    for component in spec.components:
        if str(component.get("type", "")).upper() == "FOOTER" and component.get("text"):
            value["message_template_footer"] = str(component["text"])
    buttons = [b for c in spec.components if str(c.get("type", "")).upper() == "BUTTONS"
               for b in c.get("buttons") or [] if isinstance(b, dict)]
    if any(str(b.get("type", "")).upper() in LINK_BUTTONS for b in buttons):
        value["message_template_buttons"] = [_button(b) for b in buttons]
    return _webhook(waba_id, "message_template_components_update", value, time)


def _button(button: Mapping[str, Any]) -> dict[str, Any]:
    kind = str(button.get("type", "")).upper()
    out = {"message_template_button_type": kind,
           "message_template_button_text": str(button.get("text") or "")}
    if kind == "URL" and button.get("url"):
        out["message_template_button_url"] = str(button["url"])
    if kind == "PHONE_NUMBER" and button.get("phone_number"):
        out["message_template_button_phone_number"] = str(button["phone_number"])
    return out


def _webhook(waba_id: str, field: str, value: Mapping[str, Any], time: int) -> dict[str, Any]:
    return {"object": "whatsapp_business_account",
            "entry": [{"id": waba_id, "time": time,
                       "changes": [{"field": field, "value": dict(value)}]}]}
