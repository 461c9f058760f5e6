"""An upload's recipients, stored: validated against the template, resolved to their
conversations through the contact directory (a number or a BSUID per row), customers already in
the upload or the campaign dropped, positions reserved after every earlier upload, the rejected
rows kept on the campaign. Called by the campaigns' use cases (``service.py``) on create and on
each upload."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from services.inbox_api.campaigns.audience import (
    MAX_ERRORS,
    Audience,
    Recipient,
    Row,
    dedupe_by_conversation,
    drop_duplicates,
    errors_to_keep,
    invalid_rows,
    validate,
)
from services.inbox_api.campaigns.ports import CampaignStore, Clock, Contacts, Document
from services.inbox_api.errors import InvalidInput
from services.inbox_api.templates.variables import body_text_of
from shared.campaigns import QUEUED, campaign_command_id, recipient_id
from shared.contacts import derived_conversation_id

# Directory lookups in flight at once for one upload (each is a cached read, or one read and
# an insert per identifier seen for the first time).
RESOLVE_CONCURRENCY = 32


async def store_upload(repository: CampaignStore, clock: Clock, campaign: Document,
                       template: Document, rows: list[Row],
                       contacts: Contacts | None = None,
                       audience: Audience | None = None) -> Audience:
    """``audience``: ``rows`` already validated against ``template`` (validated here if None)."""
    cid = campaign["_id"]
    number = campaign["business_phone_number_id"]
    if audience is None:
        audience = validate(rows, body_text_of(template.get("components") or []))
    # One recipient per conversation: a row by number and one by BSUID that the directory
    # knows as one customer are one recipient (the first row wins).
    conversations = dedupe_by_conversation(audience, await resolve_all(
        contacts, number, campaign["tenant_id"], audience.recipients))
    by_recipient = {r.row: c for r, c in zip(audience.recipients, conversations, strict=True)}
    # A customer already in the campaign (an earlier upload) is found by claiming them: one
    # small document per customer, inserted first.
    keys = [customer_key(number, c) for c in conversations]
    drop_duplicates(audience, await repository.add_numbers(cid, keys), keys)
    now = clock()
    first = (await repository.reserve_rows(cid, len(audience.recipients))
             if audience.recipients else 0)
    offset = await _row_offset(repository, cid, first, campaign)
    docs = [{"_id": recipient_id(cid, first + i), "campaign_id": cid,
             "tenant_id": campaign["tenant_id"], "business_phone_number_id": number,
             "conversation_id": by_recipient[r.row], "wa_id": r.wa_id, "user_id": r.user_id,
             # Rows of a later upload come after the earlier ones: one order to send in.
             "position": first + i, "row": offset + r.row, "source_row": r.row,
             "variables": r.variables, "components": r.components,
             "rendered_text": r.rendered_text, "state": QUEUED, "reason": None,
             "command_id": campaign_command_id(
                 cid, customer_key(number, by_recipient[r.row])), "released_at": None,
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


async def resolve_all(contacts: Contacts | None, pnid: str, tenant_id: str,
                      recipients: Sequence[Recipient]) -> list[str]:
    """Each recipient's conversation id, in order, from the directory (without one: derived
    from the row's identifier, as for a customer the directory does not know)."""
    if contacts is None:
        return [derived_conversation_id(pnid, r.wa_id, r.user_id) for r in recipients]
    gate = asyncio.Semaphore(RESOLVE_CONCURRENCY)

    async def one(r: Recipient) -> str:
        async with gate:
            return await contacts.resolve(pnid, tenant_id, r.wa_id, r.user_id)

    return list(await asyncio.gather(*(one(r) for r in recipients)))


def customer_key(pnid: str, conversation_id: str) -> str:
    """A recipient's key within its campaign (duplicates, the command id): its conversation id
    without the campaign's business number, i.e. the canonical number for a conversation keyed
    by number (the key campaigns always used) and the BSUID for one keyed by BSUID. Only a key,
    never read back as a number."""
    return conversation_id.removeprefix(f"{pnid}:")


def checked_audience(rows: list[Row], template: Document, skip_invalid: bool) -> Audience:
    """The rows validated; refused as a whole (422, nothing stored) when any is invalid and the
    caller did not ask to skip invalid rows."""
    audience = validate(rows, body_text_of(template.get("components") or []))
    invalid = [] if skip_invalid else invalid_rows(audience)
    if invalid:
        first = invalid[0]
        more = len({e.row for e in invalid}) - 1
        raise InvalidInput(
            f"Row {first.row}, column {first.column}: {first.message}"
            + (f" ({more} more invalid row{'s' if more != 1 else ''}.)" if more else "")
            + " Nothing was added: fix the rows, or send ?invalid_rows=skip to add only the "
            "valid ones.",
            code="invalid_rows", field=first.column, row=first.row,
            errors=[{"row": e.row, "column": e.column, "code": e.code, "message": e.message}
                    for e in invalid[:MAX_ERRORS]],
            errors_total=len(invalid))
    return audience
