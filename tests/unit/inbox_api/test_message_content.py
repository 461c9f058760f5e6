"""What the message view hands the web inbox beyond the text (issue 15): forwarded flags, the ad
referral, Meta's errors with their details, the campaign's name, and the status history in the
order a message goes through it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from services.inbox_api.accounts.credentials import Identity
from services.inbox_api.conversations.service import InboxQueries
from services.inbox_api.conversations.views import message_view, ordered_statuses
from tests.unit.inbox_api.fakes import NOW, seeded_repository

REFERRAL = {"source_url": "https://fb.me/ad1", "source_id": "120", "source_type": "ad",
            "headline": "Blue shoes", "body": "20% off this week", "media_type": "image",
            "image_url": "https://example.test/a.jpg", "ctwa_clid": "clid"}


def inbound(**fields: Any) -> dict[str, Any]:
    return {"_id": "c/w1", "direction": "inbound", "message_type": "text",
            "content": {"body": "hi"}, "preview": "hi", **fields}


def test_forwarded_flags_come_from_the_context() -> None:
    once = message_view(inbound(reply_to={"forwarded": True}))
    many = message_view(inbound(reply_to={"frequently_forwarded": True}))
    plain = message_view(inbound())
    assert (once.forwarded, once.frequently_forwarded) == (True, False)
    assert (many.forwarded, many.frequently_forwarded) == (False, True)
    assert (plain.forwarded, plain.frequently_forwarded, plain.reply_to) == (False, False, None)


def test_a_product_tap_names_the_product() -> None:
    view = message_view(inbound(reply_to={"referred_product": {
        "catalog_id": "cat", "product_retailer_id": "sku-1"}}))
    assert view.referred_product == {"catalog_id": "cat", "product_retailer_id": "sku-1"}


def test_the_ad_referral_is_kept_verbatim() -> None:
    view = message_view(inbound(referral=REFERRAL))
    assert view.referral == REFERRAL
    assert view.text == "hi"
    assert message_view(inbound(referral={})).referral is None


def test_metas_errors_keep_title_and_details() -> None:
    view = message_view(inbound(
        message_type="unsupported", content={"type": "poll"}, preview="Unsupported message",
        errors=[{"source": "meta", "code": 131051, "title": "Message type unknown",
                 "message": "Message type unknown",
                 "details": "Message type is currently not supported."}, "junk"]))
    [error] = view.errors
    assert (error.code, error.title, error.detail) == (
        131051, "Message type unknown", "Message type is currently not supported.")


@pytest.mark.parametrize(("error", "detail"), [
    ({"message": "Too late"}, "Too late"),
    ({"message": "(#131026) Message undeliverable", "details": "The number is not on WhatsApp."},
     "The number is not on WhatsApp."),
    ({}, None)])
def test_an_errors_detail_prefers_metas_details(error: dict[str, Any], detail: str | None) -> None:
    view = message_view(inbound(direction="outbound", status="failed",
                                error={"source": "meta", "code": 131026, **error}))
    assert view.error is not None
    assert view.error.detail == detail


def test_a_campaign_shows_by_name_or_not_at_all() -> None:
    doc = inbound(direction="outbound", message_type="template", actor_id="campaign:k1",
                  campaign_id="k1", content={"text": "Sale!"})
    named = message_view(doc, None, {"k1": "Spring sale"})
    assert named.campaign is not None
    assert (named.campaign.id, named.campaign.name) == ("k1", "Spring sale")
    unnamed = message_view(doc)
    assert unnamed.campaign is not None
    assert unnamed.campaign.name is None
    assert message_view(inbound()).campaign is None


def test_the_history_reads_sending_before_sent_whatever_the_clocks() -> None:
    # Meta's "sent" carries WhatsApp's time, a moment before the sender recorded "accepted".
    history = [{"status": "sent", "at": NOW}, {"status": "accepted", "at": NOW + timedelta(
        milliseconds=300)}, {"status": "read", "at": NOW + timedelta(seconds=9)},
        {"status": "delivered", "at": NOW + timedelta(seconds=2)}]
    assert [s.status for s in ordered_statuses(history)] == [
        "accepted", "sent", "delivered", "read"]


@pytest.mark.parametrize(("statuses", "order"), [
    ([], []),
    ([{"status": "failed", "at": NOW}, {"status": "accepted", "at": NOW}], ["accepted", "failed"]),
    ([{"status": "sent", "at": NOW}, {"status": "held_for_quality_assessment", "at": NOW},
      {"status": "accepted", "at": NOW}], ["accepted", "held_for_quality_assessment", "sent"]),
    ([{"status": "read", "at": NOW}, {"status": "read", "at": NOW - timedelta(seconds=1)}],
     ["read", "read"]),
    ([{"status": "sent"}, {"at": NOW}, "junk", {"status": "sent", "at": NOW}], ["sent"]),
])
def test_history_order(statuses: list[Any], order: list[str]) -> None:
    ordered = ordered_statuses(statuses)
    assert [s.status for s in ordered] == order
    same = [s for s in ordered if s.status == "read"]
    assert [s.at for s in same] == sorted(s.at for s in same)


async def test_the_thread_names_the_campaigns_of_its_messages() -> None:
    repository = seeded_repository()
    tenant = next(iter(repository.conversation_docs.values()))
    cid = tenant["_id"]
    repository.campaign_docs["k1"] = {"_id": "k1", "tenant_id": tenant["tenant_id"],
                                      "name": "Spring sale"}
    repository.campaign_docs["k2"] = {"_id": "k2", "tenant_id": "another",
                                      "name": "Not yours"}
    for n, campaign in enumerate(("k1", "k2")):
        repository.messages.append({
            "_id": f"{cid}/cmd:{n}", "tenant_id": tenant["tenant_id"], "conversation_id": cid,
            "direction": "outbound", "message_type": "template", "visible": True,
            "sort_key": f"9{n}", "campaign_id": campaign, "actor_id": f"campaign:{campaign}",
            "content": {"text": "Sale"}, "preview": "Sale"})
    queries = InboxQueries(repository, lambda: NOW)
    caller = Identity(tenant_id=tenant["tenant_id"], agent_id="ana", display_name="Ana",
                      kind="agent", key_hash="h")
    page = await queries.thread(caller, cid, before=None, limit=50)
    named = {m.campaign.id: m.campaign.name for m in page.items if m.campaign}
    assert named == {"k1": "Spring sale", "k2": None}
