"""Campaigns on the real stack: Kafka, the database, the sandbox as Meta and the customers, and
every service in-process (docs/campaigns.md)."""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from shared.campaigns import opt_out_id
from tests.integration.inbox_api.stack import RunningInbox

pytestmark = pytest.mark.integration
DEADLINE_SECONDS = 120.0
BASE = 4915100000000  # valid German mobiles, one per row


async def eventually(check: Callable[[], Awaitable[Any]], what: str,
                     deadline: float = DEADLINE_SECONDS) -> Any:
    """Poll until ``check`` returns something truthy (a condition, not a timing assertion)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline
    while True:
        result = await check()
        if result:
            return result
        if loop.time() > end:
            raise AssertionError(f"never happened: {what}")
        await asyncio.sleep(0.2)


async def create(http: httpx.AsyncClient, inbox: RunningInbox, name: str,
                 template: str = "spring_sale") -> dict[str, Any]:
    answer = await http.post("/api/v1/campaigns", json={
        "name": name, "business_phone_number_id": inbox.channel.phone_number_id,
        "template_name": template, "language": "en_US"})
    assert answer.status_code == 201, answer.text
    campaign: dict[str, Any] = answer.json()["campaign"]
    return campaign


async def upload(http: httpx.AsyncClient, cid: str, lines: list[str]) -> dict[str, Any]:
    answer = await http.post(f"/api/v1/campaigns/{cid}/recipients",
                             params={"invalid_rows": "skip"},
                             content="\n".join(lines).encode(),
                             headers={"Content-Type": "text/csv"})
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


async def finished(http: httpx.AsyncClient, cid: str, states: tuple[str, ...] = ("completed",)
                   ) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        doc: dict[str, Any] = (await http.get(f"/api/v1/campaigns/{cid}")).json()
        return doc if doc["state"] in states else None
    result: dict[str, Any] = await eventually(check, f"campaign {cid} in {states}")
    return result


async def settled_report(http: httpx.AsyncClient, cid: str, released: int) -> dict[str, Any]:
    """The report once every released recipient has a final send result (not pending)."""
    async def check() -> dict[str, Any] | None:
        report: dict[str, Any] = (await http.get(f"/api/v1/campaigns/{cid}/report",
                                                 params={"limit": 1000})).json()
        t = report["totals"]
        return report if t["released"] == released and t["pending"] == 0 else None
    result: dict[str, Any] = await eventually(check, "every send has a result")
    return result


async def template_sends(inbox: RunningInbox) -> list[Any]:
    return [r for r in await inbox.sandbox.accepted(inbox.channel.phone_number_id)
            if isinstance(r.body, dict) and r.body.get("type") == "template"]


async def test_csv_campaign_sends_once_to_each_valid_opted_in_contact(
        inbox: RunningInbox) -> None:
    lines = ["phone,1,email"]
    for i in range(970):
        lines.append(f"+{BASE + i},Customer {i},c{i}@example.com")
    lines += [f"12{i},Bad number,x" for i in range(15)]           # 15 invalid numbers
    lines += [f"{BASE + 2000 + i},,x" for i in range(10)]         # 10 missing {{1}}
    lines += [f"00{BASE + i},Again {i},x" for i in range(5)]      # 5 duplicates (00 prefix)
    assert len(lines) == 1001
    # Three customers opted out: one by writing STOP through the whole pipeline, two by Meta.
    await inbox.customer_says("STOP", wa_id=str(BASE + 7))
    for wa_id in (BASE + 8, BASE + 9):
        await inbox.db["opt_outs"].insert_one({
            "_id": opt_out_id("acme", inbox.channel.phone_number_id, str(wa_id)),
            "tenant_id": "acme", "customer_wa_id": str(wa_id), "opted_out": True,
            "source": "meta_131050"})
    async with inbox.client() as http:
        campaign = await create(http, inbox, "Spring sale")
        audience = await upload(http, campaign["id"], lines)
        assert (audience["accepted"], audience["rejected"], audience["duplicates"]) == (
            970, 25, 5)
        assert audience["ignored_columns"] == ["email"]
        codes = collections.Counter(e["code"] for e in audience["errors"])
        assert codes == {"invalid_phone": 15, "missing_variable": 10, "duplicate": 5}
        # The rejected rows stay on the campaign (a page reload lists them again).
        stored = (await http.get(f"/api/v1/campaigns/{campaign['id']}")).json()["audience"]
        assert (stored["errors_total"], stored["uploads"], stored["rejected_rows"]) == (
            30, 1, 25)
        assert [(e["row"], e["column"], e["code"], e["message"]) for e in stored["errors"]] == [
            (e["row"], e["column"], e["code"], e["message"]) for e in audience["errors"]]
        assert {e["upload"] for e in stored["errors"]} == {1}
        # A second upload adds its own errors, numbered as its upload.
        again = await upload(http, campaign["id"], ["phone,1", "not a number,Zed"])
        assert again["rejected"] == 1
        stored = (await http.get(f"/api/v1/campaigns/{campaign['id']}")).json()["audience"]
        assert (stored["errors_total"], stored["uploads"], len(stored["errors"])) == (
            31, 2, 31)
        assert (stored["errors"][-1]["upload"], stored["errors"][-1]["row"]) == (2, 2)
        listed = (await http.get("/api/v1/campaigns")).json()["items"][0]["audience"]
        assert "errors" not in listed
        assert listed["errors_total"] == 31
        assert (await http.post(f"/api/v1/campaigns/{campaign['id']}/start")).status_code == 200
        done = await finished(http, campaign["id"])
        assert done["counters"] == {"recipients": 970, "queued": 0, "released": 967,
                                    "skipped": 3, "not_sent": 0}
        report = await settled_report(http, campaign["id"], 967)
        # A customer replies to the campaign: attributed to it.
        await inbox.customer_says("Is the sale on shoes too?", wa_id=str(BASE + 1))
        replied = await eventually(
            lambda: _report_row(http, campaign["id"], str(BASE + 1), "replied"), "reply")
        assert replied["replied_at"] is not None
        csv_text = (await http.get(f"/api/v1/campaigns/{campaign['id']}/report.csv")).text

    sends = await template_sends(inbox)
    recipients = collections.Counter(r.body["to"].lstrip("+") for r in sends)
    expected = {str(BASE + i) for i in range(970)} - {str(BASE + w) for w in (7, 8, 9)}
    assert set(recipients) == expected
    assert max(recipients.values()) == 1  # exactly once each
    # Paced within the number's 80/s (plus the bucket's 0.05 s burst).
    per_second = collections.Counter(int(r.at.timestamp()) for r in sends)
    assert max(per_second.values()) <= 80 * 1.05 + 4
    # The report matches what the sandbox recorded.
    assert report["totals"]["sent"] == len(sends) == 967
    assert report["totals"]["skipped"] == 3
    assert report["totals"]["failed"] == 0
    assert len(csv_text.strip().splitlines()) == 971


async def _report_row(http: httpx.AsyncClient, cid: str, phone: str,
                      status: str) -> dict[str, Any] | None:
    report = (await http.get(f"/api/v1/campaigns/{cid}/report",
                             params={"status": status, "limit": 1000})).json()
    return next((r for r in report["items"] if r["phone"] == phone), None)


async def test_an_upload_with_a_malformed_number_or_bsuid_is_refused_whole(
        inbox: RunningInbox) -> None:
    async with inbox.client() as http:
        campaign = await create(http, inbox, "Strict")
        refused = await http.post(
            f"/api/v1/campaigns/{campaign['id']}/recipients",
            content=f"phone,1\n+{BASE},Ana\nUS.12-3,Bo\n12,Cy\n".encode(),
            headers={"Content-Type": "text/csv"})
        assert refused.status_code == 422, refused.text
        body = refused.json()
        assert (body["error"], body["row"], body["field"]) == ("invalid_rows", 3, "phone")
        assert [(e["row"], e["column"], e["code"]) for e in body["errors"]] == [
            (3, "phone", "invalid_user_id"), (4, "phone", "invalid_phone")]
        assert "Row 3, column phone" in body["detail"]
        stored = (await http.get(f"/api/v1/campaigns/{campaign['id']}")).json()
        assert stored["counters"]["recipients"] == 0
        assert stored["audience"]["uploads"] == 0
        # The same rows by JSON, creating the campaign: refused before anything is created.
        created = await http.post("/api/v1/campaigns", json={
            "name": "Strict JSON", "business_phone_number_id": inbox.channel.phone_number_id,
            "template_name": "spring_sale", "language": "en_US",
            "recipients": [{"phone": f"+{BASE}", "variables": {"1": "Ana"}},
                           {"user_id": "XX.not-a-bsuid", "variables": {"1": "Bo"}}]})
        assert created.status_code == 422, created.text
        assert (created.json()["row"], created.json()["field"]) == (2, "phone")
        names = [c["name"] for c in (await http.get("/api/v1/campaigns")).json()["items"]]
        assert "Strict JSON" not in names
        # Asked to skip them, the valid row goes and the others are listed.
        skipped = await upload(http, campaign["id"], ["phone,1", f"+{BASE},Ana", "12,Cy"])
        assert (skipped["accepted"], skipped["rejected"]) == (1, 1)


async def test_pausing_and_resuming_ends_with_the_same_totals(inbox: RunningInbox) -> None:
    lines = ["phone,1"] + [f"{BASE + i},C{i}" for i in range(300)]
    async with inbox.client() as http:
        campaign = await create(http, inbox, "Paused sale")
        cid = campaign["id"]
        await upload(http, cid, lines)
        await http.post(f"/api/v1/campaigns/{cid}/start")

        async def some_released() -> bool:
            doc = (await http.get(f"/api/v1/campaigns/{cid}")).json()
            return bool(doc["counters"]["released"] >= 50)
        await eventually(some_released, "a first part released")
        paused = (await http.post(f"/api/v1/campaigns/{cid}/pause")).json()
        assert paused["state"] == "paused"
        # While paused nothing more is released (the dispatcher re-reads the state per batch).
        await asyncio.sleep(1.0)
        frozen = (await http.get(f"/api/v1/campaigns/{cid}")).json()["counters"]["released"]
        await asyncio.sleep(1.5)
        assert (await http.get(f"/api/v1/campaigns/{cid}")).json()["counters"][
            "released"] == frozen
        assert frozen < 300
        resumed = (await http.post(f"/api/v1/campaigns/{cid}/resume")).json()
        assert resumed["state"] == "running"
        await finished(http, cid)
        report = await settled_report(http, cid, 300)
    sends = await template_sends(inbox)
    assert len(sends) == len({r.body["to"].lstrip("+") for r in sends}) == 300
    assert report["totals"]["sent"] == 300


async def test_a_template_disabled_mid_campaign_stops_the_rest(inbox: RunningInbox) -> None:
    lines = ["phone,1"] + [f"{BASE + i},C{i}" for i in range(400)]
    async with inbox.client() as http:
        campaign = await create(http, inbox, "Disabled sale")
        cid = campaign["id"]
        await upload(http, cid, lines)
        await http.post(f"/api/v1/campaigns/{cid}/start")

        async def some_released() -> bool:
            doc = (await http.get(f"/api/v1/campaigns/{cid}")).json()
            return bool(doc["counters"]["released"] >= 30)
        await eventually(some_released, "a first part released")
        # Meta disables the template: its status webhook goes through webhook_ingest and the
        # store's template fold, where the dispatcher reads it before each batch.
        await inbox.sandbox.change_template_status(inbox.channel.waba_id, "spring_sale",
                                                   "DISABLED")
        await finished(http, cid, ("stopped",))

        async def settled() -> dict[str, Any] | None:  # the rest is marked just after the stop
            doc: dict[str, Any] = (await http.get(f"/api/v1/campaigns/{cid}")).json()
            return doc if doc["counters"]["queued"] == 0 else None
        stopped = await eventually(settled, "the rest marked not sent")
        assert stopped["stop_reason"]["code"] == "template_disabled"
        counters = stopped["counters"]
        assert counters["released"] + counters["not_sent"] == 400
        assert 0 < counters["not_sent"] < 400
        report = (await http.get(f"/api/v1/campaigns/{cid}/report",
                                 params={"status": "not_sent", "limit": 1})).json()
        assert report["items"][0]["reason"] == "template_disabled"
        assert (await http.post(f"/api/v1/campaigns/{cid}/resume")).status_code == 409


async def test_a_later_upload_repeats_numbers_and_a_cancel_answers_before_the_give_up(
        inbox: RunningInbox) -> None:
    async with inbox.client() as http:
        campaign = await create(http, inbox, "Cancelled sale")
        cid = campaign["id"]
        first = await upload(http, cid, ["phone,1"] + [f"{BASE + i},C{i}" for i in range(1200)])
        assert first["accepted"] == 1200
        # Two numbers of the first upload again: duplicates found by the number documents.
        again = await upload(http, cid, ["phone,1", f"{BASE + 5},Again", f"{BASE + 1300},New",
                                         f"00{BASE + 7},Again"])
        assert (again["accepted"], again["duplicates"], again["total_recipients"]) == (1, 2, 1201)
        assert [(e["row"], e["code"], e["message"]) for e in again["errors"]] == [
            (2, "duplicate", f"{BASE + 5} is already in this campaign; row skipped."),
            (4, "duplicate", f"{BASE + 7} is already in this campaign; row skipped.")]
        # The later upload's report rows come after the first one's (the next million).
        export = (await http.get(f"/api/v1/campaigns/{cid}/report.csv")).text.splitlines()
        assert len(export) == 1202
        assert export[-1].startswith(f"1000003,{BASE + 1300},queued,")
        cancelled = await http.post(f"/api/v1/campaigns/{cid}/cancel")
        assert cancelled.status_code == 200
        assert cancelled.json()["state"] == "cancelled"

        async def given_up() -> dict[str, Any] | None:
            doc: dict[str, Any] = (await http.get(f"/api/v1/campaigns/{cid}")).json()
            return doc if doc["counters"]["queued"] == 0 else None
        done = await eventually(given_up, "the queued recipients are not sent")
        assert done["counters"] == {"recipients": 1201, "queued": 0, "released": 0,
                                    "skipped": 0, "not_sent": 1201}
        report = (await http.get(f"/api/v1/campaigns/{cid}/report",
                                 params={"status": "not_sent", "limit": 1000})).json()
        assert report["totals"]["not_sent"] == 1201
        assert {i["reason"] for i in report["items"]} == {"cancelled"}
        assert report["next_cursor"] is not None


async def test_rows_by_bsuid_and_by_number_reach_their_customers_once(
        inbox: RunningInbox) -> None:
    """Issue 14: a username customer with a hidden number, named in the CSV by their BSUID, and
    an ordinary customer by number: each gets the template once, the first by ``recipient``."""
    pnid = inbox.channel.phone_number_id
    hidden = await inbox.sandbox.put_customer(pnid, str(BASE + 500), username="mia",
                                              hide_number=True)
    await inbox.sandbox.customer_says(pnid, str(BASE + 500), "hello", name="Mia")
    bsuid = hidden["user_id"]
    # Another one wrote STOP: opted out under their BSUID, so their row is skipped.
    stopped = await inbox.sandbox.put_customer(pnid, str(BASE + 502), username="leo",
                                               hide_number=True)
    await inbox.sandbox.customer_says(pnid, str(BASE + 502), "STOP", name="Leo")

    async def opted_out() -> bool:
        doc = await inbox.db["opt_outs"].find_one(
            {"_id": opt_out_id("acme", pnid, stopped["user_id"])})
        return bool(doc and doc["opted_out"])

    await eventually(opted_out, "the STOP of a customer with a hidden number is recorded")
    async with inbox.client() as http:
        campaign = await create(http, inbox, "Usernames too")
        audience = await upload(http, campaign["id"], [
            "phone,1", f"{bsuid},Mia", f"+{BASE + 501},Noah", f"{bsuid},Mia again",
            f"{stopped['user_id']},Leo"])
        assert (audience["accepted"], audience["duplicates"]) == (3, 1)
        assert (await http.post(f"/api/v1/campaigns/{campaign['id']}/start")).status_code == 200
        done = await finished(http, campaign["id"])
        assert done["counters"]["skipped"] == 1
        await settled_report(http, campaign["id"], 2)
    sends = await template_sends(inbox)
    assert sorted(str((r.body.get("recipient"), r.body.get("to"))) for r in sends) == sorted(
        [str((bsuid, None)), str((None, f"+{BASE + 501}"))])
