"""Meta's account notices refuse before any call (refusals.py with shared/account_policy.py):
a restriction refuses the sends it names until it expires, a disabled account every send, and
the window is read only when a restriction depends on it."""

from __future__ import annotations

from datetime import timedelta

from services.outbound_sender.adapters.account_health import MongoAccountNotices
from services.outbound_sender.service import SendService
from shared.account_health import ACCOUNT, ACCOUNT_HEALTH_COLLECTION, Notice, Restriction
from shared.channels import Channel
from tests.unit.outbound_sender.fakes import NUMBER, T0, TENANT, WABA, Rig, template, text

BIZ = "RESTRICTED_BIZ_INITIATED_MESSAGING"
CUSTOMER = "RESTRICTED_CUSTOMER_INITIATED_MESSAGING"


class FakeNotices:
    def __init__(self, *notices: Notice) -> None:
        self.list = list(notices)
        self.asked: list[str] = []

    async def notices(self, channel: Channel) -> list[Notice]:
        self.asked.append(channel.phone_number_id)
        return self.list


def restricted(kind: str, hours: float = 24, waba: str = WABA) -> Notice:
    return Notice(tenant_id=TENANT, waba_id=waba, scope=ACCOUNT, kind="restriction",
                  field="account_update", event="ACCOUNT_RESTRICTION", at=T0,
                  restrictions=(Restriction(kind, T0 + timedelta(hours=hours)),))


def disabled() -> Notice:
    return Notice(tenant_id=TENANT, waba_id=WABA, scope=ACCOUNT, kind="ban",
                  field="account_update", event="DISABLED_UPDATE", at=T0,
                  details={"ban_info": {"waba_ban_state": ["DISABLE"]}})


def service(rig: Rig, *notices: Notice) -> tuple[SendService, FakeNotices]:
    sender = rig.service()
    fake = FakeNotices(*notices)
    sender.account_notices = fake
    return sender, fake


class TestRestrictions:
    async def test_a_template_starting_a_conversation_is_refused_without_calling_meta(self):
        rig = Rig()
        sender, _ = service(rig, restricted(BIZ))
        await sender.handle(template())
        [refused] = rig.publisher.events
        assert refused.type == "outbound.refused"
        assert refused.reason == "account_restricted"
        assert BIZ in refused.detail
        assert "2 Mar 2026 12:00 UTC" in refused.detail
        assert refused.hint
        assert rig.meta.requests == []

    async def test_a_template_inside_the_window_answers_the_customer_and_goes(self):
        rig = Rig()
        rig.customer_wrote(seconds_ago=60)
        sender, _ = service(rig, restricted(BIZ))
        await sender.handle(template())
        assert rig.publisher.types == ["outbound.accepted"]

    async def test_a_reply_goes_while_business_initiated_messaging_is_restricted(self):
        rig = Rig()
        rig.customer_wrote(seconds_ago=60)
        sender, _ = service(rig, restricted(BIZ))
        await sender.handle(text())
        assert rig.publisher.types == ["outbound.accepted"]

    async def test_replies_are_refused_when_customer_initiated_messaging_is(self):
        rig = Rig()
        rig.customer_wrote(seconds_ago=60)
        sender, _ = service(rig, restricted(CUSTOMER))
        await sender.handle(text())
        await sender.handle(template("tpl-2"))
        assert [e.reason for e in rig.publisher.events] == ["account_restricted"] * 2
        assert rig.meta.requests == []

    async def test_a_template_outside_the_window_goes_when_only_replies_are_restricted(self):
        rig = Rig()
        sender, _ = service(rig, restricted(CUSTOMER))
        await sender.handle(template())
        assert rig.publisher.types == ["outbound.accepted"]

    async def test_an_expired_restriction_refuses_nothing(self):
        rig = Rig()
        sender, _ = service(rig, restricted(BIZ, hours=-1))
        await sender.handle(template())
        assert rig.publisher.types == ["outbound.accepted"]
        assert rig.windows.reads == 0  # nothing in force: the window is not read for it


class TestDisabledAccount:
    async def test_every_send_is_refused(self):
        rig = Rig()
        rig.customer_wrote(seconds_ago=60)
        sender, _ = service(rig, disabled())
        await sender.handle(text())
        await sender.handle(template("tpl-2"))
        assert [e.reason for e in rig.publisher.events] == ["account_disabled"] * 2
        assert rig.meta.requests == []

    async def test_it_outranks_the_window(self):
        rig = Rig()  # the customer never wrote: the window would refuse too
        sender, _ = service(rig, disabled())
        await sender.handle(text())
        [refused] = rig.publisher.events
        assert refused.reason == "account_disabled"


class TestNoNotices:
    async def test_nothing_changes_and_the_number_is_asked(self):
        rig = Rig()
        sender, fake = service(rig)
        await sender.handle(template())
        assert rig.publisher.types == ["outbound.accepted"]
        assert fake.asked == [NUMBER]

    async def test_without_the_port_the_sender_works_as_before(self):
        rig = Rig()
        await rig.service().handle(template())
        assert rig.publisher.types == ["outbound.accepted"]


class FakeCursor:
    def __init__(self, docs: list[dict[str, object]]) -> None:
        self.docs = docs

    def __aiter__(self) -> FakeCursor:
        return self

    async def __anext__(self) -> dict[str, object]:
        if not self.docs:
            raise StopAsyncIteration
        return self.docs.pop(0)


class FakeCollection:
    def __init__(self, docs: list[dict[str, object]]) -> None:
        self.docs = docs
        self.queries: list[object] = []

    def find(self, query: dict[str, object]) -> FakeCursor:
        self.queries.append(query)
        wanted = query["_id"]["$in"]  # type: ignore[index]
        return FakeCursor([d for d in self.docs if d["_id"] in wanted])


class TestMongoAdapter:
    async def test_one_read_per_number_within_the_cache_time(self):
        stored = {"_id": f"{TENANT}:{WABA}:account:restriction", "tenant_id": TENANT,
                  "waba_id": WABA, "scope": ACCOUNT, "kind": "restriction",
                  "event": "ACCOUNT_RESTRICTION", "at": T0,
                  "restrictions": [{"restriction_type": BIZ, "expiration": None}]}
        other = {**stored, "_id": f"{TENANT}:other-waba:account:restriction"}
        collection = FakeCollection([stored, other])
        clock = [0.0]
        adapter = MongoAccountNotices({ACCOUNT_HEALTH_COLLECTION: collection},  # type: ignore[arg-type]
                                      ttl_seconds=5, monotonic=lambda: clock[0])
        number = Channel(phone_number_id=NUMBER, tenant_id=TENANT, waba_id=WABA)
        [found] = await adapter.notices(number)
        assert found.restrictions == (Restriction(BIZ, None),)
        await adapter.notices(number)
        assert len(collection.queries) == 1
        clock[0] = 6
        collection.docs = [stored]
        await adapter.notices(number)
        assert len(collection.queries) == 2
