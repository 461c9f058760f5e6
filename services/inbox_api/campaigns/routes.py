"""Campaigns (docs/campaigns.md): create, audience (JSON or raw CSV), schedule, start, pause,
resume, cancel, list, get, report and its CSV export."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse

from services.inbox_api.campaigns.audience import Row, rows_from_json
from services.inbox_api.campaigns.report import STATUSES
from services.inbox_api.campaigns.schemas import CampaignIn, RecipientIn, ScheduleIn, State
from services.inbox_api.campaigns.views import (
    audience_json,
    campaign_summary,
    campaign_view,
    report_json,
)
from services.inbox_api.deps import Caller, Campaigns, IdempotencyKey, RequireAdmin
from services.inbox_api.errors import InboxApiError, InvalidInput, error_responses

router = APIRouter(tags=["campaigns"])
ERRORS = error_responses(401, 403, 404, 409, 422)
# The recipients upload's largest body, refused with 413 as it streams past (shared/body_limit.py).
UPLOAD_LIMIT = 20 * 1024 * 1024
CampaignId = Annotated[str, Path(min_length=1, max_length=64)]
# An upload with an invalid row (a malformed number or BSUID, a missing variable) is refused
# whole with 422 and every invalid row listed; ``skip`` adds the valid rows and lists the others.
InvalidRows = Annotated[Literal["reject", "skip"], Query(
    description="reject (default): 422 if any row is invalid, nothing added; skip: add the "
                "valid rows, list the invalid ones in the answer")]


class UnsupportedMediaType(InboxApiError):
    status_code = 415
    code = "unsupported_media_type"


def _rows(items: list[RecipientIn] | None) -> list[Row] | None:
    return None if items is None else rows_from_json([i.model_dump() for i in items])


@router.post("/campaigns", status_code=201, responses=ERRORS)
async def create_campaign(caller: RequireAdmin, campaigns: Campaigns, body: CampaignIn,
                          idempotency_key: IdempotencyKey = None,
                          invalid_rows: InvalidRows = "reject") -> JSONResponse:
    """Create a draft (or scheduled) campaign, optionally with its recipients."""
    doc, audience, created = await campaigns.create(
        caller, body.model_dump(exclude={"recipients"}), _rows(body.recipients),
        idempotency_key, skip_invalid=invalid_rows == "skip")
    total = int(doc.get("counters", {}).get("recipients", 0))
    return JSONResponse({"campaign": campaign_view(doc),
                         "audience": audience_json(audience, total)},
                        status_code=201 if created else 200)


@router.post("/campaigns/{campaign_id}/recipients", responses=error_responses(401, 403, 404,
                                                                               409, 415, 422),
             openapi_extra={"requestBody": {"content": {
                 "application/json": {"schema": {"type": "object", "properties": {
                     "recipients": {"type": "array", "items": {"type": "object"}}}}},
                 "text/csv": {"schema": {"type": "string"}}}}})
async def add_recipients(caller: RequireAdmin, campaigns: Campaigns, campaign_id: CampaignId,
                         request: Request, invalid_rows: InvalidRows = "reject"
                         ) -> dict[str, Any]:
    """Add recipients: JSON ``{"recipients": [...]}`` or a raw CSV body (``text/csv``)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    # The body is limited while it streams in (UPLOAD_LIMIT, main.py's BodyLimitMiddleware).
    raw = await request.body()
    if len(raw) > UPLOAD_LIMIT:
        raise InvalidInput("The upload is larger than 20 MB; split it.", code="bad_csv",
                           field="body")
    if kind in ("text/csv", "application/csv", "text/plain"):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInput("The CSV is not UTF-8 text.", code="bad_csv",
                               field="body") from None
        audience, doc = await campaigns.add_recipients(caller, campaign_id, None, text,
                                                       skip_invalid=invalid_rows == "skip")
    elif kind == "application/json":
        try:
            payload = json.loads(raw)
            items = [RecipientIn.model_validate(i) for i in payload["recipients"]]
        except (ValueError, KeyError, TypeError):
            raise InvalidInput("Expected {\"recipients\": [{\"phone\", \"variables\"}]}.",
                               code="validation_failed", field="recipients") from None
        audience, doc = await campaigns.add_recipients(caller, campaign_id, _rows(items), None,
                                                       skip_invalid=invalid_rows == "skip")
    else:
        raise UnsupportedMediaType("Send text/csv or application/json.")
    result = audience_json(audience, int(doc.get("counters", {}).get("recipients", 0)))
    assert result is not None
    return result


@router.put("/campaigns/{campaign_id}/schedule", responses=ERRORS)
async def schedule_campaign(caller: RequireAdmin, campaigns: Campaigns,
                            campaign_id: CampaignId,
                            body: ScheduleIn) -> dict[str, Any]:
    """Send at a local time in a time zone."""
    return campaign_view(await campaigns.schedule(caller, campaign_id, body.model_dump()))


@router.delete("/campaigns/{campaign_id}/schedule", responses=ERRORS)
async def unschedule_campaign(caller: RequireAdmin, campaigns: Campaigns,
                              campaign_id: CampaignId) -> dict[str, Any]:
    """Back to draft."""
    return campaign_view(await campaigns.unschedule(caller, campaign_id))


def _action(name: str, summary: str) -> None:
    async def act(caller: RequireAdmin, campaigns: Campaigns,
                  campaign_id: CampaignId) -> dict[str, Any]:
        return campaign_view(await campaigns.act(caller, campaign_id, name))

    act.__doc__ = summary
    router.add_api_route(f"/campaigns/{{campaign_id}}/{name}", act, methods=["POST"],
                         responses=ERRORS, name=f"{name}_campaign", summary=summary)


_action("start", "Start sending now")
_action("pause", "Stop releasing; resume continues where it stopped")
_action("resume", "Continue a paused campaign")
_action("cancel", "Stop for good; queued recipients are not sent")


@router.get("/campaigns", responses=error_responses(400, 401))
async def list_campaigns(caller: Caller, campaigns: Campaigns, state: State | None = None,
                         limit: Annotated[int, Query(ge=1, le=100)] = 50,
                         cursor: str | None = None) -> dict[str, Any]:
    """The tenant's campaigns, newest first."""
    docs, next_cursor = await campaigns.page(caller, state, cursor, limit)
    return {"items": [campaign_summary(d) for d in docs], "next_cursor": next_cursor}


@router.get("/campaigns/{campaign_id}", responses=error_responses(401, 404))
async def get_campaign(caller: Caller, campaigns: Campaigns,
                       campaign_id: CampaignId) -> dict[str, Any]:
    """One campaign with its live counters (poll it every 2 s while it runs)."""
    return campaign_view(await campaigns.get(caller, campaign_id))


@router.get("/campaigns/{campaign_id}/report", responses=error_responses(401, 404, 422))
async def campaign_report(caller: Caller, campaigns: Campaigns, campaign_id: CampaignId,
                          status: Annotated[str | None, Query(
                              description="one of " + ", ".join(STATUSES))] = None,
                          limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                          cursor: str | None = None) -> dict[str, Any]:
    """Per recipient: queued, sent, delivered, read, replied, failed; totals and rates."""
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(STATUSES)}.",
                           code="validation_failed", field="status")
    doc, totals, rates, items, next_cursor = await campaigns.report_page(
        caller, campaign_id, status, cursor, limit)
    return report_json(doc, totals, rates, items, next_cursor)


@router.get("/campaigns/{campaign_id}/report.csv", responses=error_responses(401, 404),
            response_class=StreamingResponse)
async def campaign_report_csv(caller: Caller, campaigns: Campaigns,
                              campaign_id: CampaignId) -> StreamingResponse:
    """The report, one CSV line per recipient."""
    await campaigns.get(caller, campaign_id)  # 404 before the stream starts
    return StreamingResponse(
        campaigns.report_csv(caller, campaign_id), media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="campaign-{campaign_id}.csv"'})
