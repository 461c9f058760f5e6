"""What the sandbox knows: business numbers (channels) and message templates.

Channels are :class:`shared.channels.Channel` values, the same shape the services read from the
``channels`` collection, so a test can hand one object to both. Templates carry what Meta checks at
send time: name, language, status, category and the number of body variables.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from shared.channels import Channel

# Meta's template statuses; only APPROVED can be sent.
APPROVED = "APPROVED"
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")


class TemplateSpec(BaseModel):
    """A message template as Meta holds it for one language."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    name: str = Field(min_length=1, max_length=512)
    language: str = "en_US"
    status: str = APPROVED
    category: str = "UTILITY"
    body_text: str = ""
    # Number of body variables; None means "count the {{...}} placeholders of body_text".
    parameter_count: int | None = Field(default=None, ge=0, le=100)
    # The account that owns it; None means every channel's account.
    waba_id: str | None = None
    template_id: str = ""
    # Template management (sandbox/template_admin.py): Meta's components as created (a BODY
    # made of body_text when not given), quality, rejection reason, and edit times.
    components: list[dict[str, Any]] = Field(default_factory=list)
    parameter_format: str = "positional"
    quality: str = "UNKNOWN"
    rejected_reason: str | None = None
    edited_at: list[float] = Field(default_factory=list)
    # A deleted template stays as its account's own copy (so a shared one is hidden for that
    # account only); Meta keeps a deleted approved name for 30 days.
    deleted_at: float | None = None
    previous_status: str | None = None

    @model_validator(mode="after")
    def _normalize(self) -> TemplateSpec:
        if not self.components:
            object.__setattr__(self, "components", [{"type": "BODY", "text": self.body_text}])
        elif not self.body_text:
            body = next((c for c in self.components
                         if str(c.get("type", "")).upper() == "BODY"), {})
            object.__setattr__(self, "body_text", str(body.get("text") or ""))
        if self.parameter_count is None:
            names = {m.group(1) for m in _PLACEHOLDER.finditer(self.body_text)}
            object.__setattr__(self, "parameter_count", len(names))
        object.__setattr__(self, "status", self.status.upper())
        object.__setattr__(self, "category", self.category.upper())
        if not self.template_id:
            object.__setattr__(self, "template_id", str(_stable_number(self.name, self.language)))
        return self

    @property
    def body_parameters(self) -> int:
        return self.parameter_count or 0


def _stable_number(*parts: str) -> int:
    """A fixed 15-digit id for a template (Meta's ids are numeric)."""
    value = 0
    for ch in "\x00".join(parts):
        value = (value * 131 + ord(ch)) % 10**15
    return 10**14 + value % (9 * 10**14)


def demo_channel() -> Channel:
    """The business number ``./dev run`` plays with."""
    return Channel(
        phone_number_id="100000000000001",
        display_phone_number="15550001111",
        access_token=SecretStr("sandbox-token"),
        throughput_mps=80,
        waba_id="200000000000001",
        tenant_id="demo",
    )


def demo_templates() -> list[TemplateSpec]:
    """Approved templates ``./dev run`` offers."""
    return [
        TemplateSpec(name="hello_world", language="en_US", category="UTILITY",
                     body_text="Hello from the WhatsApp sandbox!"),
        TemplateSpec(name="order_update", language="en_US", category="UTILITY",
                     body_text="Hi {{1}}, your order {{2}} is on its way."),
        TemplateSpec(name="spring_sale", language="en_US", category="MARKETING",
                     body_text="Hi {{1}}, our spring sale starts today."),
    ]


class Catalog:
    """Channels by phone_number_id and templates by (name, language); replaced at run time."""

    def __init__(self, channels: Iterable[Channel] = (),
                 templates: Iterable[TemplateSpec] = ()) -> None:
        self._channels: dict[str, Channel] = {}
        self._templates: dict[tuple[str, str], list[TemplateSpec]] = {}
        for channel in channels:
            self.put_channel(channel)
        for template in templates:
            self.put_template(template)

    def put_channel(self, channel: Channel) -> None:
        self._channels[channel.phone_number_id] = channel

    def channel(self, phone_number_id: str) -> Channel | None:
        return self._channels.get(phone_number_id)

    def channels(self) -> list[Channel]:
        return list(self._channels.values())

    def put_template(self, template: TemplateSpec) -> None:
        """Add a template, or replace the one with the same name, language and account."""
        key = (template.name, template.language)
        kept = [t for t in self._templates.get(key, []) if t.waba_id != template.waba_id]
        self._templates[key] = [*kept, template]

    def template(self, waba_id: str, name: str, language: str) -> TemplateSpec | None:
        """The account's own template first, else one shared by every account."""
        found = self._templates.get((name, language), [])
        own = next((t for t in found if t.waba_id == waba_id), None)
        return own or next((t for t in found if t.waba_id is None), None)

    def templates(self) -> list[TemplateSpec]:
        return [t for found in self._templates.values() for t in found]

    def account_templates(self, waba_id: str) -> list[TemplateSpec]:
        """What an account sees: its own templates, and shared ones it has no own copy of."""
        out: list[TemplateSpec] = []
        for found in self._templates.values():
            own = next((t for t in found if t.waba_id == waba_id), None)
            shared = next((t for t in found if t.waba_id is None), None)
            shown = own or shared
            if shown is not None and shown.status != "DELETED":
                out.append(shown)
        return sorted(out, key=lambda t: (t.name, t.language))

