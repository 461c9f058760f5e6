"""An upload's recipients, stored: validated against the template, numbers already in the
campaign dropped, positions reserved after every earlier upload, the rejected rows kept on the
campaign. Called by the campaigns' use cases (``service.py``) on create and on each upload."""

from __future__ import annotations

from services.inbox_api.campaigns.audience import (
    Audience,
    Row,
    drop_duplicates,
    errors_to_keep,
    validate,
)
from services.inbox_api.campaigns.ports import CampaignStore, Clock, Document
from services.inbox_api.templates.variables import body_text_of
from shared.campaigns import QUEUED, campaign_command_id, recipient_id
from shared.phone import conversation_id


async def store_upload(repository: CampaignStore, clock: Clock, campaign: Document,
                       template: Document, rows: list[Row]) -> Audience:
    cid = campaign["_id"]
    audience = validate(rows, body_text_of(template.get("components") or []))
    # A number already in the campaign (an earlier upload) is found by claiming it: one
    # small document per number, inserted first.
    drop_duplicates(audience, await repository.add_numbers(
        cid, [r.wa_id for r in audience.recipients]))
    now = clock()
    number = campaign["business_phone_number_id"]
    first = (await repository.reserve_rows(cid, len(audience.recipients))
             if audience.recipients else 0)
    offset = await _row_offset(repository, cid, first, campaign)
    docs = [{"_id": recipient_id(cid, first + i), "campaign_id": cid,
             "tenant_id": campaign["tenant_id"], "business_phone_number_id": number,
             "conversation_id": conversation_id(number, r.wa_id), "wa_id": r.wa_id,
             # Rows of a later upload come after the earlier ones: one order to send in.
             "position": first + i, "row": offset + r.row, "source_row": r.row,
             "variables": r.variables, "components": r.components,
             "rendered_text": r.rendered_text, "state": QUEUED, "reason": None,
             "command_id": campaign_command_id(cid, r.wa_id), "released_at": None,
             "created_at": now} for i, r in enumerate(audience.recipients)]
    inserted = await repository.add_recipients(docs)
    audience.duplicates += len(docs) - inserted
    # The rejected rows stay on the campaign, so its page lists them after a reload too.
    # The count of kept errors comes from the campaign as read before this upload: two
    # uploads at the same moment may keep a few more than MAX_ERRORS between them.
    history = campaign.get("audience") or {}
    keep = errors_to_keep(audience.errors, len(history.get("errors") or []),
                          int(history.get("uploads") or 0) + 1)
    change: Document = {
        "$inc": {"counters.recipients": inserted, "counters.queued": inserted,
                 "audience.rows": len(rows), "audience.rejected_rows": audience.rejected,
                 "audience.duplicates": audience.duplicates, "audience.uploads": 1,
                 "audience.errors_total": len(audience.errors), "version": 1},
        "$set": {"updated_at": now}}
    if keep:
        change["$push"] = {"audience.errors": {"$each": keep}}
    await repository.record_upload(cid, change)
    return audience


async def _row_offset(repository: CampaignStore, campaign_id: str, first: int,
                      campaign: Document) -> int:
    """The report's row numbers of this upload: the first upload keeps its own, a later one
    starts at the next million after the last stored row."""
    if first <= 1:
        return 0
    last = await repository.recipient_at(campaign_id, first - 1)
    if last is None:  # an upload at the same moment has not stored it yet
        return int((campaign.get("audience") or {}).get("uploads") or 0) * 1_000_000
    return (int(last["row"]) // 1_000_000 + 1) * 1_000_000
