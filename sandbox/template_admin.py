"""Meta's template management, as the sandbox plays it: list, create, edit, delete, review.

- ``GET /{version}/{waba_id}/message_templates``: the account's templates (own and shared),
  with Meta's ``fields``, filters, ``summary`` and cursor paging (:mod:`sandbox.template_listing`).
- ``POST /{version}/{waba_id}/message_templates``: create; ``{id, status: "PENDING", category}``.
- ``POST /{version}/{template_id}``: edit (Meta's rules: only APPROVED, REJECTED or PAUSED; an
  approved one once per 24 h and 10 times per 30 days); the template goes back to review.
- ``DELETE /{version}/{waba_id}/message_templates?name=..[&hsm_id=..]``.

A review ends ``review_seconds`` after a create or edit: APPROVED, or REJECTED with the reason when
the name is in the reject list (``PUT /_sandbox/template-review``); the status changes in the
send-time catalog and a signed ``message_template_status_update`` webhook is posted. The control
API can also change a status (PAUSED, DISABLED, REINSTATED, ...) or a quality score at once, with
its webhook (:mod:`sandbox.template_webhooks`). Times are the sandbox's clock (``entry[].time``,
whole seconds, as Meta's).

Size: Meta's whole template-management surface as the sandbox plays it (create, edit with its
limits, delete, review); listing and webhooks live in template_listing.py and
template_webhooks.py.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Mapping
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field

from sandbox.catalog import Catalog, TemplateSpec
from sandbox.clock import OffsetClock
from sandbox.dispatcher import WebhookDispatcher
from sandbox.errors import CloudApiError, unknown_number
from sandbox.template_listing import ListingQuery, page, select, summary
from sandbox.template_listing import template_json as template_json  # graph_objects' import
from sandbox.template_webhooks import (
    OtherInfo,
    components_webhook,
    disable_info,
    pause_info,
    quality_webhook,
    status_webhook,
    unpause_info,
)
from shared.channels import Channel

NAME = re.compile(r"^[a-z0-9_]{1,512}$")
LANGUAGE = re.compile(r"^[a-z]{2,3}(_[A-Z]{2})?$")
CATEGORIES = frozenset({"MARKETING", "UTILITY", "AUTHENTICATION"})
EDITABLE = frozenset({"APPROVED", "REJECTED", "PAUSED"})
# Webhook events after which a template can be sent again (its status is APPROVED).
SENDABLE_EVENTS = frozenset({"APPROVED", "REINSTATED", "UNARCHIVED", "FLAGGED"})
REJECTION_REASONS = frozenset({"ABUSIVE_CONTENT", "INCORRECT_CATEGORY", "INVALID_FORMAT", "NONE",
                               "PROMOTIONAL", "SCAM", "TAG_CONTENT_MISMATCH"})
DEFAULT_LIMIT = 25
BODY_LIMIT = 1024
NAME_REUSE_DAYS = 30
# Meta's subcode for "content in this language already exists" (our reading; UNCONFIRMED).
DUPLICATE_SUBCODE = 2388024


class ReviewPlan(BaseModel):
    """How the next reviews end (``PUT /_sandbox/template-review``)."""

    model_config = ConfigDict(extra="forbid")

    reject: list[str] = Field(default_factory=list, description="template names to reject")
    reason: str = "INVALID_FORMAT"
    delay_seconds: float | None = Field(default=None, ge=0, le=3600)


class StatusChange(BaseModel):
    """Change a template's status at once and post Meta's webhook (``event`` as Meta names it)."""

    model_config = ConfigDict(extra="forbid")

    waba_id: str
    name: str
    language: str = "en_US"
    event: str = Field(pattern=r"^[A-Z_]+$")
    reason: str | None = None
    # ``other_info`` of the webhook; by default Meta's (FIRST_PAUSE, SECOND_PAUSE, UNPAUSE, ...).
    title: str | None = Field(default=None, pattern=r"^[A-Z_]+$")
    description: str | None = Field(default=None, max_length=1000)


class ComponentsChange(BaseModel):
    """Meta changed a template's content (``POST /_sandbox/template-components``): the new body,
    and optionally a new text header, footer or buttons (Meta's component objects)."""

    model_config = ConfigDict(extra="forbid")

    waba_id: str
    name: str
    language: str = "en_US"
    body: str = Field(min_length=1, max_length=BODY_LIMIT)
    header: str | None = Field(default=None, max_length=60)
    footer: str | None = Field(default=None, max_length=60)
    buttons: list[dict[str, Any]] | None = Field(default=None, max_length=10)


class QualityChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    waba_id: str
    name: str
    language: str = "en_US"
    score: str = Field(pattern=r"^(GREEN|YELLOW|RED|UNKNOWN)$")


def effective_status(event: str) -> str:
    return "APPROVED" if event in SENDABLE_EVENTS else event


def _invalid(detail: str) -> CloudApiError:
    return CloudApiError(100, detail, title="Invalid parameter")


def check_definition(body: Mapping[str, Any], *, creating: bool) -> None:
    """The shape checks Meta makes on a create or edit request (not a full review)."""
    if creating:
        name = body.get("name")
        if not isinstance(name, str) or not NAME.match(name):
            raise _invalid("Param name must contain only lowercase letters, numbers and "
                           "underscores.")
        if not isinstance(body.get("language"), str) or not LANGUAGE.match(body["language"]):
            raise _invalid("Param language is not a valid language code.")
    category = body.get("category")
    if (creating or category is not None) and (not isinstance(category, str)
                                               or category.upper() not in CATEGORIES):
        raise _invalid("Param category must be one of {MARKETING, UTILITY, AUTHENTICATION}.")
    components = body.get("components")
    if not isinstance(components, list) or not all(isinstance(c, dict) for c in components):
        raise _invalid("Param components must be an array of objects.")
    bodies = [c for c in components if str(c.get("type", "")).upper() == "BODY"]
    if len(bodies) != 1 or not isinstance(bodies[0].get("text"), str):
        raise _invalid("A template needs exactly one BODY component with a text.")
    if len(bodies[0]["text"]) > BODY_LIMIT:
        raise _invalid(f"The BODY text is over {BODY_LIMIT} characters.")


class TemplateAdmin:
    """The template endpoints' state and rules, over the sandbox's catalog."""

    def __init__(self, catalog: Catalog, dispatcher: WebhookDispatcher, clock: OffsetClock,
                 review_seconds: float) -> None:
        self.catalog = catalog
        self.dispatcher = dispatcher
        self.clock = clock
        self.plan = ReviewPlan(delay_seconds=review_seconds)
        self._ids = itertools.count(1)
        # template id -> when its quality score was last set (listing's quality_score.date; for
        # the others template_json's default, as GET /{template_id} shows).
        self._scored_at: dict[str, int] = {}
        self._pauses: Counter[str] = Counter()  # template id -> pauses so far

    # -- Meta's endpoints ---------------------------------------------------------------------

    def authorize(self, waba_id: str | None, authorization: str | None) -> None:
        """A channel's token of that account (any account's for ``None``), else Meta's error."""
        token = (authorization or "")[7:].strip() \
            if (authorization or "").lower().startswith("bearer ") else ""
        channels = [c for c in self.catalog.channels() if waba_id in (None, c.waba_id)]
        if waba_id is not None and not channels:
            raise unknown_number(waba_id)
        if not token or not any(_token(c) == token for c in channels):
            raise CloudApiError(190, "Invalid OAuth access token.")

    def listing(self, waba_id: str, params: Mapping[str, str], url: str) -> dict[str, Any]:
        """Meta's listing for this query string (see :mod:`sandbox.template_listing`)."""
        query = ListingQuery.of(params, default_limit=DEFAULT_LIMIT)
        account = self.catalog.account_templates(waba_id)
        items = [select(template_json(t, quality_date=self._quality_date(t)), query.fields)
                 for t in account if query.matches(t)]
        out = page(items, query.limit, query.after, query.before, url, params)
        if query.summary:
            out["summary"] = summary(query.summary, total=len(items),
                                     account_templates=len(account))
        return out

    def create(self, waba_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        check_definition(body, creating=True)
        name, language = str(body["name"]), str(body["language"])
        existing = self.catalog.template(waba_id, name, language)
        if existing is not None and existing.status != "DELETED":
            raise CloudApiError(100, f"Content in this language already exists for {name}.",
                                title="Invalid parameter", subcode=DUPLICATE_SUBCODE)
        if (existing is not None and existing.previous_status == "APPROVED"
                and existing.deleted_at is not None
                and self._now() - existing.deleted_at < NAME_REUSE_DAYS * 86400):
            raise CloudApiError(100, f"The name {name} was deleted; it can be reused after "
                                     f"{NAME_REUSE_DAYS} days.", title="Invalid parameter")
        spec = TemplateSpec(
            name=name, language=language, status="PENDING",
            category=str(body["category"]).upper(), waba_id=waba_id,
            template_id=str(10**15 + next(self._ids)), components=list(body["components"]),
            parameter_format=str(body.get("parameter_format") or "positional").lower())
        self._scored_at[spec.template_id] = int(self._now())
        self.catalog.put_template(spec)
        self._schedule_review(waba_id, spec)
        return {"id": spec.template_id, "status": "PENDING", "category": spec.category}

    def edit(self, template_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        spec = self._by_id(template_id)
        check_definition(body, creating=False)
        if spec.status not in EDITABLE:
            raise _invalid(f"A template with status {spec.status} cannot be edited.")
        now = self._now()
        if spec.status == "APPROVED":
            if any(now - at < 86400 for at in spec.edited_at):
                raise _invalid("An approved template can be edited once per 24 hours.")
            if sum(1 for at in spec.edited_at if now - at < 30 * 86400) >= 10:
                raise _invalid("An approved template can be edited 10 times per 30 days.")
        edited = spec.model_copy(update={
            "status": "PENDING", "components": list(body["components"]), "body_text": "",
            "parameter_count": None, "rejected_reason": None,
            "category": str(body.get("category") or spec.category).upper(),
            "edited_at": [*spec.edited_at, now] if spec.status == "APPROVED" else spec.edited_at,
        })
        edited = TemplateSpec.model_validate(edited.model_dump())  # recount the variables
        self.catalog.put_template(edited)
        assert edited.waba_id is not None
        self._schedule_review(edited.waba_id, edited, edited=True)
        return {"success": True}

    def delete(self, waba_id: str, name: str, hsm_id: str | None) -> dict[str, Any]:
        found = [t for t in self.catalog.account_templates(waba_id) if t.name == name
                 and (hsm_id is None or t.template_id == hsm_id)]
        if not found:
            raise CloudApiError(100, f"Message template {name} not found.",
                                title="Invalid parameter")
        now = self._now()
        for spec in found:
            self.catalog.put_template(spec.model_copy(update={
                "waba_id": waba_id, "status": "DELETED", "deleted_at": now,
                "previous_status": spec.status}))
        return {"success": True}

    # -- control --------------------------------------------------------------------------------

    def set_plan(self, plan: ReviewPlan) -> ReviewPlan:
        if plan.reason not in REJECTION_REASONS:
            raise _invalid(f"reason must be one of {sorted(REJECTION_REASONS)}")
        if plan.delay_seconds is None:
            plan = plan.model_copy(update={"delay_seconds": self.plan.delay_seconds})
        self.plan = plan
        return plan

    def change_status(self, change: StatusChange) -> TemplateSpec:
        spec = self._own(change.waba_id, change.name, change.language)
        updated = spec.model_copy(update={
            "status": effective_status(change.event),
            "rejected_reason": change.reason if change.event == "REJECTED" else None})
        now = int(self._now())
        info = self._other_info(spec, updated, change, now)
        if change.event == "PAUSED":
            self._pauses[spec.template_id] += 1
        self.catalog.put_template(updated)
        self._post(status_webhook(change.waba_id, updated, change.event, change.reason, now,
                                  other_info=info))
        return updated

    def change_components(self, change: ComponentsChange) -> TemplateSpec:
        """Meta changed the template's content: the catalog sends the new body from now on (its
        variables recounted) and ``message_template_components_update`` is posted."""
        spec = self._own(change.waba_id, change.name, change.language)
        updated = TemplateSpec.model_validate({
            **spec.model_dump(), "components": _with_components(spec.components, change),
            "body_text": "", "parameter_count": None})
        self.catalog.put_template(updated)
        self._post(components_webhook(change.waba_id, updated, int(self._now())))
        return updated

    def change_quality(self, change: QualityChange) -> TemplateSpec:
        spec = self._own(change.waba_id, change.name, change.language)
        updated = spec.model_copy(update={"quality": change.score})
        now = int(self._now())
        self._scored_at[spec.template_id] = now
        self.catalog.put_template(updated)
        self._post(quality_webhook(change.waba_id, updated, spec.quality, now))
        return updated

    # -- steps ------------------------------------------------------------------------------------

    def _own(self, waba_id: str, name: str, language: str) -> TemplateSpec:
        spec = self.catalog.template(waba_id, name, language)
        if spec is None:
            raise CloudApiError(100, f"Message template {name} ({language}) not found.")
        return spec.model_copy(update={"waba_id": waba_id})

    def _by_id(self, template_id: str) -> TemplateSpec:
        for spec in self.catalog.templates():
            if spec.template_id == template_id and spec.waba_id is not None \
                    and spec.status != "DELETED":
                return spec
        raise unknown_number(template_id)

    def _schedule_review(self, waba_id: str, spec: TemplateSpec, *, edited: bool = False) -> None:
        self.dispatcher.schedule_call(lambda: self._review(waba_id, spec, edited),
                                      self.plan.delay_seconds or 0.0)

    def _review(self, waba_id: str, submitted: TemplateSpec, edited: bool = False) -> None:
        current = self.catalog.template(waba_id, submitted.name, submitted.language)
        if current is None or current != submitted:
            return  # edited or deleted since: that change has its own review
        rejected = submitted.name in self.plan.reject
        event = "REJECTED" if rejected else "APPROVED"
        reason = self.plan.reason if rejected else None
        reviewed = submitted.model_copy(update={"status": event, "rejected_reason": reason})
        self.catalog.put_template(reviewed)
        now = int(self._now())
        self._post(status_webhook(waba_id, reviewed, event, reason, now))
        if edited and not rejected:  # an edit took effect: Meta tells the new content too
            self._post(components_webhook(waba_id, reviewed, now))

    def _other_info(self, before: TemplateSpec, after: TemplateSpec, change: StatusChange,
                    now: int) -> OtherInfo | None:
        """Meta's ``other_info`` for this change (or the one the control request names)."""
        if change.event == "PAUSED":
            info = pause_info(self._pauses[before.template_id], now, change.title)
        elif change.event == "DISABLED":
            info = disable_info()
        elif before.status == "PAUSED" and after.status == "APPROVED":
            info = unpause_info()
        elif change.title is None:
            return None
        else:
            info = OtherInfo(change.title, "")
        if change.title is not None or change.description is not None:
            info = OtherInfo(change.title or info.title, change.description or info.description)
        return info

    def _quality_date(self, spec: TemplateSpec) -> int | None:
        return self._scored_at.get(spec.template_id)

    def _post(self, payload: dict[str, Any]) -> None:
        self.dispatcher.schedule_body(orjson.dumps(payload), 0.0)

    def _now(self) -> float:
        return self.clock().timestamp()


def _with_components(components: list[dict[str, Any]],
                     change: ComponentsChange) -> list[dict[str, Any]]:
    """The template's components with the change applied, in Meta's order (header, body,
    footer, buttons, then any other). A BODY's example is dropped: the listing shows sample
    values for the new variables."""
    kinds: dict[str, dict[str, Any]] = {}
    for component in components:
        kinds.setdefault(str(component.get("type", "")).upper(), component)
    kinds["BODY"] = {"type": "BODY", "text": change.body}
    if change.header is not None:
        kinds["HEADER"] = {"type": "HEADER", "format": "TEXT", "text": change.header}
    if change.footer is not None:
        kinds["FOOTER"] = {"type": "FOOTER", "text": change.footer}
    if change.buttons is not None:
        kinds["BUTTONS"] = {"type": "BUTTONS", "buttons": list(change.buttons)}
    order = ["HEADER", "BODY", "FOOTER", "BUTTONS"]
    return [kinds[k] for k in order if k in kinds] + [
        c for k, c in kinds.items() if k not in order]


def _token(channel: Channel) -> str:
    return channel.access_token.get_secret_value()
