"""In-memory stand-ins for inbox_api's ports, and the real app wired on them (no sockets)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import SecretStr

from services.inbox_api.account_health.service import AccountNoticesQuery
from services.inbox_api.accounts.credentials import digest
from services.inbox_api.accounts.tenants import TenantSettings
from services.inbox_api.conversations.commands import InboxCommands
from services.inbox_api.conversations.cursors import ListPosition
from services.inbox_api.conversations.media import InboxMedia
from services.inbox_api.conversations.ports import Document, MediaDownload, MediaFile
from services.inbox_api.conversations.service import InboxQueries
from services.inbox_api.conversations.stream import StreamHub
from services.inbox_api.deps import State
from services.inbox_api.settings import InboxApiSettings
from shared.channels import Channel
from shared.events.commands import Command
from shared.media_archive import ArchivedMedia, archive_id
from shared.templates import template_doc_id

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
ACME = Channel(phone_number_id="1001", tenant_id="acme", waba_id="2001",
               display_phone_number="15550001001", access_token=SecretStr("acme-token"))
GLOBEX = Channel(phone_number_id="1002", tenant_id="globex", waba_id="2002",
                 access_token=SecretStr("globex-token"))
ACME_KEY = "wai_" + "a" * 43
GLOBEX_KEY = "wai_" + "g" * 43
REVOKED_KEY = "wai_" + "r" * 43


def conversation(number: str = "1001", customer: str = "16505550123", tenant: str = "acme",
                 *, minutes_ago: int = 5, last_inbound_minutes_ago: int | None = 5,
                 **extra: Any) -> Document:
    inbound = (NOW - timedelta(minutes=last_inbound_minutes_ago)
               if last_inbound_minutes_ago is not None else None)
    return {"_id": f"{number}:{customer}", "tenant_id": tenant,
            "business_phone_number_id": number, "customer_wa_id": customer,
            "contact_name": "Ana", "search_keys": ["ana", customer],
            "last_message_id": "m1", "last_message_preview": "hi",
            "last_message_at": NOW - timedelta(minutes=minutes_ago),
            "last_message_direction": "inbound",
            "last_activity_at": NOW - timedelta(minutes=minutes_ago),
            "last_inbound_at": inbound,
            "window_expires_at": inbound + timedelta(hours=24) if inbound else None,
            "unread_count": 1, "has_unread": True, "status": "open", "assignee_id": None,
            "version": 3, **extra}


@dataclass
class FakeRepository:
    """The repository port over dicts, with the same tenant filtering as the real one."""

    keys: dict[str, Document] = field(default_factory=dict)
    sessions: dict[str, Document] = field(default_factory=dict)
    sign_in_links: dict[str, Document] = field(default_factory=dict)
    channels: dict[str, Channel] = field(default_factory=dict)
    template_docs: dict[str, Document] = field(default_factory=dict)
    conversation_docs: dict[str, Document] = field(default_factory=dict)
    messages: list[Document] = field(default_factory=list)
    campaign_docs: dict[str, Document] = field(default_factory=dict)
    settings: dict[str, TenantSettings] = field(default_factory=dict)
    opt_out_docs: dict[str, Document] = field(default_factory=dict)
    # account_health documents (the AccountNotices / NoticeStore ports).
    notice_docs: list[Document] = field(default_factory=list)
    # media_archive records by _id (shared/media_archive.py archive_id)
    archive_docs: dict[str, Document] = field(default_factory=dict)
    # labels (labels/): the tenant's label documents, and label ids by conversation.
    label_docs: list[Document] = field(default_factory=list)
    labels_of: dict[str, list[str]] = field(default_factory=dict)

    async def api_key(self, key_hash: str) -> Document | None:
        return self.keys.get(key_hash)

    async def add_api_key(self, doc: Document) -> None:
        self.keys[doc["_id"]] = doc

    async def revoke_api_key(self, key_hash: str, at: datetime) -> bool:
        doc = self.keys.get(key_hash)
        if doc is None or doc.get("revoked_at") is not None:
            return False
        doc["revoked_at"] = at
        return True

    async def session(self, token_hash: str) -> Document | None:
        return self.sessions.get(token_hash)

    async def add_session(self, doc: Document) -> None:
        self.sessions[doc["_id"]] = doc

    async def delete_session(self, token_hash: str) -> None:
        self.sessions.pop(token_hash, None)

    async def add_sign_in_link(self, doc: Document) -> None:
        self.sign_in_links[doc["_id"]] = doc

    async def take_sign_in_link(self, token_hash: str) -> Document | None:
        return self.sign_in_links.pop(token_hash, None)

    async def agent_keys(self, tenant_id: str) -> list[Document]:
        return [k for k in self.keys.values()
                if k["tenant_id"] == tenant_id and k.get("revoked_at") is None]

    async def channel(self, phone_number_id: str) -> Channel | None:
        return self.channels.get(phone_number_id)

    async def tenant_channels(self, tenant_id: str) -> list[Channel]:
        return sorted((c for c in self.channels.values() if c.tenant_id == tenant_id),
                      key=lambda c: c.phone_number_id)

    async def tenant_settings(self, tenant_id: str) -> TenantSettings:
        return self.settings.get(tenant_id, TenantSettings())

    async def template(self, waba_id: str, name: str, language: str) -> Document | None:
        return self.template_docs.get(template_doc_id(waba_id, name, language))

    async def templates(self, tenant_id: str, status: str | None) -> list[Document]:
        return [t for t in self.template_docs.values() if t["tenant_id"] == tenant_id
                and (status is None or t["status"] == status.upper())]

    async def opt_outs(self, ids: Sequence[str]) -> list[Document]:
        return [self.opt_out_docs[i] for i in ids if i in self.opt_out_docs]

    async def conversation_labels(self, tenant_id: str,
                                  conversation_ids: Sequence[str]) -> dict[str, Document]:
        return {cid: {"label_ids": self.labels_of[cid], "updated_at": NOW}
                for cid in conversation_ids if cid in self.labels_of}

    async def label_names(self, tenant_id: str) -> list[Document]:
        return [d for d in self.label_docs if d["tenant_id"] == tenant_id]

    async def notices(self, tenant_id: str) -> list[Document]:
        return [d for d in self.notice_docs if d["tenant_id"] == tenant_id]

    async def conversation(self, tenant_id: str, conversation_id: str) -> Document | None:
        doc = self.conversation_docs.get(conversation_id)
        return doc if doc is not None and doc["tenant_id"] == tenant_id else None

    async def conversations(self, tenant_id: str, *, filter: Any, agent_id: str,
                            q: str | None, after: ListPosition | None,
                            limit: int, label: str | None = None) -> list[Document]:
        docs = [d for d in self.conversation_docs.values() if d["tenant_id"] == tenant_id
                and d.get("listed") is not False]
        if label is not None:
            docs = [d for d in docs if label in self.labels_of.get(d["_id"], [])]
        if filter in ("open", "resolved"):
            docs = [d for d in docs if d["status"] == filter]
        elif filter == "unread":
            docs = [d for d in docs if d["has_unread"]]
        elif filter == "mine":
            docs = [d for d in docs if d["assignee_id"] == agent_id]
        elif filter == "unassigned":
            docs = [d for d in docs if d["assignee_id"] is None]
        if q:
            docs = [d for d in docs if any(k.startswith(q.lower()) for k in d["search_keys"])]
        docs.sort(key=lambda d: (d["last_activity_at"], d["_id"]), reverse=True)
        if after is not None:
            key = (after.last_activity_at, after.conversation_id)
            docs = [d for d in docs if (d["last_activity_at"], d["_id"]) < key]
        return docs[:limit]

    async def thread(self, tenant_id: str, conversation_id: str, before: str | None,
                     limit: int) -> list[Document]:
        docs = [m for m in self.messages if m["tenant_id"] == tenant_id
                and m["conversation_id"] == conversation_id and m["visible"]
                and (before is None or m["sort_key"] < before)]
        return sorted(docs, key=lambda m: m["sort_key"], reverse=True)[:limit]

    async def previews(self, tenant_id: str, conversation_id: str,
                       wamids: Sequence[str]) -> dict[str, str]:
        return {m["wamid"]: m["preview"] for m in self.messages
                if m["tenant_id"] == tenant_id and m.get("wamid") in wamids}

    async def campaign_names(self, tenant_id: str,
                             campaign_ids: Sequence[str]) -> dict[str, str]:
        return {c["_id"]: c["name"] for c in self.campaign_docs.values()
                if c["tenant_id"] == tenant_id and c["_id"] in campaign_ids}

    async def customer_wamid(self, tenant_id: str, conversation_id: str,
                             wamid: str | None = None) -> str | None:
        theirs = sorted((m for m in self.messages if m["tenant_id"] == tenant_id
                         and m["conversation_id"] == conversation_id
                         and m.get("direction") == "inbound" and m.get("visible")
                         and (wamid is None or m.get("wamid") == wamid)),
                        key=lambda m: m["sort_key"])
        return theirs[-1]["wamid"] if theirs else None

    async def media_owner(self, tenant_id: str, media_id: str) -> str | None:
        found = await self.media_message(tenant_id, media_id)
        return found["business_phone_number_id"] if found else None

    async def media_message(self, tenant_id: str, media_id: str) -> Document | None:
        for m in self.messages:
            content = m.get("content", {})
            # Inbound: Meta's object; outbound: the sender's media object under "media".
            if m["tenant_id"] == tenant_id and media_id in (
                    content.get("id"), (content.get("media") or {}).get("id")):
                return m
        return None

    async def archived_media(self, tenant_id: str,
                             media_ids: Sequence[str]) -> dict[str, Document]:
        found = (self.archive_docs.get(archive_id(tenant_id, m)) for m in media_ids)
        return {d["media_id"]: d for d in found if d is not None and d["tenant_id"] == tenant_id}


@dataclass
class FakePublisher:
    published: list[Command] = field(default_factory=list)

    async def publish(self, command: Command) -> None:
        self.published.append(command)


class FakeMedia:
    """Serves b"media:<id>" for every id, remembering which token asked."""

    def __init__(self) -> None:
        self.tokens: list[str] = []

    @asynccontextmanager
    async def download(self, channel: Channel, media_id: str) -> AsyncIterator[MediaDownload]:
        self.tokens.append(channel.access_token.get_secret_value())

        async def body() -> AsyncIterator[bytes]:
            yield f"media:{media_id}".encode()

        yield MediaDownload(mime_type="image/png", length=None, body=body())


@dataclass
class Uploaded:
    token: str
    phone_number_id: str
    filename: str
    mime_type: str
    data: bytes


class FakeUploader:
    """Keeps what was uploaded and answers ids "9000", "9001", ...; ``error`` is raised instead
    when set (an upload Meta refuses, or an unreachable API)."""

    def __init__(self) -> None:
        self.uploads: list[Uploaded] = []
        self.error: Exception | None = None

    async def upload(self, channel: Channel, file: MediaFile) -> str:
        if self.error is not None:
            raise self.error
        self.uploads.append(Uploaded(channel.access_token.get_secret_value(),
                                     channel.phone_number_id, file.filename, file.mime_type,
                                     file.content.read()))
        return str(9000 + len(self.uploads) - 1)


def key_doc(key: str, tenant: str, agent: str, revoked: bool = False) -> Document:
    return {"_id": digest(key), "tenant_id": tenant, "agent_id": agent,
            "display_name": agent.title(), "kind": "agent", "created_at": NOW,
            "revoked_at": NOW if revoked else None}


def seeded_repository() -> FakeRepository:
    repository = FakeRepository()
    for key, tenant, agent, revoked in ((ACME_KEY, "acme", "ana", False),
                                        (GLOBEX_KEY, "globex", "gus", False),
                                        (REVOKED_KEY, "acme", "old", True)):
        doc = key_doc(key, tenant, agent, revoked)
        repository.keys[doc["_id"]] = doc
    repository.channels = {ACME.phone_number_id: ACME, GLOBEX.phone_number_id: GLOBEX}
    for channel in (ACME, GLOBEX):
        for name, body, status in (("hello_world", "Hello!", "APPROVED"),
                                   ("order_update", "Hi {{1}}, order {{2}} shipped.",
                                    "APPROVED"),
                                   ("paused_one", "Paused", "PAUSED")):
            doc_id = template_doc_id(channel.waba_id, name, "en_US")
            repository.template_docs[doc_id] = {
                "_id": doc_id, "tenant_id": channel.tenant_id, "waba_id": channel.waba_id,
                "name": name, "language": "en_US", "status": status, "category": "UTILITY",
                "components": [{"type": "BODY", "text": body}]}
    for doc in (conversation(), conversation("1001", "447700900001", minutes_ago=10,
                                             last_inbound_minutes_ago=25 * 60),
                conversation("1002", "16505550999", tenant="globex")):
        repository.conversation_docs[doc["_id"]] = doc
    return repository


@dataclass
class FakeArchive:
    """The media archive's bytes by location (a record's ``_id``)."""

    files: dict[str, bytes] = field(default_factory=dict)

    async def open(self, record: ArchivedMedia) -> MediaDownload | None:
        data = self.files.get(record.location or "")
        if data is None:
            return None

        async def body() -> AsyncIterator[bytes]:
            yield data

        return MediaDownload(mime_type=record.mime_type or "application/octet-stream",
                             length=len(data), body=body())


@dataclass
class Wiring:
    repository: FakeRepository
    publisher: FakePublisher
    media: FakeMedia
    hub: StreamHub
    state: State
    uploader: FakeUploader
    archive: FakeArchive = field(default_factory=FakeArchive)


def wire(repository: FakeRepository | None = None) -> Wiring:
    repository = repository or seeded_repository()
    publisher, media, hub = FakePublisher(), FakeMedia(), StreamHub(100, 10)
    uploader, archive = FakeUploader(), FakeArchive()
    hub.start_at({0: 0})

    def clock() -> datetime:
        return NOW

    state = State(settings=InboxApiSettings(), queries=InboxQueries(repository, clock),
                  commands=InboxCommands(repository, publisher, clock, uploader,
                                         notices=repository), hub=hub,
                  account_notices=AccountNoticesQuery(repository, clock),
                  media=InboxMedia(repository, publisher, clock, media, archive))
    return Wiring(repository, publisher, media, hub, state, uploader, archive)


class WithState:
    """What uvicorn does with the lifespan state: put it in each request's scope."""

    def __init__(self, app: Any, state: State) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            scope["state"] = dict(self.state)
        await self.app(scope, receive, send)
