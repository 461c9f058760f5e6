"""The hot queries of the read model, each declared by its shape, beside the indexes that serve it.

Production runs MongoDB; the local FerretDB v1 ignores secondary indexes (docs/infrastructure.md),
so nothing here would show a query that lost its index. Each hot query is therefore declared as
a :class:`QueryShape` (collection, equality fields, sort with directions, range fields, and the
fields only filtered after the index), and ``tests/unit/shared/test_query_indexes.py`` proves,
everywhere, that one of the declared indexes serves it by MongoDB's equality-sort-range rule with
no in-memory sort. Where a real MongoDB answers, ``tests/integration/shared/test_query_explain.py``
runs ``explain`` on the same declarations.

The indexes themselves are defined where they are created (a declaration names its index):
- ``conversations``, ``messages``: ``services/conversation_store/adapters/mongo.py`` ``INDEXES``;
- ``templates``: ``services/conversation_store/adapters/mongo_templates.py`` ``INDEXES``;
- ``campaigns``: ``shared/campaigns.py`` ``CAMPAIGN_INDEXES``;
- ``account_health``: ``shared/account_health.py`` ``INDEXES``;
- ``api_keys``, ``agents``, ``sessions``: ``services/inbox_api/accounts/repository.py``
  ``INDEXES``;
- every collection: MongoDB's own ``_id_``.

Adding a query: declare its shape here (or extend one), name the index that serves it, and use
the declared sort in the code (``.sort(SHAPE.sort_spec)``). A query that is deliberately left
to a scan or an in-memory sort goes in :data:`COLD_QUERIES`, with the reason.

Size: the one list of every collection's hot and cold queries, beside the rule that checks them;
split, a reader could no longer see all of a collection's queries (and indexes) in one place.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.account_health import ACCOUNT_HEALTH_COLLECTION
from shared.campaigns import (
    CAMPAIGN_NUMBERS_COLLECTION,
    CAMPAIGN_RECIPIENTS_COLLECTION,
    CAMPAIGN_RELEASE_HOURS_COLLECTION,
    CAMPAIGNS_COLLECTION,
    OPT_OUTS_COLLECTION,
)
from shared.channels import CHANNELS_COLLECTION
from shared.contacts import CONTACT_ALIASES_COLLECTION
from shared.media_archive import MEDIA_ARCHIVE_COLLECTION
from shared.templates import TEMPLATES_COLLECTION

CONVERSATIONS_COLLECTION = "conversations"
MESSAGES_COLLECTION = "messages"
# Collections that only one service touches (their constants live in that service).
API_KEYS_COLLECTION = "api_keys"
SESSIONS_COLLECTION = "sessions"
# People (issue 16): agents who sign in with email and password, their pending invitations, and
# failed sign-ins per email and per client (the throttle's counts).
AGENTS_COLLECTION = "agents"
INVITATIONS_COLLECTION = "invitations"
SIGN_IN_FAILURES_COLLECTION = "sign_in_failures"
# Single-use sign-in links (issue 17): a token's digest, whom it signs in, until when.
SIGN_IN_LINKS_COLLECTION = "sign_in_links"
TENANT_SETTINGS_COLLECTION = "tenant_settings"
SEND_ATTEMPTS_COLLECTION = "send_attempts"
SEND_RETRIES_COLLECTION = "send_retries"
SEND_OUTCOMES_COLLECTION = "send_outcomes"
# outbound_sender's shared per-number rate buckets (services/outbound_sender/shared_rate.py).
SEND_RATE_BUCKETS_COLLECTION = "send_rate_buckets"
# inbox_api's own: a tenant's labels, which labels each conversation carries (not on the
# conversation document, which conversation_store replaces whole: docs/inbox-api.md, "Labels"),
# canned replies, and the audit log.
LABELS_COLLECTION = "labels"
CONVERSATION_LABELS_COLLECTION = "conversation_labels"
CANNED_REPLIES_COLLECTION = "canned_replies"
AUDIT_LOG_COLLECTION = "audit_log"
# inbox_api's own (docs/inbox-api.md, "Teams, assignment and notes"): teams, the round-robin
# rotation (also read and advanced by conversation_store), private notes and unread mentions.
TEAMS_COLLECTION = "teams"
ROUND_ROBIN_COLLECTION = "round_robin"
NOTES_COLLECTION = "notes"
MENTIONS_COLLECTION = "mentions"
# inbox_api's own (docs/inbox-api.md, "Presence"): who has a conversation open, and typing.
PRESENCE_COLLECTION = "presence"

ASC, DESC = 1, -1
# Residual fields of a primary-key lookup: any (the one document is checked after the lookup).
ANY = "*"


@dataclass(frozen=True, slots=True)
class QueryShape:
    """One query's shape: what an index must serve for it to need neither a scan nor a sort.

    ``equality``: fields matched by value (or ``$in`` of values, in a query without sort);
    ``sort``: the sort keys with their directions, in order; ``range``: fields bounded by
    ``$lt``/``$gt``/anchored ``$regex`` (keyset cursors included; they may be absent on a first
    page); ``residual``: fields the query also filters on, checked on what the index returns
    (``ANY`` for a lookup by ``_id``)."""

    name: str
    collection: str
    index: str
    equality: tuple[str, ...]
    sort: tuple[tuple[str, int], ...] = ()
    range: tuple[str, ...] = ()
    residual: tuple[str, ...] = ()
    where: str = ""

    @property
    def sort_spec(self) -> list[tuple[str, int]]:
        """The sort as PyMongo's ``cursor.sort`` takes it."""
        return list(self.sort)


@dataclass(frozen=True, slots=True)
class ColdQuery:
    """A query deliberately not served by an index (or not without a sort), and why."""

    shape: QueryShape
    reason: str


_LIST_SORT = (("last_activity_at", DESC), ("_id", DESC))
_LIST_KEYSET = ("last_activity_at", "_id")
# Contact search (`search_keys` prefixes, or `_id $in` of the text-search hits): an `$or` the
# list's index filters in list order. MongoDB may prefer `tenant_search` plus a top-k sort of the
# matches when they are few; either plan is bounded by the page size.
_LIST_SEARCH = ("search_keys", "_id")
_INBOX = "services/inbox_api/conversations/repository.py"
_ACCOUNTS = "services/inbox_api/accounts/repository.py"


def _list(name: str, index: str, *extra: str) -> QueryShape:
    # ``merged_into: null``: a conversation merged into another is not listed (few are);
    # ``listed: {$ne: false}``: nor one with nothing to show yet (conversation_store listing.py).
    return QueryShape(name, CONVERSATIONS_COLLECTION, index, ("tenant_id", *extra), _LIST_SORT,
                      _LIST_KEYSET, (*_LIST_SEARCH, "merged_into", "listed"),
                      f"{_INBOX} conversations()")


def by_id(collection: str, where: str) -> QueryShape:
    """A lookup (or conditional write) by ``_id`` or ``_id $in``: the primary key."""
    return QueryShape(f"{collection}.by_id", collection, "_id_", ("_id",), residual=(ANY,),
                      where=where)


# The inbox list: every filter the API allows (all, open/resolved, unread, mine/unassigned), each
# with or without a search and a keyset cursor.
CONVERSATION_LIST = _list("conversations.list", "tenant_activity")
CONVERSATION_LIST_BY_STATUS = _list("conversations.list.status", "tenant_status_activity",
                                    "status")
CONVERSATION_LIST_UNREAD = _list("conversations.list.unread", "tenant_unread_activity",
                                 "has_unread")
CONVERSATION_LIST_BY_ASSIGNEE = _list("conversations.list.assignee", "tenant_assignee_activity",
                                      "assignee_id")
# A thread, newest first, paginated backwards by sort key.
THREAD = QueryShape("messages.thread", MESSAGES_COLLECTION, "thread_order",
                    ("tenant_id", "conversation_id"), (("sort_key", DESC),), ("sort_key",),
                    ("visible",), f"{_INBOX} thread()")
# Message-text search: the tenant's newest messages, a bounded window matched in inbox_api.
RECENT_MESSAGES = QueryShape("messages.tenant_recent", MESSAGES_COLLECTION, "tenant_recent",
                             ("tenant_id",), (("sort_key", DESC),),
                             where=f"{_INBOX} _conversations_with_text()")
# Quoted messages' previews, and the store's load of a thread's messages by WhatsApp id.
MESSAGES_BY_WAMID = QueryShape("messages.by_wamid", MESSAGES_COLLECTION, "wamid", ("wamid",),
                               residual=("tenant_id", "conversation_id", "stub", "direction",
                                         "visible"),
                               where=f"{_INBOX} previews(); {_INBOX} customer_wamid(); "
                                     "conversation_store load()")
# A thread's newest customer message (a read receipt's target): newest first, ours skipped.
LATEST_CUSTOMER_MESSAGE = QueryShape("messages.latest_customer", MESSAGES_COLLECTION,
                                     "thread_order", ("tenant_id", "conversation_id"),
                                     (("sort_key", DESC),), (), ("direction", "visible"),
                                     f"{_INBOX} customer_wamid()")
# A merge's hand-over: every message of the absorbed conversation (rare, bounded by the thread).
MESSAGES_OF_THREADS = QueryShape(
    "messages.of_threads", MESSAGES_COLLECTION, "thread_order", ("tenant_id", "conversation_id"),
    where="services/conversation_store/adapters/mongo.py _threads()")
# A campaign report's reply attribution: messages of its conversations since it started.
CAMPAIGN_THREAD_FACTS = QueryShape(
    "messages.campaign_thread_facts", MESSAGES_COLLECTION, "thread_order",
    ("tenant_id", "conversation_id"), residual=("sent_at",),
    where="services/inbox_api/campaigns/repository.py thread_facts()")
# The campaigns page, newest first (keyset on created_at, _id); the state filter is residual.
CAMPAIGN_LIST = QueryShape("campaigns.list", CAMPAIGNS_COLLECTION, "tenant_created",
                           ("tenant_id",), (("created_at", DESC), ("_id", DESC)),
                           ("created_at", "_id"), ("state",),
                           "services/inbox_api/campaigns/repository.py page()")
# The dispatcher's due campaigns: running ones, and scheduled ones whose time has come.
CAMPAIGNS_RUNNING = QueryShape("campaigns.running", CAMPAIGNS_COLLECTION, "state_due", ("state",),
                               where="services/outbound_sender/adapters/campaign_mongo.py due()")
CAMPAIGNS_DUE = QueryShape("campaigns.due", CAMPAIGNS_COLLECTION, "state_due", ("state",),
                           range=("schedule.at_utc",),
                           where="services/outbound_sender/adapters/campaign_mongo.py due()")
# The contact search's `search_keys` branch (`{tenant_id, search_keys: /^prefix/}`), which
# MongoDB's OR plan for a search reads by index instead of filtering the list's index.
CONTACT_SEARCH = QueryShape("conversations.search_keys", CONVERSATIONS_COLLECTION,
                            "tenant_search", ("tenant_id",), range=("search_keys",),
                            where=f"{_INBOX} _search()")
# The composer's approved templates of a tenant, by name.
TEMPLATES_BY_STATUS = QueryShape("templates.composer", TEMPLATES_COLLECTION,
                                 "tenant_status_name", ("tenant_id", "status"),
                                 (("name", ASC),), where=f"{_INBOX} templates()")
# The banner's and the send pre-check's notices of a tenant (Meta's account notices), newest first.
ACCOUNT_NOTICES = QueryShape("account_health.of_tenant", ACCOUNT_HEALTH_COLLECTION, "tenant_at",
                             ("tenant_id",), (("at", DESC),),
                             where="services/inbox_api/account_health/repository.py notices()")
# The agents list: a tenant's usable keys by agent.
AGENT_KEYS = QueryShape("api_keys.agents", API_KEYS_COLLECTION, "tenant_agent", ("tenant_id",),
                        (("agent_id", ASC),), residual=("revoked_at",),
                        where=f"{_ACCOUNTS} agent_keys()")
# The team page: a tenant's people by agent id (sorted by name in memory: a team, not a crowd).
AGENTS_OF_TENANT = QueryShape("agents.of_tenant", AGENTS_COLLECTION, "tenant_agent",
                              ("tenant_id",), (("agent_id", ASC),),
                              where=f"{_ACCOUNTS} tenant_agents()")
# Password sign-in: the people with that email (one per tenant at most; the index is unique).
AGENTS_BY_EMAIL = QueryShape("agents.by_email", AGENTS_COLLECTION, "email_tenant", ("email",),
                             residual=("active",), where=f"{_ACCOUNTS} agents_by_email()")
# Deactivating someone ends their sessions at once.
SESSIONS_OF_AGENT = QueryShape("sessions.of_agent", SESSIONS_COLLECTION, "tenant_agent",
                               ("tenant_id", "agent_id"),
                               where=f"{_ACCOUNTS} delete_agent_sessions()")
# Keys through the API (services/inbox_api/keys/): the Keys section's list (sorted by creation
# in memory: a few per agent), a key by its id (the start of its digest: an `_id` range), and
# the sessions made from a revoked key.
_KEYS = "services/inbox_api/keys/repository.py"
KEYS_OF_TENANT = QueryShape("api_keys.of_tenant", API_KEYS_COLLECTION, "tenant_agent",
                            ("tenant_id",), (("agent_id", ASC),), residual=("revoked_at",),
                            where=f"{_KEYS} tenant_keys()")
KEYS_BY_ID_PREFIX = QueryShape("api_keys.by_id_prefix", API_KEYS_COLLECTION, "_id_", (),
                               range=("_id",), residual=("tenant_id",),
                               where=f"{_KEYS} keys_with_prefix()")
SESSIONS_OF_KEY = QueryShape("sessions.of_key", SESSIONS_COLLECTION, "tenant_agent",
                             ("tenant_id",), residual=("key_hash",),
                             where=f"{_KEYS} delete_key_sessions()")
# Labels (services/inbox_api/labels/): a tenant's labels by name; the conversations carrying one
# (the list's label filter becomes an `_id $in` residual of the list's index, as a search's hits;
# a label's deletion pulls it from them).
_LABELS = "services/inbox_api/labels/repository.py"
LABELS_OF_TENANT = QueryShape("labels.of_tenant", LABELS_COLLECTION, "tenant_name",
                              ("tenant_id",), (("name_key", ASC),),
                              where=f"{_LABELS} labels(); {_INBOX} label_names()")
CONVERSATIONS_WITH_LABEL = QueryShape(
    "conversation_labels.with_label", CONVERSATION_LABELS_COLLECTION, "tenant_label",
    ("tenant_id", "label_ids"), where=f"{_INBOX} labelled(); {_LABELS} delete_label()")
# Canned replies by shortcut (the composer's "/sho" is a prefix range on the same index).
CANNED_REPLIES = QueryShape("canned_replies.of_tenant", CANNED_REPLIES_COLLECTION,
                            "tenant_shortcut", ("tenant_id",), (("shortcut", ASC),),
                            ("shortcut",),
                            where="services/inbox_api/canned_replies/repository.py replies()")
# The audit log, newest first, keyset on (at, _id), bounded by since/until; by agent or action.
_AUDIT = "services/inbox_api/audit/repository.py entries()"
_AUDIT_SORT = (("at", DESC), ("_id", DESC))
AUDIT_LOG = QueryShape("audit_log.of_tenant", AUDIT_LOG_COLLECTION, "tenant_at", ("tenant_id",),
                       _AUDIT_SORT, ("at", "_id"), where=_AUDIT)
AUDIT_LOG_BY_AGENT = QueryShape("audit_log.by_agent", AUDIT_LOG_COLLECTION, "tenant_agent_at",
                                ("tenant_id", "agent_id"), _AUDIT_SORT, ("at", "_id"),
                                ("action",), where=_AUDIT)
AUDIT_LOG_BY_ACTION = QueryShape("audit_log.by_action", AUDIT_LOG_COLLECTION,
                                 "tenant_action_at", ("tenant_id", "action"), _AUDIT_SORT,
                                 ("at", "_id"), where=_AUDIT)
# Teams by name; a conversation's private notes, oldest first (keyset on created_at, _id).
_TEAMS = "services/inbox_api/teams/repository.py"
_NOTES = "services/inbox_api/notes/repository.py"
TEAMS_OF_TENANT = QueryShape("teams.of_tenant", TEAMS_COLLECTION, "tenant_name", ("tenant_id",),
                             (("name_key", ASC),), where=f"{_TEAMS} MongoTeamRepository.teams()")
NOTES_OF_CONVERSATION = QueryShape(
    "notes.of_conversation", NOTES_COLLECTION, "conversation_created",
    ("tenant_id", "conversation_id"), (("created_at", ASC), ("_id", ASC)), ("created_at", "_id"),
    where=f"{_NOTES} MongoNoteRepository.notes()")
# Who is on a conversation now: its unexpired presence entries (a handful, ordered in memory by
# presence/rules.py), and a heartbeat's sweep of the expired ones (FerretDB has no TTL index).
_PRESENCE = "services/inbox_api/presence/repository.py"
PRESENCE_OF_CONVERSATION = QueryShape(
    "presence.of_conversation", PRESENCE_COLLECTION, "conversation_expires",
    ("tenant_id", "conversation_id"), range=("expires_at",),
    where=f"{_PRESENCE} MongoPresenceRepository.present(); "
          f"{_PRESENCE} MongoPresenceRepository.sweep()")

# Primary-key reads and conditional writes: the store's loads (conversations and messages by
# `_id $in`), the sender's ledger, windows, opt-outs and template statuses, the dispatcher's
# recipients (a position range is an `_id $in`), numbers, hourly counts and leases.
BY_ID: tuple[QueryShape, ...] = (
    by_id(CONVERSATIONS_COLLECTION, "conversation_store load(); outbound_sender windows; "
          "inbox_api conversation()"),
    by_id(MESSAGES_COLLECTION, "conversation_store load(); campaign report join"),
    by_id(TEMPLATES_COLLECTION, "outbound_sender status; store fold; inbox_api template API"),
    by_id(OPT_OUTS_COLLECTION, "outbound_sender refusal; store opt-out fold; dispatcher; "
          "inbox_api's opted-out marker and template pre-check (`_id $in` of a page)"),
    by_id(ACCOUNT_HEALTH_COLLECTION, "outbound_sender's refusing notices (`_id $in`); store "
          "account-health fold"),
    by_id(CAMPAIGNS_COLLECTION, "leases, state changes, counters"),
    by_id(CAMPAIGN_RECIPIENTS_COLLECTION, "release and report ranges"),
    by_id(CAMPAIGN_NUMBERS_COLLECTION, "duplicate numbers at upload"),
    by_id(CAMPAIGN_RELEASE_HOURS_COLLECTION, "the messaging limit's hourly counts"),
    by_id(CHANNELS_COLLECTION, "a business number's channel"),
    by_id(SEND_ATTEMPTS_COLLECTION, "the send ledger"),
    by_id(SEND_RETRIES_COLLECTION, "the send ledger"),
    by_id(SEND_OUTCOMES_COLLECTION, "the send ledger"),
    by_id(SEND_RATE_BUCKETS_COLLECTION, "a number's shared rate: read, then a CAS on `version`"),
    by_id(API_KEYS_COLLECTION, "authentication"),
    by_id(SESSIONS_COLLECTION, "authentication"),
    # A person by `<tenant>:<agent id>` (every request re-checks they are active), an
    # invitation by its token's digest, a throttle count by its key.
    by_id(AGENTS_COLLECTION, f"{_ACCOUNTS} agent(); deactivate_agent()"),
    by_id(INVITATIONS_COLLECTION, f"{_ACCOUNTS} invitation(); take_invitation()"),
    by_id(SIGN_IN_FAILURES_COLLECTION, f"{_ACCOUNTS} failures(); record_failures()"),
    by_id(SIGN_IN_LINKS_COLLECTION, f"{_ACCOUNTS} take_sign_in_link()"),
    # The media archive: one record (the proxy, a retry) or a thread page's (`_id $in`).
    by_id(MEDIA_ARCHIVE_COLLECTION, f"{_INBOX} archived_media(); "
          "services/conversation_store/media/adapters/mongo.py MongoArchiveRecords.begin()"),
    by_id(TENANT_SETTINGS_COLLECTION, f"{_ACCOUNTS} tenant_settings(); a tenant's settings"),
    # A customer's number or BSUID -> their conversation (`_id $in`, on a cache miss only).
    by_id(CONTACT_ALIASES_COLLECTION, "shared/contact_directory.py ContactDirectory._load(); "
          "webhook_ingest and inbox_api resolve()"),
    by_id(LABELS_COLLECTION, f"{_LABELS} label(); a label's edit or deletion"),
    # A conversation's labels, or a list page's (`_id $in`; the id is the conversation's).
    by_id(CONVERSATION_LABELS_COLLECTION, f"{_LABELS} conversation_labels(); "
          f"{_INBOX} conversation_labels()"),
    by_id(TEAMS_COLLECTION, f"{_TEAMS} MongoTeamRepository.team(); a team's edit or deletion"),
    # One per tenant: the admin's switch, the agents who opted in, and the atomic pointer.
    by_id(ROUND_ROBIN_COLLECTION, f"{_TEAMS} MongoTeamRepository.rotation(); "
          "services/conversation_store/adapters/mongo_round_robin.py MongoRotation.next()"),
    # A note by id; the caller's unread mentions of a list page (`_id $in`: tenant:agent:cid).
    by_id(NOTES_COLLECTION, f"{_NOTES} MongoNoteRepository.add()"),
    by_id(MENTIONS_COLLECTION, f"{_NOTES} MongoNoteRepository.unread_mentions()"),
    # One agent's entry on one conversation (`tenant|conversation|agent`): a heartbeat, a goodbye.
    by_id(PRESENCE_COLLECTION, f"{_PRESENCE} MongoPresenceRepository.entry(); "
          f"{_PRESENCE} MongoPresenceRepository.put(); "
          f"{_PRESENCE} MongoPresenceRepository.remove()"),
    by_id(CANNED_REPLIES_COLLECTION, "a canned reply's read, edit or deletion"),
    by_id(AUDIT_LOG_COLLECTION, "one audit entry (GET /audit/{entry_id})"),
)

HOT_QUERIES: tuple[QueryShape, ...] = (
    CONVERSATION_LIST,
    CONVERSATION_LIST_BY_STATUS,
    CONVERSATION_LIST_UNREAD,
    CONVERSATION_LIST_BY_ASSIGNEE,
    CONTACT_SEARCH,
    THREAD,
    RECENT_MESSAGES,
    MESSAGES_BY_WAMID,
    LATEST_CUSTOMER_MESSAGE,
    MESSAGES_OF_THREADS,
    CAMPAIGN_THREAD_FACTS,
    CAMPAIGN_LIST,
    CAMPAIGNS_RUNNING,
    CAMPAIGNS_DUE,
    TEMPLATES_BY_STATUS,
    ACCOUNT_NOTICES,
    AGENT_KEYS,
    AGENTS_OF_TENANT,
    AGENTS_BY_EMAIL,
    SESSIONS_OF_AGENT,
    KEYS_OF_TENANT,
    KEYS_BY_ID_PREFIX,
    SESSIONS_OF_KEY,
    LABELS_OF_TENANT,
    CONVERSATIONS_WITH_LABEL,
    CANNED_REPLIES,
    AUDIT_LOG,
    AUDIT_LOG_BY_AGENT,
    AUDIT_LOG_BY_ACTION,
    TEAMS_OF_TENANT,
    NOTES_OF_CONVERSATION,
    PRESENCE_OF_CONVERSATION,
    *BY_ID,
)

_TEMPLATES_API = "services/inbox_api/templates/repository.py"
COLD_QUERIES: tuple[ColdQuery, ...] = (
    ColdQuery(QueryShape("templates.of_tenant", TEMPLATES_COLLECTION, "tenant_status_name",
                         ("tenant_id", "status"), (("name", ASC), ("language", ASC)),
                         where=f"{_TEMPLATES_API} of_tenant()"),
              "the Templates page: the index bounds the read to a tenant's templates of that "
              "status and the language tie-break is sorted in memory (a few hundred at most)"),
    ColdQuery(QueryShape("templates.all_of_tenant", TEMPLATES_COLLECTION, "tenant_status_name",
                         ("tenant_id",), (("name", ASC), ("language", ASC)),
                         where=f"{_TEMPLATES_API} of_tenant(status=None)"),
              "the Templates page without a status filter: the tenant's templates, sorted in "
              "memory"),
    ColdQuery(QueryShape("templates.all_of_tenant_by_name", TEMPLATES_COLLECTION,
                         "tenant_status_name", ("tenant_id",), (("name", ASC),),
                         where=f"{_INBOX} templates(status=None)"),
              "the composer's list without a status: the tenant's templates, sorted in memory"),
    ColdQuery(QueryShape("templates.of_account", TEMPLATES_COLLECTION, "", ("waba_id",),
                         where=f"{_TEMPLATES_API} of_account()"),
              "the template sync (start-up and on request), not a request path: a scan"),
    ColdQuery(QueryShape("channels.of_tenant", CHANNELS_COLLECTION, "", ("tenant_id",),
                         (("_id", ASC),), where=f"{_ACCOUNTS} tenant_channels()"),
              "channels are one document per business number: the whole collection is small "
              "and every service caches it"),
    ColdQuery(QueryShape("channels.of_tenant_unsorted", CHANNELS_COLLECTION, "", ("tenant_id",),
                         where=f"{_TEMPLATES_API} channels()"), "as channels.of_tenant"),
    ColdQuery(QueryShape("channels.all", CHANNELS_COLLECTION, "", (),
                         where="shared/channels.py ChannelDirectory.load()"),
              "every service's cached channel directory reads the whole small collection"),
    ColdQuery(QueryShape("messages.media_owner", MESSAGES_COLLECTION, "tenant_recent",
                         ("tenant_id",), residual=("content.id", "content.media.id"),
                         where=f"{_INBOX} media_message()"),
              "a media download not served by the archive (not stored yet, or older than it), "
              "and a retry of media without an archive record: reads the tenant's messages "
              "newest first until one carries the media id (found at once for recent media, a "
              "long read for old media)"),
)


IndexKeys = tuple[tuple[str, int], ...]


def why_not_served(shape: QueryShape, keys: IndexKeys) -> str | None:
    """None when an index on ``keys`` serves ``shape`` with no in-memory sort, else why not.

    MongoDB's equality-sort-range rule: the equality fields form the index's prefix (in any
    order); the sort keys follow, in order, with every direction as declared or every one
    reversed; range fields come after (a range on a sort key is served by the same scan). A
    query without sort needs its equality prefix, and a range right after it when it has one."""
    fields = [field for field, _ in keys]
    prefix = len(shape.equality)
    if set(fields[:prefix]) != set(shape.equality) or len(fields) < prefix:
        return f"equality {sorted(shape.equality)} is not the prefix of {fields}"
    rest = list(keys[prefix:])
    if shape.sort:
        covered = rest[:len(shape.sort)]
        if [f for f, _ in covered] != [f for f, _ in shape.sort]:
            return f"sort {list(shape.sort)} does not follow the equality prefix in {fields}"
        same = all(d == want for (_, d), (_, want) in zip(covered, shape.sort, strict=True))
        reversed_ = all(d == -want for (_, d), (_, want) in zip(covered, shape.sort, strict=True))
        if not (same or reversed_):
            return f"sort {list(shape.sort)} mixes directions against {list(keys)}"
        after = [f for f, _ in rest[len(shape.sort):]]
        sort_fields = {f for f, _ in shape.sort}
        missing = [r for r in shape.range if r not in sort_fields and r not in after]
        if missing:
            return f"range {missing} not in {fields} after the sort keys"
        return None
    if shape.range and (not rest or rest[0][0] not in shape.range):
        return f"range {list(shape.range)} does not follow the equality prefix in {fields}"
    return None
