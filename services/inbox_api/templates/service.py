"""The template use cases: list, read, create, edit, delete, preview, and the sync.

Errors, in inbox_api's one JSON shape (services/inbox_api/errors.py):
NotFound (404 template_not_found, waba_not_found), Conflict (409 template_exists,
template_not_editable, template_edit_limit), InvalidInput (422 invalid_template, waba_required,
cloud_api_refused), Unavailable (503 cloud_api_unavailable).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from services.inbox_api.accounts.credentials import Identity
from services.inbox_api.errors import InboxApiError, InvalidInput, NotFound, Unavailable
from services.inbox_api.templates.ports import (
    CloudApiDown,
    CloudApiRefused,
    Document,
    TemplateCloud,
    TemplateReader,
    TemplateStore,
)
from services.inbox_api.templates.preview import draft_components, draft_examples, render
from services.inbox_api.templates.rules import (
    TemplateInvalid,
    edit_refusal,
    validate_create,
    validate_edit,
)
from services.inbox_api.templates.schemas import (
    AccountSync,
    ContentIn,
    Preview,
    PreviewDraftIn,
    SyncResult,
    TemplateCreateIn,
    TemplateDetail,
    TemplateDetailList,
)
from services.inbox_api.templates.sync import deleted_status, snapshot_time, sync_write
from services.inbox_api.templates.views import detail_view, edited_times
from shared.channels import Channel
from shared.templates import template_doc_id

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


class Conflict(InboxApiError):
    status_code = 409
    code = "conflict"


def wall_clock() -> datetime:
    return datetime.now(UTC)


class TemplateAdmin:
    """Template management inside the caller's tenant."""

    def __init__(self, store: TemplateStore, cloud: TemplateCloud,
                 clock: Clock = wall_clock) -> None:
        self.store = store
        self.cloud = cloud
        # Meta's clock, not a test's shifted inbox clock: statuses are ordered by it.
        self.clock = clock

    # -- reads ----------------------------------------------------------------------------------

    async def list(self, who: Identity, status: str | None) -> TemplateDetailList:
        now = self.clock()
        return TemplateDetailList(items=[detail_view(d, now) for d in
                                         await self.store.of_tenant(who.tenant_id, status)])

    async def get(self, who: Identity, template_id: str) -> TemplateDetail:
        return detail_view(await self._doc(who, template_id), self.clock())

    async def preview(self, who: Identity, template_id: str,
                      values: Mapping[str, str] | None) -> Preview:
        doc = await self._doc(who, template_id)
        return render(doc.get("components") or [], values)

    @staticmethod
    def preview_draft(draft: PreviewDraftIn) -> Preview:
        values = draft.values if draft.values is not None else draft_examples(draft)
        return render(draft_components(draft), values)

    # -- changes --------------------------------------------------------------------------------

    async def create(self, who: Identity, draft: TemplateCreateIn) -> TemplateDetail:
        try:
            valid = validate_create(draft)
        except TemplateInvalid as exc:
            raise InvalidInput(str(exc), code="invalid_template", field=exc.field) from None
        channel = await self._account(who, draft.waba_id)
        doc_id = template_doc_id(channel.waba_id, valid.name, valid.language)
        existing = await self.store.get(doc_id)
        if existing is not None and existing.get("status") != "DELETED":
            raise Conflict(f"{valid.name} ({valid.language}) exists already.",
                           code="template_exists")
        started = snapshot_time(self.clock())
        answer = await self._cloud(self.cloud.create(channel, {
            "name": valid.name, "language": valid.language, "category": valid.category,
            "parameter_format": valid.parameter_format.upper(),
            "components": valid.components}))
        await self.store.put_definition(doc_id, {
            "tenant_id": who.tenant_id, "waba_id": channel.waba_id, "name": valid.name,
            "language": valid.language, "template_id": str(answer.get("id") or "") or None,
            "components": valid.components, "parameter_format": valid.parameter_format,
            "components_at": started,
        }, started)
        # A review webhook can beat this write: it then has status_at >= started, and wins.
        await self.store.set_status_if_older(doc_id, {
            "status": str(answer.get("status") or "PENDING").upper(), "reason": None,
            "category": str(answer.get("category") or valid.category).upper(),
            "last_event": "CREATED", "status_at": started})
        return await self.get(who, doc_id)

    async def edit(self, who: Identity, template_id: str, draft: ContentIn) -> TemplateDetail:
        doc = await self._doc(who, template_id)
        status = str(doc.get("status") or "UNKNOWN")
        now = self.clock()
        refusal = edit_refusal(status, edited_times(doc.get("edited_at")), now)
        if refusal is not None:
            code = "template_not_editable" if "cannot be edited" in refusal \
                else "template_edit_limit"
            raise Conflict(refusal, code=code)
        try:
            category, fmt, components = validate_edit(draft, doc.get("category"), status)
        except TemplateInvalid as exc:
            raise InvalidInput(str(exc), code="invalid_template", field=exc.field) from None
        channel = await self._account(who, doc["waba_id"])
        body: dict[str, Any] = {"components": components, "parameter_format": fmt.upper()}
        if category is not None:
            body["category"] = category
        started = snapshot_time(now)
        await self._cloud(self.cloud.edit(channel, str(doc.get("template_id") or ""), body))
        await self.store.put_definition(template_id, {"components": components,
                                                      "parameter_format": fmt,
                                                      "components_at": started}, started)
        if status == "APPROVED":
            await self.store.record_edit(template_id, now)
        fields: dict[str, Any] = {"status": "PENDING", "reason": None, "last_event": "EDITED",
                                  "status_at": started}
        if category is not None:
            fields["category"] = category
        await self.store.set_status_if_older(template_id, fields)
        return await self.get(who, template_id)

    async def delete(self, who: Identity, template_id: str, all_languages: bool) -> None:
        doc = await self._doc(who, template_id)
        channel = await self._account(who, doc["waba_id"])
        started = snapshot_time(self.clock())
        await self._cloud(self.cloud.delete(
            channel, doc["name"], None if all_languages else doc.get("template_id")))
        targets = [template_id]
        if all_languages:
            targets = [str(d["_id"]) for d in await self.store.of_tenant(who.tenant_id, None)
                       if d.get("waba_id") == doc["waba_id"] and d.get("name") == doc["name"]]
        for target in targets:
            await self.store.set_status_if_older(target, {**deleted_status(started),
                                                          "last_event": "DELETED"})

    # -- sync -------------------------------------------------------------------------------------

    async def sync_tenant(self, tenant_id: str) -> SyncResult:
        accounts = _accounts(await self.store.channels(tenant_id))
        results = [await self._sync_account(channel) for channel in accounts.values()]
        return SyncResult(synced=sum(r.templates for r in results), accounts=results)

    async def sync_everyone(self) -> None:
        """Every tenant's accounts (start-up); failures are logged, never raised."""
        channels = [c for c in await self.store.channels() if c.tenant_id]
        for channel in _accounts(channels).values():
            result = await self._sync_account(channel)
            if result.error is None:
                log.info("templates synced", extra={"tenant_id": channel.tenant_id,
                                                    "waba_id": channel.waba_id,
                                                    "templates": result.templates})

    async def _sync_account(self, channel: Channel) -> AccountSync:
        snapshot = snapshot_time(self.clock())
        try:
            listed = await self.cloud.list_templates(channel)
        except (CloudApiDown, CloudApiRefused) as exc:
            log.warning("template sync failed", extra={
                "tenant_id": channel.tenant_id, "waba_id": channel.waba_id, "error": str(exc)})
            return AccountSync(waba_id=channel.waba_id, templates=0, error=str(exc))
        seen: set[str] = set()
        for template in listed:
            write = sync_write(channel.tenant_id, channel.waba_id, template, snapshot)
            if write is None:
                continue
            seen.add(write.doc_id)
            await self.store.put_definition(write.doc_id, write.definition, snapshot)
            await self.store.set_status_if_older(write.doc_id, write.status)
            if write.quality is not None:
                await self.store.set_quality_if_older(write.doc_id, write.quality)
        for doc in await self.store.of_account(channel.waba_id):
            if doc["_id"] not in seen and doc.get("status") != "DELETED":
                await self.store.set_status_if_older(str(doc["_id"]), deleted_status(snapshot))
        return AccountSync(waba_id=channel.waba_id, templates=len(seen), error=None)

    # -- steps ------------------------------------------------------------------------------------

    async def _doc(self, who: Identity, template_id: str) -> Document:
        doc = await self.store.get(template_id)
        if doc is None or doc.get("tenant_id") != who.tenant_id:
            raise NotFound("No such template.", code="template_not_found")
        return doc

    async def _account(self, who: Identity, waba_id: str | None) -> Channel:
        """A channel of the tenant's account ``waba_id`` (its only one when None)."""
        accounts = _accounts(await self.store.channels(who.tenant_id))
        if waba_id is None:
            if len(accounts) != 1:
                raise InvalidInput("Say which WhatsApp Business Account (waba_id): the tenant "
                                   "has several, or none.", code="waba_required",
                                   field="waba_id")
            return next(iter(accounts.values()))
        if waba_id not in accounts:
            raise NotFound("No such WhatsApp Business Account.", code="waba_not_found")
        return accounts[waba_id]

    @staticmethod
    async def _cloud(call: Any) -> dict[str, Any]:
        try:
            result: dict[str, Any] | None = await call
        except CloudApiRefused as exc:
            raise InvalidInput(f"WhatsApp refused the template: {exc.message}",
                               code="cloud_api_refused", meta_code=exc.code) from None
        except CloudApiDown as exc:
            raise Unavailable(str(exc), code="cloud_api_unavailable") from None
        return result or {}


async def list_templates(reader: TemplateReader, who: Identity,
                         status: str | None) -> TemplateDetailList:
    """The tenant's templates (every status, or one), by name. ``status=APPROVED`` is what the
    composer and the pickers offer: a template known only from a status webhook (its content,
    ``components``, not synced yet) is left out until the sync brings its content."""
    now = wall_clock()
    docs = await reader.templates(who.tenant_id, status)
    if status and status.upper() == "APPROVED":
        docs = [d for d in docs if d.get("components")]
    return TemplateDetailList(items=[detail_view(d, now) for d in
                                     sorted(docs, key=lambda d: (d.get("name") or "",
                                                                 d.get("language") or ""))])


def _accounts(channels: list[Channel]) -> dict[str, Channel]:
    """One channel per account (its token speaks for the account), the first by number."""
    out: dict[str, Channel] = {}
    for channel in sorted(channels, key=lambda c: c.phone_number_id):
        out.setdefault(channel.waba_id, channel)
    return out


async def sync_at_start(admin: TemplateAdmin) -> None:
    """Every tenant's templates from the Cloud API, once at start-up; failures are logged
    (readiness never waits for it)."""
    try:
        await admin.sync_everyone()
    except asyncio.CancelledError:
        raise
    except Exception:
        log.warning("start-up template sync failed", exc_info=True)
