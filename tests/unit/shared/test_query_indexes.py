"""Every declared hot query is served by an index, by MongoDB's equality-sort-range rule, with no
in-memory sort (shared/read_model.py). Pure: FerretDB, the local server, ignores secondary
indexes, so this is what shows here that production's MongoDB reads them by index."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, replace
from dataclasses import field as dc_field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo import IndexModel

from services.conversation_store.adapters.mongo import INDEXES as STORE_INDEXES
from services.conversation_store.adapters.mongo import _find as store_find
from services.conversation_store.adapters.mongo import _threads as store_threads
from services.conversation_store.adapters.mongo_templates import INDEXES as TEMPLATE_INDEXES
from services.conversation_store.media.adapters.mongo import MongoArchiveRecords
from services.inbox_api.account_health.repository import MongoNoticeStore
from services.inbox_api.accounts.repository import INDEXES as INBOX_INDEXES
from services.inbox_api.accounts.repository import SESSION_TTL
from services.inbox_api.audit.ports import AuditQuery
from services.inbox_api.audit.repository import INDEXES as AUDIT_INDEXES
from services.inbox_api.audit.repository import MongoAuditStore
from services.inbox_api.campaigns.repository import CampaignRepository
from services.inbox_api.canned_replies.repository import INDEXES as CANNED_INDEXES
from services.inbox_api.canned_replies.repository import MongoCannedReplyStore
from services.inbox_api.conversations.cursors import ListPosition
from services.inbox_api.conversations.repository import MongoInboxRepository
from services.inbox_api.conversations.schemas import ListFilter
from services.inbox_api.keys.repository import MongoKeyStore
from services.inbox_api.labels.repository import INDEXES as LABEL_INDEXES
from services.inbox_api.labels.repository import MongoLabelStore
from services.inbox_api.notes.repository import INDEXES as NOTE_INDEXES
from services.inbox_api.notes.repository import MongoNoteRepository
from services.inbox_api.presence.repository import INDEXES as PRESENCE_INDEXES
from services.inbox_api.presence.repository import PRESENCE_TTL, MongoPresenceRepository
from services.inbox_api.teams.repository import INDEXES as TEAM_INDEXES
from services.inbox_api.teams.repository import MongoTeamRepository
from services.inbox_api.templates.repository import MongoTemplateStore
from services.outbound_sender.adapters.account_health import MongoAccountNotices
from services.outbound_sender.adapters.campaign_mongo import MongoCampaignStore
from services.outbound_sender.adapters.mongo import MongoLedger, MongoTemplates, MongoWindows
from shared.account_health import INDEXES as ACCOUNT_HEALTH_INDEXES
from shared.campaigns import CAMPAIGN_INDEXES
from shared.channels import Channel
from shared.media_archive import ArchiveStatus
from shared.read_model import (
    ANY,
    ASC,
    BY_ID,
    COLD_QUERIES,
    CONTACT_SEARCH,
    CONVERSATION_LIST_BY_STATUS,
    CONVERSATIONS_COLLECTION,
    DESC,
    HOT_QUERIES,
    MESSAGES_COLLECTION,
    PRESENCE_COLLECTION,
    SESSIONS_COLLECTION,
    THREAD,
    ColdQuery,
    IndexKeys,
    QueryShape,
    why_not_served,
)
from shared.templates import TEMPLATES_COLLECTION

Indexes = dict[str, dict[str, IndexKeys]]


def _keys(model: IndexModel) -> IndexKeys:
    return tuple((field, int(direction)) for field, direction in model.document["key"].items())


def declared_indexes() -> Indexes:
    """Every index the services create, by collection and name (plus MongoDB's ``_id_``)."""
    sources: list[Mapping[str, Sequence[IndexModel]]] = [
        STORE_INDEXES, {TEMPLATES_COLLECTION: TEMPLATE_INDEXES}, CAMPAIGN_INDEXES, INBOX_INDEXES,
        {SESSIONS_COLLECTION: [SESSION_TTL]}, ACCOUNT_HEALTH_INDEXES, TEAM_INDEXES,
        NOTE_INDEXES, LABEL_INDEXES, CANNED_INDEXES, AUDIT_INDEXES, PRESENCE_INDEXES,
        {PRESENCE_COLLECTION: [PRESENCE_TTL]},
    ]
    out: Indexes = {}
    for source in sources:
        for collection, models in source.items():
            for model in models:
                out.setdefault(collection, {})[model.document["name"]] = _keys(model)
    for shape in [*HOT_QUERIES, *(c.shape for c in COLD_QUERIES)]:
        out.setdefault(shape.collection, {})["_id_"] = (("_id", ASC),)
    return out


def serving(shape: QueryShape, indexes: Indexes) -> list[str]:
    return [name for name, keys in indexes.get(shape.collection, {}).items()
            if why_not_served(shape, keys) is None]


INDEXES = declared_indexes()


@pytest.mark.parametrize("shape", HOT_QUERIES, ids=lambda s: s.name)
def test_every_hot_query_is_served_by_its_index_without_a_sort(shape: QueryShape) -> None:
    keys = INDEXES.get(shape.collection, {}).get(shape.index)
    assert keys is not None, f"{shape.name}: no index {shape.index!r} on {shape.collection}"
    assert why_not_served(shape, keys) is None, (
        f"{shape.name} ({shape.where}): {why_not_served(shape, keys)}")


# A whole-collection read (no equality) is cold whatever the indexes.
@pytest.mark.parametrize("cold", [c for c in COLD_QUERIES if c.shape.equality],
                         ids=lambda c: c.shape.name)
def test_a_cold_query_is_still_unserved_so_its_reason_holds(cold: ColdQuery) -> None:
    """A cold query an index now serves (its residual fields included) belongs in HOT_QUERIES,
    and its reason is stale."""
    selective = replace(cold.shape, equality=(*cold.shape.equality, *cold.shape.residual),
                        residual=())
    assert serving(selective, INDEXES) == [], f"{cold.shape.name}: promote it to HOT_QUERIES"


def test_every_secondary_index_serves_a_declared_hot_query() -> None:
    used = {(s.collection, name) for s in HOT_QUERIES for name in serving(s, INDEXES)}
    unused = [(c, n) for c, names in INDEXES.items() for n in names
              if n != "_id_" and (c, n) not in used
              and not n.startswith("expires_at")]  # sessions' expiry: no query, MongoDB's TTL
    assert unused == []


class TestTheRule:
    """The checker itself: what it accepts and what it must reject."""

    LIST = (("tenant_id", ASC), ("status", ASC), ("last_activity_at", DESC), ("_id", DESC))

    def test_accepts_the_equality_prefix_in_any_order_then_the_sort(self) -> None:
        swapped = (("status", ASC), ("tenant_id", ASC), *self.LIST[2:])
        assert why_not_served(CONVERSATION_LIST_BY_STATUS, self.LIST) is None
        assert why_not_served(CONVERSATION_LIST_BY_STATUS, swapped) is None

    def test_accepts_every_sort_direction_reversed(self) -> None:
        reversed_ = (*self.LIST[:2], ("last_activity_at", ASC), ("_id", ASC))
        assert why_not_served(CONVERSATION_LIST_BY_STATUS, reversed_) is None

    def test_rejects_mixed_directions(self) -> None:
        mixed = (*self.LIST[:2], ("last_activity_at", DESC), ("_id", ASC))
        assert "mixes directions" in str(why_not_served(CONVERSATION_LIST_BY_STATUS, mixed))

    def test_rejects_an_index_without_an_equality_field(self) -> None:
        without_status = (("tenant_id", ASC), ("last_activity_at", DESC), ("_id", DESC))
        assert why_not_served(CONVERSATION_LIST_BY_STATUS, without_status) is not None

    def test_rejects_a_sort_key_out_of_order_or_missing(self) -> None:
        out_of_order = (*self.LIST[:2], ("_id", DESC), ("last_activity_at", DESC))
        assert why_not_served(CONVERSATION_LIST_BY_STATUS, out_of_order) is not None
        assert why_not_served(CONVERSATION_LIST_BY_STATUS, self.LIST[:3]) is not None

    def test_rejects_an_equality_field_between_the_prefix_and_the_sort(self) -> None:
        thread = (("tenant_id", ASC), ("visible", ASC), ("conversation_id", ASC),
                  ("sort_key", DESC))
        assert why_not_served(THREAD, thread) is not None

    def test_rejects_a_range_before_the_sort(self) -> None:
        shape = QueryShape("q", "c", "i", ("a",), (("s", ASC),), ("r",))
        assert why_not_served(shape, (("a", ASC), ("r", ASC), ("s", ASC))) is not None
        assert why_not_served(shape, (("a", ASC), ("s", ASC), ("r", ASC))) is None

    def test_a_range_without_sort_must_follow_the_prefix(self) -> None:
        shape = QueryShape("q", "c", "i", ("a",), range=("r",))
        assert why_not_served(shape, (("a", ASC), ("r", ASC))) is None
        assert why_not_served(shape, (("a", ASC), ("x", ASC), ("r", ASC))) is not None

    def test_a_removed_index_fails_the_queries_it_served(self) -> None:
        without = {c: dict(names) for c, names in INDEXES.items()}
        del without["conversations"]["tenant_status_activity"]
        assert serving(CONVERSATION_LIST_BY_STATUS, without) == []

    def test_a_changed_sort_fails(self) -> None:
        ascending = QueryShape(THREAD.name, THREAD.collection, THREAD.index, THREAD.equality,
                               (("sort_key", DESC), ("_id", ASC)), THREAD.range)
        assert serving(ascending, INDEXES) == []


# -- the declarations match the queries the repositories really make -------------------------

Filter = dict[str, Any]
_RANGE_OPS = frozenset({"$lt", "$lte", "$gt", "$gte", "$regex"})


@dataclass
class Recorded:
    collection: str
    op: str
    filter: Filter
    sort: tuple[tuple[str, int], ...] = ()


@dataclass
class Fields:
    equality: set[str] = dc_field(default_factory=set)
    range: set[str] = dc_field(default_factory=set)
    residual: set[str] = dc_field(default_factory=set)


def fields_of(query: Filter, sort_keys: set[str], out: Fields | None = None,
              in_or: bool = False) -> Fields:
    """How a filter uses its fields: equality (a value, ``$in``), range (comparisons, an
    anchored regex; inside an ``$or`` only on a sort key: a keyset cursor), residual (the rest:
    ``$ne``, ``$exists``, fields of an ``$or`` that are not sort keys)."""
    out = out if out is not None else Fields()
    for key, value in query.items():
        if key in ("$and", "$or"):
            for clause in value:
                fields_of(clause, sort_keys, out, in_or or key == "$or")
        elif in_or:
            (out.range if key in sort_keys else out.residual).add(key)
        elif isinstance(value, dict) and any(k.startswith("$") for k in value):
            if set(value) <= {"$in"}:
                out.equality.add(key)
            elif set(value) & _RANGE_OPS:
                out.range.add(key)
            else:
                out.residual.add(key)
        else:
            out.equality.add(key)
    return out


def matches(shape: QueryShape, query: Recorded) -> bool:
    if shape.collection != query.collection or tuple(shape.sort) != query.sort:
        return False
    used = fields_of(query.filter, {f for f, _ in query.sort})
    if ANY in shape.residual:
        return set(shape.equality) <= used.equality
    residual = set(shape.residual)
    return (set(shape.equality) <= used.equality
            and used.equality - set(shape.equality) <= residual
            and used.range <= set(shape.range) | residual
            and used.residual <= residual | set(shape.range))


class FakeCursor:
    def __init__(self, query: Recorded, docs: list[Filter]) -> None:
        self.query, self.docs = query, docs

    def sort(self, key: Any, direction: int | None = None) -> FakeCursor:
        self.query.sort = ((key, direction or 1),) if isinstance(key, str) else tuple(key)
        return self

    def limit(self, _: int) -> FakeCursor:
        return self

    async def to_list(self, _: int | None = None) -> list[Filter]:
        return list(self.docs)

    def __aiter__(self) -> AsyncIterator[Filter]:
        async def iterate() -> AsyncIterator[Filter]:
            for doc in self.docs:
                yield doc
        return iterate()


class FakeResult:
    matched_count = modified_count = deleted_count = 1


class FakeCollection:
    """Records the filter (and the sort) of every call; answers with ``docs``."""

    def __init__(self, db: FakeDatabase, name: str) -> None:
        self.db, self.name = db, name

    def _record(self, op: str, query: Filter) -> Recorded:
        recorded = Recorded(self.name, op, query)
        self.db.recorded.append(recorded)
        return recorded

    def find(self, query: Filter, *_: Any, **__: Any) -> FakeCursor:
        return FakeCursor(self._record("find", query), self.db.docs.get(self.name, []))

    async def find_one(self, query: Filter, *_: Any, **__: Any) -> Filter | None:
        self._record("find_one", query)
        return None

    async def find_one_and_update(self, query: Filter, *_: Any, **__: Any) -> Filter | None:
        self._record("find_one_and_update", query)
        return None

    async def update_one(self, query: Filter, *_: Any, **__: Any) -> FakeResult:
        self._record("update_one", query)
        return FakeResult()

    update_many = replace_one = update_one

    async def delete_many(self, query: Filter, *_: Any, **__: Any) -> FakeResult:
        self._record("delete_many", query)
        return FakeResult()

    delete_one = delete_many


class FakeDatabase:
    def __init__(self, docs: dict[str, list[Filter]] | None = None) -> None:
        self.recorded: list[Recorded] = []
        self.docs = docs or {}

    def __getitem__(self, name: str) -> FakeCollection:
        return FakeCollection(self, name)


AT = datetime(2026, 12, 1, tzinfo=UTC)


async def recorded_queries() -> list[Recorded]:
    """Drive every read path of the repositories (and their conditional writes) on fakes."""
    db = FakeDatabase({MESSAGES_COLLECTION: [
        {"_id": "m", "wamid": "w1", "conversation_id": "c1", "preview": "ana",
         "visible": True, "direction": "inbound", "sent_at": AT}]})
    fake: Any = db
    inbox = MongoInboxRepository(fake)
    filters: list[ListFilter] = ["all", "open", "resolved", "unread", "mine", "unassigned"]
    for list_filter in filters:
        for q in (None, "ana", "+55 11 9"):
            for after in (None, ListPosition(AT, "c9")):
                await inbox.conversations("t", filter=list_filter, agent_id="a", q=q,
                                          after=after, limit=51)
    for before in (None, "00001.00002.w"):
        await inbox.thread("t", "c1", before, 50)
    await inbox.previews("t", "c1", ["w1"])
    await inbox.media_owner("t", "media")
    await inbox.archived_media("t", ["media"])
    records = MongoArchiveRecords(fake)
    await records.stored("t/media", size=1, sha256="x", mime_type="image/png",
                         storage="gridfs", location="t/media", attempts=1, now=AT)
    await records.unsuccessful("t/media", status=ArchiveStatus.FAILED, reason="r", attempts=1,
                               now=AT)
    for status in ("approved", None):
        await inbox.templates("t", status)
    await inbox.agent_keys("t")
    await inbox.api_key("h")
    await inbox.session("h")
    await inbox.conversation("t", "c1")
    await inbox.channel("pn")
    await inbox.tenant_channels("t")
    await inbox.revoke_api_key("h", AT)
    # People: the team page, a password sign-in, deactivation, invitations, the throttle.
    await inbox.tenant_agents("t")
    await inbox.agents_by_email("a@b.co")
    await inbox.agent("t", "a")
    await inbox.deactivate_agent("t", "a", AT, "A")
    await inbox.delete_agent_sessions("t", "a")
    await inbox.invitation("h")
    await inbox.take_invitation("h", AT)
    await inbox.failures(["email:a@b.co", "client:10.0.0.1"])

    campaigns = CampaignRepository(fake)
    for state in (None, "running"):
        for before_page in (None, (AT, "k1")):
            await campaigns.page("t", state, before_page, 20)
    await campaigns.campaign("t", "k1")
    await campaigns.update("t", "k1", ["draft"], {"$set": {"state": "running"}})
    await campaigns.reserve_rows("k1", 3)
    await campaigns.recipient_at("k1", 1)
    await campaigns.give_up_queued("k1", 1, 3, "cancelled", AT)
    async for _ in campaigns.all_recipients("k1", 3):
        pass
    await campaigns.messages("t", ["c1/cmd:x"])
    await campaigns.thread_facts("t", ["c1"], "k1", AT)
    await campaigns.template("waba", "hello", "en")

    store = MongoCampaignStore(fake)
    await store.due(AT)
    await store.claim("k1", "me", AT, 30)
    await store.release_lease("k1", "me")
    await store.set_state("k1", "running", {"state": "paused"})
    await store.at_positions("k1", 1, 3)
    await store.advance("k1", "me", 1, 3)
    await store.opted_out("t", "pn", ["5511"])
    await store.mark("k1", ["k1:0000001"], "released", AT)
    await store.released_in_window("pn", AT)
    await store.template("waba", "hello", "en")

    templates = MongoTemplateStore(fake)
    for status in ("approved", None):
        await templates.of_tenant("t", status)
    await templates.of_account("waba")
    await templates.get("waba:hello:en")
    await templates.channels("t")
    await templates.channels()
    await templates.set_status_if_older("waba:hello:en", {"status_at": AT})

    await store_find(fake[CONVERSATIONS_COLLECTION], "_id", ["c1"])
    await store_find(fake[MESSAGES_COLLECTION], "_id", ["c1/w1"])
    await store_find(fake[MESSAGES_COLLECTION], "wamid", ["w1"])
    await store_threads(fake[MESSAGES_COLLECTION], "t", ["c1"])
    await MongoLedger(fake, timedelta(days=1), lambda: AT).view("k")
    await MongoWindows(fake).window("c1")
    await MongoTemplates(fake, 60).status("waba", "hello", "en")
    await MongoNoticeStore(fake).notices("t")
    await inbox.opt_outs(["t:pn:5511"])
    teams = MongoTeamRepository(fake)
    await teams.teams("t")
    await teams.team("t", "team_1")
    await teams.rotation("t")
    notes = MongoNoteRepository(fake)
    await notes.notes("t", "c1", 50)
    await notes.unread_mentions("t", "a", ["c1"])
    await notes.conversation_exists("t", "c1")
    presence = MongoPresenceRepository(fake)
    await presence.entry("t", "c1", "a")
    await presence.put({"_id": "t|c1|a", "tenant_id": "t", "conversation_id": "c1"})
    await presence.remove("t", "c1", "a")
    await presence.present("t", "c1", AT)
    await presence.sweep("t", "c1", AT)
    await presence.conversation_exists("t", "c1")
    await _desk_queries(fake, inbox)
    await MongoAccountNotices(fake, 0).notices(Channel(phone_number_id="pn", tenant_id="t",
                                                       waba_id="waba"))
    return db.recorded


async def _desk_queries(fake: Any, inbox: MongoInboxRepository) -> None:
    """Labels, canned replies and the audit log (and the list's label filter)."""
    await inbox.conversations("t", filter="all", agent_id="a", q=None, after=None, limit=51,
                              label="lbl_1")
    await inbox.conversation_labels("t", ["c1"])
    await inbox.label_names("t")
    await inbox.labelled("t", ["lbl_1"])
    labels = MongoLabelStore(fake)
    await labels.labels("t")
    await labels.label("t", "lbl_1")
    await labels.update_label("t", "lbl_1", {"name": "VIP"})
    await labels.conversation_exists("t", "c1")
    await labels.conversation_labels("t", "c1")
    await labels.change_labels("t", "c1", add=["lbl_1"], at=AT)
    canned = MongoCannedReplyStore(fake)
    for prefix in ("", "he"):
        await canned.replies("t", prefix)
    await canned.reply("t", "cr_1")
    await canned.update("t", "cr_1", {"title": "Hi"})
    await canned.conversation("t", "c1")
    audit = MongoAuditStore(fake)
    await audit.entry("t", "aud_1")
    for agent in (None, "a"):
        for action in (None, "conversation.reply"):
            for after in (None, (AT, "aud_1")):
                await audit.entries("t", AuditQuery(agent, action, AT, AT, after), 51)
    keys = MongoKeyStore(fake)
    await keys.tenant_keys("t")
    await keys.keys_with_prefix("t", "0123456789abcdef")
    await keys.revoke_key("t", "h", AT)
    await keys.delete_key_sessions("t", "h")


async def test_every_query_the_repositories_make_is_declared() -> None:
    declared = [*HOT_QUERIES, *(c.shape for c in COLD_QUERIES)]
    recorded = await recorded_queries()
    undeclared = [(q.collection, q.op, q.filter, q.sort) for q in recorded
                  if not any(matches(shape, q) for shape in declared)]
    assert undeclared == []


async def test_every_declared_query_is_one_the_repositories_make() -> None:
    recorded = await recorded_queries()
    # The search's `search_keys` branch is a plan MongoDB may choose inside the list's `$or`.
    # Ledger claims are looked up by `_id` only after a duplicate insert, and the other
    # primary-key collections are driven by the store's folds and the dispatcher's writes.
    unseen = [s.name for s in [*HOT_QUERIES, *(c.shape for c in COLD_QUERIES)]
              if s is not CONTACT_SEARCH and s not in BY_ID
              and not any(matches(s, q) for q in recorded)]
    assert unseen == []


def test_the_matcher_tells_a_changed_sort_or_filter() -> None:
    page = Recorded(CONVERSATIONS_COLLECTION, "find", {"tenant_id": "t", "status": "open"},
                    (("last_activity_at", DESC), ("_id", DESC)))
    assert matches(CONVERSATION_LIST_BY_STATUS, page)
    assert not matches(CONVERSATION_LIST_BY_STATUS,
                       replace(page, sort=(("last_activity_at", DESC),)))
    assert not matches(CONVERSATION_LIST_BY_STATUS,
                       replace(page, filter={"tenant_id": "t", "status": "open", "x": 1}))
