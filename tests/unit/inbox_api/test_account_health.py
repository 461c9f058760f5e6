"""inbox_api and Meta's notices: the account banner (GET /api/v1/account/notices), the send
pre-check that refuses what the sender will refuse (a restriction, a disabled account, a
customer's marketing opt-out), the opted-out marker, and the templates page's details."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from shared.account_health import ACCOUNT, number_scope
from shared.marketing import OPTED_OUT
from shared.templates import template_doc_id
from tests.unit.inbox_api.fakes import ACME, GLOBEX, NOW, Wiring

OPEN = "1001:16505550123"  # the customer wrote 5 minutes ago
CLOSED = "1001:447700900001"  # the customer wrote 25 hours ago
LATER = NOW + timedelta(days=3)


def restriction(kind: str, *, tenant: str = "acme", waba: str = ACME.waba_id,
                scope: str = ACCOUNT, until: Any = LATER) -> dict[str, Any]:
    return {"_id": f"{tenant}:{waba}:{scope}:restriction", "tenant_id": tenant,
            "waba_id": waba, "scope": scope, "kind": "restriction", "field": "account_update",
            "event": "ACCOUNT_RESTRICTION", "at": NOW - timedelta(hours=1),
            "restrictions": [{"restriction_type": kind, "expiration": until}], "details": {}}


def disabled(tenant: str = "acme", waba: str = ACME.waba_id) -> dict[str, Any]:
    return {"_id": f"{tenant}:{waba}:account:ban", "tenant_id": tenant, "waba_id": waba,
            "scope": ACCOUNT, "kind": "ban", "field": "account_update",
            "event": "DISABLED_UPDATE", "at": NOW - timedelta(hours=1),
            "details": {"ban_info": {"waba_ban_state": "DISABLE"}}}


async def send(http: httpx.AsyncClient, cid: str, body: dict[str, Any]) -> httpx.Response:
    return await http.post(f"/api/v1/conversations/{cid}/messages", json=body)


TEXT = {"kind": "text", "text": "hello"}
TEMPLATE = {"kind": "template", "template_name": "hello_world"}


class TestBanner:
    async def test_no_notices(self, http: httpx.AsyncClient) -> None:
        assert (await http.get("/api/v1/account/notices")).json() == {"items": []}

    async def test_a_restriction_is_shown_to_the_tenant_only(
            self, http: httpx.AsyncClient, wiring: Wiring) -> None:
        wiring.repository.notice_docs += [
            restriction("RESTRICTED_BIZ_INITIATED_MESSAGING"),
            disabled("globex", GLOBEX.waba_id)]
        [banner] = (await http.get("/api/v1/account/notices")).json()["items"]
        assert banner["level"] == "critical"
        assert banner["blocks"] == "business_initiated"
        assert banner["code"] == "RESTRICTED_BIZ_INITIATED_MESSAGING"
        assert "cannot start conversations with templates until 1 Dec 2026 12:00 UTC" in \
            banner["text"]
        assert banner["expires_at"].startswith("2026-12-01T12:00")

    async def test_it_needs_a_caller(self, http: httpx.AsyncClient) -> None:
        response = await http.get("/api/v1/account/notices",
                                  headers={"Authorization": "Bearer wai_nope"})
        assert response.status_code == 401


class TestAccountPreCheck:
    async def test_a_template_starting_a_conversation_is_409_and_nothing_is_published(
            self, http: httpx.AsyncClient, wiring: Wiring) -> None:
        wiring.repository.notice_docs.append(restriction("RESTRICTED_BIZ_INITIATED_MESSAGING"))
        response = await send(http, CLOSED, TEMPLATE)
        assert response.status_code == 409
        body = response.json()
        assert (body["error"], body["reason"]) == ("account_restricted", "account_restricted")
        assert "RESTRICTED_BIZ_INITIATED_MESSAGING" in body["detail"]
        assert body["hint"]
        assert wiring.publisher.published == []
        opened = await http.post("/api/v1/conversations", json={
            "business_phone_number_id": "1001", "customer_wa_id": "+44 7700 900555",
            "template_name": "hello_world"})
        assert opened.status_code == 409
        assert opened.json()["reason"] == "account_restricted"

    async def test_replies_still_go(self, http: httpx.AsyncClient, wiring: Wiring) -> None:
        wiring.repository.notice_docs.append(restriction("RESTRICTED_BIZ_INITIATED_MESSAGING"))
        assert (await send(http, OPEN, TEXT)).status_code == 202
        assert (await send(http, OPEN, TEMPLATE)).status_code == 202  # inside the window
        assert len(wiring.publisher.published) == 2

    async def test_customer_initiated_restriction_refuses_replies_only(
            self, http: httpx.AsyncClient, wiring: Wiring) -> None:
        wiring.repository.notice_docs.append(
            restriction("RESTRICTED_CUSTOMER_INITIATED_MESSAGING"))
        for body in (TEXT, TEMPLATE):
            response = await send(http, OPEN, body)
            assert response.status_code == 409
            assert response.json()["reason"] == "account_restricted"
        reaction = await http.post(f"/api/v1/conversations/{OPEN}/reactions",
                                   json={"message_id": "wamid.x", "emoji": "👍"})
        assert reaction.status_code == 409
        assert (await send(http, CLOSED, TEMPLATE)).status_code == 202

    async def test_a_disabled_account_refuses_everything(
            self, http: httpx.AsyncClient, wiring: Wiring) -> None:
        wiring.repository.notice_docs.append(disabled())
        for cid, body in ((OPEN, TEXT), (OPEN, TEMPLATE), (CLOSED, TEMPLATE)):
            response = await send(http, cid, body)
            assert response.status_code == 409
            assert response.json()["reason"] == "account_disabled"
        assert wiring.publisher.published == []

    async def test_notices_of_another_account_or_number_or_expired_do_not_apply(
            self, http: httpx.AsyncClient, wiring: Wiring) -> None:
        wiring.repository.notice_docs += [
            restriction("RESTRICTED_BIZ_INITIATED_MESSAGING", waba="other-waba"),
            restriction("RESTRICTED_BIZ_INITIATED_MESSAGING", scope=number_scope("1999")),
            {**restriction("RESTRICTED_CUSTOMER_INITIATED_MESSAGING", until=NOW),
             "_id": "expired"}]
        assert (await send(http, CLOSED, TEMPLATE)).status_code == 202
        assert (await send(http, OPEN, TEXT)).status_code == 202


class TestMarketingOptOut:
    def opt_out(self, wiring: Wiring, opted_out: bool = True,
                source: str = "meta_preference") -> None:
        key = "acme:1001:16505550123"
        wiring.repository.opt_out_docs[key] = {
            "_id": key, "opted_out": opted_out, "source": source, "keyword": None,
            "at": (NOW - timedelta(minutes=1)).replace(tzinfo=None)}

    def marketing(self, wiring: Wiring) -> None:
        doc_id = template_doc_id(ACME.waba_id, "hello_world", "en_US")
        wiring.repository.template_docs[doc_id]["category"] = "MARKETING"

    async def test_the_list_and_the_conversation_show_the_marker(
            self, http: httpx.AsyncClient, wiring: Wiring) -> None:
        self.opt_out(wiring)
        items = (await http.get("/api/v1/conversations")).json()["items"]
        marked = {i["id"]: i["marketing_opt_out"] for i in items}
        assert marked[OPEN] == {"source": "meta_preference", "keyword": None,
                                "at": "2026-11-28T11:59:00Z"}
        assert marked[CLOSED] is None
        shown = (await http.get(f"/api/v1/conversations/{OPEN}")).json()
        assert shown["marketing_opt_out"]["source"] == "meta_preference"

    async def test_a_customer_who_opted_back_in_has_no_marker(
            self, http: httpx.AsyncClient, wiring: Wiring) -> None:
        self.opt_out(wiring, opted_out=False)
        shown = (await http.get(f"/api/v1/conversations/{OPEN}")).json()
        assert shown["marketing_opt_out"] is None

    async def test_a_marketing_template_is_refused_with_the_senders_reason(
            self, http: httpx.AsyncClient, wiring: Wiring) -> None:
        self.opt_out(wiring)
        self.marketing(wiring)
        response = await send(http, OPEN, TEMPLATE)
        assert response.status_code == 409
        body = response.json()
        assert (body["reason"], body["detail"], body["hint"]) == (
            "opted_out", OPTED_OUT.message, OPTED_OUT.hint)
        assert wiring.publisher.published == []

    async def test_utility_templates_and_replies_still_go(
            self, http: httpx.AsyncClient, wiring: Wiring) -> None:
        self.opt_out(wiring)
        assert (await send(http, OPEN, TEMPLATE)).status_code == 202  # UTILITY
        assert (await send(http, OPEN, TEXT)).status_code == 202

    async def test_after_resume_marketing_goes(self, http: httpx.AsyncClient,
                                               wiring: Wiring) -> None:
        self.opt_out(wiring, opted_out=False)
        self.marketing(wiring)
        assert (await send(http, OPEN, TEMPLATE)).status_code == 202


class TestTemplatesPage:
    async def test_a_template_known_only_from_a_webhook_is_not_offered(
            self, http: httpx.AsyncClient, wiring: Wiring) -> None:
        doc_id = template_doc_id(ACME.waba_id, "webhook_only", "en_US")
        wiring.repository.template_docs[doc_id] = {
            "_id": doc_id, "tenant_id": "acme", "waba_id": ACME.waba_id, "name": "webhook_only",
            "language": "en_US", "status": "APPROVED", "components": []}
        offered = (await http.get("/api/v1/templates", params={"status": "APPROVED"})).json()
        assert "webhook_only" not in {t["name"] for t in offered["items"]}
        listed = {t["name"]: t for t in (await http.get("/api/v1/templates")).json()["items"]}
        assert listed["webhook_only"]["synced"] is False
        assert listed["hello_world"]["synced"] is True

    async def test_a_rejection_shows_metas_details_while_it_is_the_status(
            self, http: httpx.AsyncClient, wiring: Wiring) -> None:
        doc = wiring.repository.template_docs[template_doc_id(ACME.waba_id, "paused_one",
                                                              "en_US")]
        doc.update(status="REJECTED", reason="INVALID_FORMAT", status_details={
            "event": "REJECTED", "rejection_info": {
                "reason": "INVALID_FORMAT", "recommendation": "Do not start with a variable."},
            "other_info": {"title": "x", "description": "More words"}, "extra_thing": 1})
        listed = {t["name"]: t for t in (await http.get("/api/v1/templates")).json()["items"]}
        assert listed["paused_one"]["status_details"] == {
            "event": "REJECTED", "reason": "INVALID_FORMAT",
            "recommendation": "Do not start with a variable.", "title": "x",
            "description": "More words", "disable_date": None, "other": {"extra_thing": 1}}
        doc["status"] = "APPROVED"  # a later sync approved it: the details are stale
        listed = {t["name"]: t for t in (await http.get("/api/v1/templates")).json()["items"]}
        assert listed["paused_one"]["status_details"] is None
