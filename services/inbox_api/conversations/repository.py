"""The conversations' MongoDB queries: reads ``conversations`` and ``messages`` (written by
conversation_store) and ``templates`` (a send's template, the composer's list), on top of the
accounts' queries (one repository object serves a request).

Queries stay within what FerretDB v1 runs well: find with equality, ranges, ``$in``, anchored
``$regex``, sort and limit on the indexes docs/data-model.md lists. Every query filters on
``tenant_id`` first: that is both the index prefix and the tenant wall. The hot ones sort by
their declared shape (shared/read_model.py), whose index a unit test checks.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from services.inbox_api.accounts.repository import MongoAccountRepository
from services.inbox_api.conversations.cursors import ListPosition
from services.inbox_api.conversations.schemas import ListFilter
from services.inbox_api.teams.assignees import TEAM_PREFIX
from shared.campaigns import CAMPAIGNS_COLLECTION, OPT_OUTS_COLLECTION
from shared.media_archive import MEDIA_ARCHIVE_COLLECTION, archive_id
from shared.read_model import (
    CONVERSATION_LABELS_COLLECTION,
    CONVERSATION_LIST,
    LABELS_COLLECTION,
    LABELS_OF_TENANT,
    LATEST_CUSTOMER_MESSAGE,
    RECENT_MESSAGES,
    TEMPLATES_BY_STATUS,
    THREAD,
)
from shared.templates import TEMPLATES_COLLECTION, template_doc_id

Document = dict[str, Any]

CONVERSATIONS = "conversations"
MESSAGES = "messages"
# Message-text search reads at most this many of a tenant's newest messages (index
# ``tenant_recent``) and matches them here: the cost of a search is bounded whatever it asks for.
TEXT_SEARCH_SCAN = 2000
# A tenant's labels (a short list), and the conversations one label filter or search reads at most.
LABELS_SCAN = 500
LABELLED_SCAN = 20_000


class MongoInboxRepository(MongoAccountRepository):
    """The inbox's reads, and (inherited) the accounts' credentials and channels."""

    # -- templates -----------------------------------------------------------------------------

    async def template(self, waba_id: str, name: str, language: str) -> Document | None:
        return await self.db[TEMPLATES_COLLECTION].find_one(
            {"_id": template_doc_id(waba_id, name, language)})

    async def templates(self, tenant_id: str, status: str | None) -> list[Document]:
        """The composer's list (``GET /templates``, a ``TemplateReader`` to the templates)."""
        query: Document = {"tenant_id": tenant_id}
        if status:
            query["status"] = status.upper()
        cursor = (self.db[TEMPLATES_COLLECTION].find(query).sort(TEMPLATES_BY_STATUS.sort_spec)
                  .limit(500))
        return await cursor.to_list(None)

    async def opt_outs(self, ids: Sequence[str]) -> list[Document]:
        """Customers' marketing opt-outs (conversation_store's ``opt_outs``), one ``_id $in``."""
        if not ids:
            return []
        cursor = self.db[OPT_OUTS_COLLECTION].find(
            {"_id": {"$in": sorted(set(ids))}},
            {"opted_out": 1, "source": 1, "keyword": 1, "at": 1})
        return await cursor.to_list(None)

    # -- conversations ---------------------------------------------------------------------------

    async def conversation(self, tenant_id: str, conversation_id: str) -> Document | None:
        return await self.db[CONVERSATIONS].find_one(
            {"_id": conversation_id, "tenant_id": tenant_id}, {"fold": 0})

    async def conversations(self, tenant_id: str, *, filter: ListFilter | str, agent_id: str,
                            q: str | None, after: ListPosition | None,
                            limit: int, label: str | None = None) -> list[Document]:
        """A page of the list, newest activity first (``limit`` + 1 asked by the caller to
        learn whether there is a next page); with ``label``, of the conversations carrying it
        (an ``_id $in`` the list's index filters, as a search's hits)."""
        # Not one with nothing to show yet (only a status or a reaction of an unknown message:
        # conversation_store listing.py); documents older than the field are listed. Nor one
        # merged into another of the same customer (conversation_store merge.py).
        query: Document = {"tenant_id": tenant_id, "listed": {"$ne": False}, "merged_into": None}
        if filter in ("open", "resolved"):
            query["status"] = filter
        elif filter == "unread":
            query["has_unread"] = True
        elif filter == "mine":
            query["assignee_id"] = agent_id
        elif filter == "unassigned":
            query["assignee_id"] = None
        elif filter.startswith(TEAM_PREFIX):  # a team's conversations (teams/assignees.py)
            query["assignee_id"] = filter
        if label is not None:
            query["_id"] = {"$in": await self.labelled(tenant_id, [label])}
        clauses: list[Document] = []
        if q:
            clauses.append({"$or": await self._search(tenant_id, q)})
        if after is not None:
            clauses.append({"$or": [
                {"last_activity_at": {"$lt": after.last_activity_at}},
                {"last_activity_at": after.last_activity_at,
                 "_id": {"$lt": after.conversation_id}},
            ]})
        if len(clauses) == 1:
            query.update(clauses[0])
        elif clauses:
            query["$and"] = clauses
        cursor = (self.db[CONVERSATIONS].find(query, {"fold": 0})
                  .sort(CONVERSATION_LIST.sort_spec).limit(limit))
        return await cursor.to_list(None)

    async def _search(self, tenant_id: str, q: str) -> list[Document]:
        """Name-word, number, username or BSUID prefix (indexed ``search_keys``, which the
        store fills with all of them, lowercased), or a message's text."""
        text = q.strip().lower()
        prefixes = {text}
        if text.startswith("@") and len(text) > 1:
            prefixes.add(text[1:])  # "@ana" finds the username "ana.garcia"
        digits = re.sub(r"[\s()+-]", "", text)
        if digits.isdigit():
            prefixes.add(digits)
        ors: list[Document] = [{"search_keys": {"$regex": f"^{re.escape(p)}"}} for p in prefixes]
        ids = await self._conversations_with_text(tenant_id, text)
        # A label's name (its start) finds the conversations carrying it.
        labels = [d["_id"] for d in await self.label_names(tenant_id)
                  if str(d.get("name_key") or "").startswith(text)]
        ids = sorted({*ids, *(await self.labelled(tenant_id, labels) if labels else [])})
        if ids:
            ors.append({"_id": {"$in": ids}})
        return ors

    # -- labels (labels/ writes them) ------------------------------------------------------------

    async def label_names(self, tenant_id: str) -> list[Document]:
        """The tenant's labels, by name (a short list: labels/repository.py)."""
        cursor = (self.db[LABELS_COLLECTION].find({"tenant_id": tenant_id},
                                                  {"name": 1, "name_key": 1, "colour": 1})
                  .sort(LABELS_OF_TENANT.sort_spec).limit(LABELS_SCAN))
        return await cursor.to_list(None)

    async def labelled(self, tenant_id: str, label_ids: Sequence[str]) -> list[str]:
        """The conversations carrying any of these labels (index ``tenant_label``)."""
        cursor = self.db[CONVERSATION_LABELS_COLLECTION].find(
            {"tenant_id": tenant_id, "label_ids": {"$in": list(label_ids)}},
            {"_id": 1}).limit(LABELLED_SCAN)
        return [str(doc["_id"]) async for doc in cursor]

    async def conversation_labels(self, tenant_id: str,
                                  conversation_ids: Sequence[str]) -> dict[str, Document]:
        """``label_ids`` and ``updated_at`` by conversation, for a page (one ``_id $in``)."""
        cursor = self.db[CONVERSATION_LABELS_COLLECTION].find(
            {"_id": {"$in": list(conversation_ids)}, "tenant_id": tenant_id},
            {"label_ids": 1, "updated_at": 1})
        return {str(doc["_id"]): doc async for doc in cursor}

    async def _conversations_with_text(self, tenant_id: str, text: str) -> list[str]:
        """Conversations among the tenant's newest messages whose text contains ``text``.

        A regex in the query would bound the matches, not the reads: a text no message contains
        would read every message of the tenant. Reading the newest window by index and matching
        here bounds both (older messages are found through the contact's name or number)."""
        cursor = (self.db[MESSAGES]
                  .find({"tenant_id": tenant_id}, {"conversation_id": 1, "preview": 1,
                                                   "visible": 1})
                  .sort(RECENT_MESSAGES.sort_spec).limit(TEXT_SEARCH_SCAN))
        found: set[str] = set()
        async for doc in cursor:
            if doc.get("visible") and text in str(doc.get("preview") or "").lower():
                found.add(doc["conversation_id"])
        return sorted(found)

    # -- messages ---------------------------------------------------------------------------------

    async def thread(self, tenant_id: str, conversation_id: str, before: str | None,
                     limit: int) -> list[Document]:
        """Visible messages, newest first, older than ``before`` (a sort key)."""
        query: Document = {"tenant_id": tenant_id, "conversation_id": conversation_id,
                           "visible": True}
        if before is not None:
            query["sort_key"] = {"$lt": before}
        cursor = (self.db[MESSAGES].find(query, {"fold": 0}).sort(THREAD.sort_spec)
                  .limit(limit))
        return await cursor.to_list(None)

    async def previews(self, tenant_id: str, conversation_id: str,
                       wamids: Sequence[str]) -> dict[str, str]:
        """Previews of quoted messages by wamid (for reply context)."""
        if not wamids:
            return {}
        cursor = self.db[MESSAGES].find(
            {"wamid": {"$in": list(wamids)}, "tenant_id": tenant_id,
             "conversation_id": conversation_id, "stub": {"$ne": True}},
            {"wamid": 1, "preview": 1})
        return {doc["wamid"]: doc.get("preview") or "" async for doc in cursor}

    async def campaign_names(self, tenant_id: str,
                             campaign_ids: Sequence[str]) -> dict[str, str]:
        """The names of the campaigns that sent a page's messages (by ``_id``)."""
        if not campaign_ids:
            return {}
        cursor = self.db[CAMPAIGNS_COLLECTION].find(
            {"_id": {"$in": list(campaign_ids)}, "tenant_id": tenant_id}, {"name": 1})
        return {doc["_id"]: doc["name"] async for doc in cursor
                if isinstance(doc.get("name"), str) and doc["name"]}

    async def customer_wamid(self, tenant_id: str, conversation_id: str,
                             wamid: str | None = None) -> str | None:
        """The wamid of the customer's newest message in the thread; with ``wamid``, that one
        if it is a message the customer sent in this thread. None when there is none."""
        query: Document = {"tenant_id": tenant_id, "conversation_id": conversation_id,
                           "direction": "inbound", "visible": True}
        if wamid is not None:
            doc = await self.db[MESSAGES].find_one({"wamid": wamid, **query}, {"wamid": 1})
        else:
            doc = await self.db[MESSAGES].find_one(
                query, {"wamid": 1}, sort=LATEST_CUSTOMER_MESSAGE.sort_spec)
        found = doc.get("wamid") if doc else None
        return found if isinstance(found, str) and found else None

    async def media_owner(self, tenant_id: str, media_id: str) -> str | None:
        """The business number whose message carries this media (the token to fetch it with)."""
        doc = await self.media_message(tenant_id, media_id)
        return doc.get("business_phone_number_id") if doc else None

    async def media_message(self, tenant_id: str, media_id: str) -> Document | None:
        """The tenant's message that carries this media (a cold query: shared/read_model.py)."""
        return await self.db[MESSAGES].find_one(
            {"tenant_id": tenant_id, "$or": [{"content.id": media_id},
                                             {"content.media.id": media_id}]},
            {"fold": 0})

    async def archived_media(self, tenant_id: str,
                             media_ids: Sequence[str]) -> dict[str, Document]:
        """The tenant's ``media_archive`` records of these media, by media id (by ``_id``:
        the id names the tenant, so another tenant's record is never read)."""
        if not media_ids:
            return {}
        cursor = self.db[MEDIA_ARCHIVE_COLLECTION].find(
            {"_id": {"$in": [archive_id(tenant_id, m) for m in media_ids]},
             "tenant_id": tenant_id})
        return {doc["media_id"]: doc async for doc in cursor}
