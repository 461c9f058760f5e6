"""The labels' and canned replies' use cases on hand-written fakes, and the audit log's admin
rule through the real app: tenant walls, uniqueness, and what each refusal says."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import httpx
import pytest

from services.inbox_api.accounts.credentials import Identity, digest
from services.inbox_api.audit.recorder import AuditRecorder
from services.inbox_api.audit.service import AuditLog
from services.inbox_api.canned_replies.ports import DuplicateShortcut
from services.inbox_api.canned_replies.schemas import CannedReplyIn, CannedReplyPatch
from services.inbox_api.canned_replies.service import CannedReplies
from services.inbox_api.errors import InvalidInput, NotFound
from services.inbox_api.labels.ports import DuplicateLabel
from services.inbox_api.labels.schemas import LabelIn, LabelPatch
from services.inbox_api.labels.service import Labels
from services.inbox_api.main import create_app
from services.inbox_api.settings import InboxApiSettings
from tests.unit.inbox_api.fakes import NOW, Wiring, WithState, key_doc
from tests.unit.inbox_api.test_labels_canned_audit import FakeAuditStore

Document = dict[str, Any]
ANA = Identity("acme", "ana", "Ana", "agent", "h", "admin")
GUS = Identity("globex", "gus", "Gus", "agent", "h2", "admin")
CONVERSATIONS = {"c-acme": {"tenant_id": "acme", "contact_name": "Ana García",
                            "customer_wa_id": "16505550123"},
                 "c-globex": {"tenant_id": "globex", "contact_name": "Bob",
                              "customer_wa_id": "447700900001"}}


class FakeLabelStore:
    def __init__(self) -> None:
        self.docs: dict[str, Document] = {}
        self.carried: dict[str, list[str]] = {}

    async def labels(self, tenant_id: str) -> list[Document]:
        return sorted((d for d in self.docs.values() if d["tenant_id"] == tenant_id),
                      key=lambda d: d["name_key"])

    async def label(self, tenant_id: str, label_id: str) -> Document | None:
        doc = self.docs.get(label_id)
        return doc if doc and doc["tenant_id"] == tenant_id else None

    def _taken(self, tenant_id: str, key: str, but: str | None = None) -> bool:
        return any(d["tenant_id"] == tenant_id and d["name_key"] == key and d["_id"] != but
                   for d in self.docs.values())

    async def add_label(self, doc: Document) -> None:
        if self._taken(doc["tenant_id"], doc["name_key"]):
            raise DuplicateLabel(doc["name"])
        self.docs[doc["_id"]] = doc

    async def update_label(self, tenant_id: str, label_id: str,
                           fields: Document) -> Document | None:
        doc = await self.label(tenant_id, label_id)
        if doc is None:
            return None
        if "name_key" in fields and self._taken(tenant_id, fields["name_key"], label_id):
            raise DuplicateLabel(fields["name"])
        doc.update(fields)
        return doc

    async def delete_label(self, tenant_id: str, label_id: str) -> bool:
        if await self.label(tenant_id, label_id) is None:
            return False
        del self.docs[label_id]
        self.carried = {c: [x for x in ids if x != label_id] for c, ids in self.carried.items()}
        return True

    async def conversation_exists(self, tenant_id: str, conversation_id: str) -> bool:
        doc = CONVERSATIONS.get(conversation_id)
        return doc is not None and doc["tenant_id"] == tenant_id

    async def conversation_labels(self, tenant_id: str, conversation_id: str) -> list[str]:
        return list(self.carried.get(conversation_id, []))

    async def change_labels(self, tenant_id: str, conversation_id: str, *,
                            add: Sequence[str] = (), remove: Sequence[str] = (),
                            replace: Sequence[str] | None = None, at: datetime) -> list[str]:
        now = self.carried.get(conversation_id, [])
        if replace is not None:
            now = list(dict.fromkeys(replace))
        now = [*now, *(x for x in add if x not in now)]
        now = [x for x in now if x not in remove]
        self.carried[conversation_id] = now
        return now


class FakeCannedStore:
    def __init__(self) -> None:
        self.docs: dict[str, Document] = {}

    async def replies(self, tenant_id: str, prefix: str) -> list[Document]:
        return sorted((d for d in self.docs.values() if d["tenant_id"] == tenant_id
                       and d["shortcut"].startswith(prefix)), key=lambda d: d["shortcut"])

    async def reply(self, tenant_id: str, reply_id: str) -> Document | None:
        doc = self.docs.get(reply_id)
        return doc if doc and doc["tenant_id"] == tenant_id else None

    async def add(self, doc: Document) -> None:
        if any(d["tenant_id"] == doc["tenant_id"] and d["shortcut"] == doc["shortcut"]
               for d in self.docs.values()):
            raise DuplicateShortcut(doc["shortcut"])
        self.docs[doc["_id"]] = doc

    async def update(self, tenant_id: str, reply_id: str, fields: Document) -> Document | None:
        doc = await self.reply(tenant_id, reply_id)
        if doc is not None:
            doc.update(fields)
        return doc

    async def delete(self, tenant_id: str, reply_id: str) -> bool:
        return self.docs.pop(reply_id, None) is not None if await self.reply(
            tenant_id, reply_id) else False

    async def conversation(self, tenant_id: str, conversation_id: str) -> Document | None:
        doc = CONVERSATIONS.get(conversation_id)
        return doc if doc and doc["tenant_id"] == tenant_id else None


class TestLabels:
    @pytest.fixture
    def labels(self) -> Labels:
        return Labels(FakeLabelStore(), lambda: NOW)

    async def test_a_name_is_unique_per_tenant_whatever_its_case(self, labels: Labels) -> None:
        await labels.create(ANA, LabelIn(name="VIP"))
        with pytest.raises(InvalidInput) as refused:
            await labels.create(ANA, LabelIn(name=" vip "))
        assert refused.value.code == "label_exists"
        await labels.create(GUS, LabelIn(name="VIP"))  # another tenant's is another label

    async def test_put_take_off_and_set(self, labels: Labels) -> None:
        vip = await labels.create(ANA, LabelIn(name="VIP", colour="#D4A72C"))
        late = await labels.create(ANA, LabelIn(name="Late"))
        assert [x.name for x in (await labels.put(ANA, "c-acme", vip.id)).labels] == ["VIP"]
        assert [x.name for x in (await labels.put(ANA, "c-acme", vip.id)).labels] == ["VIP"]
        both = await labels.set(ANA, "c-acme", [vip.id, late.id])
        assert [x.name for x in both.labels] == ["Late", "VIP"]
        assert [x.name for x in (await labels.take_off(ANA, "c-acme", late.id)).labels] == ["VIP"]
        await labels.delete(ANA, vip.id)
        assert (await labels.of_conversation(ANA, "c-acme")).labels == []

    async def test_another_tenants_ids_are_404(self, labels: Labels) -> None:
        theirs = await labels.create(GUS, LabelIn(name="Theirs"))
        mine = await labels.create(ANA, LabelIn(name="Mine"))
        for attempt in (labels.put(ANA, "c-acme", theirs.id), labels.put(ANA, "c-globex", mine.id),
                        labels.update(ANA, theirs.id, LabelPatch(name="x")),
                        labels.delete(ANA, theirs.id), labels.of_conversation(ANA, "c-globex")):
            with pytest.raises(NotFound):
                await attempt
        with pytest.raises(InvalidInput) as unknown:
            await labels.set(ANA, "c-acme", [theirs.id])
        assert unknown.value.extra["field"] == "label_ids"

    async def test_a_rename_to_a_taken_name_is_refused(self, labels: Labels) -> None:
        await labels.create(ANA, LabelIn(name="One"))
        two = await labels.create(ANA, LabelIn(name="Two"))
        with pytest.raises(InvalidInput):
            await labels.update(ANA, two.id, LabelPatch(name="ONE"))
        assert (await labels.update(ANA, two.id, LabelPatch(colour="#000000"))).colour == "#000000"


class TestCannedReplies:
    @pytest.fixture
    def canned(self) -> CannedReplies:
        return CannedReplies(FakeCannedStore(), lambda: NOW)

    async def test_listed_by_shortcut_prefix_and_rendered_for_the_contact(
            self, canned: CannedReplies) -> None:
        hello = await canned.create(ANA, CannedReplyIn(
            shortcut="/Hello", title="Hi", text="Hi {{contact.first_name}} ({{contact.phone}})"))
        await canned.create(ANA, CannedReplyIn(shortcut="hours", title="Hours", text="9-5"))
        assert [r.shortcut for r in (await canned.list(ANA, "/he")).items] == ["hello"]
        assert [r.shortcut for r in (await canned.list(ANA, None)).items] == ["hello", "hours"]
        assert (await canned.list(ANA, "no spaces")).items == []
        rendered = await canned.render(ANA, hello.id, "c-acme")
        assert rendered.text == "Hi Ana (+16505550123)"
        blank = await canned.render(ANA, hello.id, None)
        assert (blank.text, blank.missing) == ("Hi  ()", ["contact.first_name", "contact.phone"])

    async def test_a_taken_shortcut_and_other_tenants_ids(self, canned: CannedReplies) -> None:
        mine = await canned.create(ANA, CannedReplyIn(shortcut="hi", title="Hi", text="Hi"))
        with pytest.raises(InvalidInput) as taken:
            await canned.create(ANA, CannedReplyIn(shortcut="HI", title="Hi", text="Hi"))
        assert taken.value.code == "shortcut_exists"
        for attempt in (canned.get(GUS, mine.id), canned.delete(GUS, mine.id),
                        canned.update(GUS, mine.id, CannedReplyPatch(title="x")),
                        canned.render(GUS, mine.id, None), canned.render(ANA, mine.id,
                                                                          "c-globex")):
            with pytest.raises(NotFound):
                await attempt

    def test_an_unknown_variable_is_refused_naming_the_known_ones(self) -> None:
        with pytest.raises(ValueError, match=r"contact\.email.*contact\.name"):
            CannedReplyIn(shortcut="x", title="x", text="{{contact.email}}")


async def test_an_agent_reads_no_audit_log(wiring: Wiring) -> None:
    key = "wai_" + "g" * 43
    wiring.repository.keys[digest(key)] = {**key_doc(key, "acme", "bo"), "role": "agent"}
    store = FakeAuditStore()
    state: Any = {**wiring.state, "audit": AuditLog(store, AuditRecorder(store), lambda: NOW)}
    app = WithState(create_app(InboxApiSettings(), clock=lambda: NOW), state)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://inbox",
                                 headers={"Authorization": f"Bearer {key}"}) as http:
        for path in ("/api/v1/audit", "/api/v1/audit.csv", "/api/v1/audit/aud_1"):
            response = await http.get(path)
            assert (response.status_code, response.json()["error"]) == (403, "admin_only")
