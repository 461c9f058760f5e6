"""Labels, canned replies and the audit log on the real stack (Kafka, MongoDB, every service
and the sandbox): the list's label filter and search, canned replies filled for a contact, the
audit entries of a reply, an assignment, a label and a template change (and their CSV), and
every new resource of another tenant answering 404."""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx
import pytest

from services.inbox_api.admin import _parser, _run, create_agent
from services.inbox_api.settings import InboxApiSettings
from shared.config import InfraSettings
from tests.integration.inbox_api.stack import RunningInbox
from tests.integration.inbox_api.test_api import eventually

pytestmark = pytest.mark.integration
OTHER_CUSTOMER = "447700900123"


async def listed(http: httpx.AsyncClient, **params: str) -> list[dict[str, Any]]:
    response = await http.get("/api/v1/conversations", params=params)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def audit(http: httpx.AsyncClient, **params: str) -> list[dict[str, Any]]:
    response = await http.get("/api/v1/audit", params=params)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


class TestLabels:
    async def test_a_label_filters_the_list_and_is_found_by_search(
            self, inbox: RunningInbox) -> None:
        await inbox.customer_says("Where is my order?")
        await inbox.customer_says("Hello there", wa_id=OTHER_CUSTOMER, name="Bob")
        labelled, other = inbox.conversation_id(), inbox.conversation_id(OTHER_CUSTOMER)
        async with inbox.client() as http:
            created = await http.post("/api/v1/labels", json={"name": "VIP", "colour": "#D4A72C"})
            assert created.status_code == 201, created.text
            vip = created.json()
            assert vip["colour"] == "#d4a72c"
            put = await http.post(f"/api/v1/conversations/{labelled}/labels/{vip['id']}")
            assert put.status_code == 200, put.text
            assert [x["name"] for x in put.json()["labels"]] == ["VIP"]

            only = await listed(http, label=vip["id"])
            assert [c["id"] for c in only] == [labelled]
            assert only[0]["labels"] == [{"id": vip["id"], "name": "VIP", "colour": "#d4a72c"}]
            assert {c["id"] for c in await listed(http)} >= {labelled, other}
            assert [c["id"] for c in await listed(http, q="vi")] == [labelled]
            thread_head = (await http.get(f"/api/v1/conversations/{labelled}")).json()
            assert [x["id"] for x in thread_head["labels"]] == [vip["id"]]

            off = await http.delete(f"/api/v1/conversations/{labelled}/labels/{vip['id']}")
            assert off.json()["labels"] == []
            assert await listed(http, label=vip["id"]) == []

    async def test_names_are_unique_and_colours_checked(self, inbox: RunningInbox) -> None:
        async with inbox.client() as http:
            assert (await http.post("/api/v1/labels", json={"name": "Urgent"})).status_code == 201
            again = await http.post("/api/v1/labels", json={"name": " urgent "})
            assert (again.status_code, again.json()["error"]) == (422, "label_exists")
            bad = await http.post("/api/v1/labels", json={"name": "Red", "colour": "red"})
            assert bad.status_code == 422
            assert "#rrggbb" in bad.json()["detail"]

    async def test_deleting_a_label_takes_it_off_its_conversations(
            self, inbox: RunningInbox) -> None:
        await inbox.customer_says("Hi")
        cid = inbox.conversation_id()
        async with inbox.client() as http:
            label = (await http.post("/api/v1/labels", json={"name": "Refund"})).json()
            other = (await http.post("/api/v1/labels", json={"name": "Billing"})).json()
            set_ = await http.put(f"/api/v1/conversations/{cid}/labels",
                                  json={"label_ids": [label["id"], other["id"]]})
            assert [x["name"] for x in set_.json()["labels"]] == ["Billing", "Refund"]
            assert (await http.delete(f"/api/v1/labels/{label['id']}")).status_code == 204
            now = (await http.get(f"/api/v1/conversations/{cid}/labels")).json()
            assert [x["name"] for x in now["labels"]] == ["Billing"]
            unknown = await http.put(f"/api/v1/conversations/{cid}/labels",
                                     json={"label_ids": ["lbl_nope"]})
            assert (unknown.status_code, unknown.json()["field"]) == (422, "label_ids")


class TestCannedReplies:
    async def test_crud_and_rendering_for_the_contact(self, inbox: RunningInbox) -> None:
        await inbox.customer_says("Hi", name="Ana García")
        cid = inbox.conversation_id()
        async with inbox.client() as http:
            created = await http.post("/api/v1/canned-replies", json={
                "shortcut": "/Hello", "title": "Greeting",
                "text": "Hi {{contact.first_name}}, thanks for writing to Acme!"})
            assert created.status_code == 201, created.text
            reply = created.json()
            assert reply["shortcut"] == "hello"
            await http.post("/api/v1/canned-replies", json={
                "shortcut": "hours", "title": "Opening hours", "text": "9 to 5."})
            found = (await http.get("/api/v1/canned-replies", params={"q": "/he"})).json()
            assert [r["shortcut"] for r in found["items"]] == ["hello"]
            rendered = (await http.get(f"/api/v1/canned-replies/{reply['id']}/render",
                                       params={"conversation_id": cid})).json()
            assert rendered == {"id": reply["id"], "missing": [],
                                "text": "Hi Ana, thanks for writing to Acme!"}
            taken = await http.post("/api/v1/canned-replies", json={
                "shortcut": "hello", "title": "x", "text": "y"})
            assert (taken.status_code, taken.json()["error"]) == (422, "shortcut_exists")
            unknown = await http.post("/api/v1/canned-replies", json={
                "shortcut": "mail", "title": "x", "text": "{{contact.email}}"})
            assert unknown.status_code == 422
            assert "contact.email" in unknown.json()["detail"]
            edited = await http.patch(f"/api/v1/canned-replies/{reply['id']}",
                                      json={"title": "Hello!"})
            assert edited.json()["title"] == "Hello!"
            assert (await http.delete(f"/api/v1/canned-replies/{reply['id']}")
                    ).status_code == 204
            assert (await http.get(f"/api/v1/canned-replies/{reply['id']}")).status_code == 404


class TestAudit:
    async def test_a_reply_an_assignment_a_label_and_a_template_change_are_audited(
            self, inbox: RunningInbox) -> None:
        await inbox.customer_says("Can I change my order?")
        cid = inbox.conversation_id()
        async with inbox.client() as http:
            sent = await http.post(f"/api/v1/conversations/{cid}/messages",
                                   json={"kind": "text", "text": "Of course!"})
            assert sent.status_code == 202, sent.text
            assert (await http.post(f"/api/v1/conversations/{cid}/assignee",
                                    json={"assignee_id": "me"})).status_code == 202
            label = (await http.post("/api/v1/labels", json={"name": "Changes"})).json()
            await http.post(f"/api/v1/conversations/{cid}/labels/{label['id']}")
            template = await http.post("/api/v1/templates", json={
                "name": "audit_check", "language": "en_US", "category": "UTILITY",
                "body": {"text": "Your order is ready."}})
            assert template.status_code == 201, template.text

            wanted = {"conversation.reply", "conversation.assign", "label.create",
                      "conversation.label", "template.create"}

            async def all_there() -> list[dict[str, Any]] | None:
                items = await audit(http)
                return items if wanted <= {e["action"] for e in items} else None

            entries = {e["action"]: e for e in await eventually(all_there)}
            reply = entries["conversation.reply"]
            assert (reply["agent_id"], reply["agent_name"]) == ("ana", "Ana Agent")
            assert reply["target"] == {"conversation_id": cid}
            assert reply["summary"]["text"] == "Of course!"
            assert entries["conversation.label"]["target"] == {
                "conversation_id": cid, "label_id": label["id"]}
            assert entries["template.create"]["summary"]["name"] == "audit_check"
            # Filters: by action, by agent, by time.
            assigns = await audit(http, action="conversation.assign")
            assert [e["action"] for e in assigns] == ["conversation.assign"]
            assert {e["agent_id"] for e in await audit(http, agent="ana")} == {"ana"}
            assert await audit(http, agent="nobody") == []
            assert await audit(http, until=reply["at"].replace("Z", "+00:00")) == [
                e for e in await audit(http) if e["at"] < reply["at"]]

            one = await http.get(f"/api/v1/audit/{reply['id']}")
            assert one.json()["id"] == reply["id"]
            exported = await http.get("/api/v1/audit.csv",
                                      params={"action": "conversation.reply"})
            assert exported.status_code == 200
            assert exported.headers["content-type"].startswith("text/csv")
            rows = list(csv.DictReader(io.StringIO(exported.text)))
            assert [(r["action"], r["agent_id"]) for r in rows] == [("conversation.reply", "ana")]

    async def test_the_audit_log_pages_by_keyset(self, inbox: RunningInbox) -> None:
        async with inbox.client() as http:
            for n in range(5):
                await http.post("/api/v1/labels", json={"name": f"Page {n}"})

            async def five() -> list[dict[str, Any]] | None:
                items = await audit(http, action="label.create")
                return items if len(items) == 5 else None

            everything = await eventually(five)
            seen: list[str] = []
            cursor: str | None = None
            while True:
                params = {"action": "label.create", "limit": "2", **(
                    {"cursor": cursor} if cursor else {})}
                page = (await http.get("/api/v1/audit", params=params)).json()
                seen += [e["id"] for e in page["items"]]
                cursor = page["next_cursor"]
                if cursor is None:
                    break
            assert seen == [e["id"] for e in everything]
            bad = await http.get("/api/v1/audit", params={"cursor": "nonsense"})
            assert bad.status_code == 400


class TestSignIns:
    async def test_sign_ins_are_audited_in_the_persons_team_without_the_password(
            self, inbox: RunningInbox) -> None:
        agent_id = await create_agent(inbox.db, tenant="acme", email="cy@acme.test",
                                      name="Cy Agent", password="correct horse battery",
                                      role="agent")
        async with httpx.AsyncClient(base_url=inbox.base_url) as browser:
            wrong = await browser.post("/api/v1/session", json={
                "email": "cy@acme.test", "password": "wrong wrong wrong"})
            assert wrong.status_code == 401
            right = await browser.post("/api/v1/session", json={
                "email": "Cy@acme.test", "password": "correct horse battery"})
            assert right.status_code == 204
        async with inbox.client() as http:

            async def both() -> list[dict[str, Any]] | None:
                items = await audit(http, agent=agent_id)
                return items if len(items) == 2 else None

            entries = await eventually(both)
        assert [(e["action"], e["status"]) for e in entries] == [
            ("session.sign_in", 204), ("session.sign_in_failed", 401)]
        assert entries[1]["summary"] == {"email": "cy@acme.test"}
        assert "wrong wrong" not in str(entries)


class TestKeyChanges:
    async def test_a_key_made_and_revoked_on_the_command_line_is_audited(
            self, inbox: RunningInbox, settings: InfraSettings,
            capsys: pytest.CaptureFixture[str]) -> None:
        cli = InboxApiSettings(**settings.model_dump())
        made = _parser().parse_args(["create-key", "--tenant", "acme", "--agent", "bot",
                                     "--service"])
        assert await _run(made, cli) == 0
        key = capsys.readouterr().out.strip()
        assert await _run(_parser().parse_args(["revoke-key", "--key", key]), cli) == 0
        async with inbox.client() as http:
            entries = [*await audit(http, action="key.revoke"),
                       *await audit(http, action="key.create")]
        assert [(e["action"], e["agent_name"], e["target"]) for e in entries] == [
            ("key.revoke", "command line", {"agent_id": "bot"}),
            ("key.create", "command line", {"agent_id": "bot"})]
        assert key not in str(entries)


class TestTenantWall:
    async def test_another_tenants_labels_replies_and_audit_entries_are_404(
            self, inbox: RunningInbox) -> None:
        await inbox.customer_says("Hi")
        cid = inbox.conversation_id()
        async with inbox.client() as acme, inbox.client(inbox.other_key) as globex:
            label = (await acme.post("/api/v1/labels", json={"name": "Acme only"})).json()
            reply = (await acme.post("/api/v1/canned-replies", json={
                "shortcut": "acme", "title": "Acme", "text": "Acme"})).json()

            async def entry() -> dict[str, Any] | None:
                items = await audit(acme, action="label.create")
                return items[0] if items else None

            audited = await eventually(entry)
            g_label = (await globex.post("/api/v1/labels", json={"name": "G"})).json()
            for method, path in [
                ("PATCH", f"/api/v1/labels/{label['id']}"),
                ("DELETE", f"/api/v1/labels/{label['id']}"),
                ("GET", f"/api/v1/canned-replies/{reply['id']}"),
                ("PATCH", f"/api/v1/canned-replies/{reply['id']}"),
                ("DELETE", f"/api/v1/canned-replies/{reply['id']}"),
                ("GET", f"/api/v1/canned-replies/{reply['id']}/render"),
                ("GET", f"/api/v1/audit/{audited['id']}"),
                ("GET", f"/api/v1/conversations/{cid}/labels"),
                ("POST", f"/api/v1/conversations/{cid}/labels/{g_label['id']}"),
            ]:
                body = ({"name": "x"} if "/labels/" in path else {"title": "x"}
                        ) if method == "PATCH" else None
                response = await globex.request(method, path, json=body)
                assert response.status_code == 404, (method, path, response.text)
            # acme cannot put globex's label on its own conversation either.
            theirs = await acme.post(f"/api/v1/conversations/{cid}/labels/{g_label['id']}")
            assert theirs.status_code == 404
            assert [e["id"] for e in await audit(globex, action="label.create")] != [
                audited["id"]]
            assert (await globex.get("/api/v1/canned-replies")).json()["items"] == []
