"""The invariants, checked against the sandbox's own record of what happened and the store's
MongoDB documents (docs/data-model.md), never against what the services say about themselves.

- every inbound message answered 200 is in exactly one thread, once (and one never answered 200,
  which the sandbox keeps re-posting as Meta does, is there too by quiescence, at most once);
- every send command reached Meta at most once (sandbox requests are mapped to commands through
  ``biz_opaque_callback_data``), and every command has a visible outcome: accepted, delivered or
  read; refused with a reason; failed with a code; ``unknown`` only while Meta sent no status;
- each message's final status is the highest status the sandbox delivered for it;
- unread counts and last-activity order match a model computed from the sandbox's log.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sandbox.records import EmittedStatus, ReceivedRequest
from sandbox.records import InboundRecord as SandboxInbound
from shared.callback_data import decode
from shared.phone import canonical_wa_id, conversation_id
from tests.reliability.harness import TENANT, ReliabilityStack
from tests.reliability.load import LoadRecord

Document = dict[str, Any]
# Meta's statuses, lowest first; failed is above all (data-model.md).
RANK = {"unknown": 0, "accepted": 1, "sent": 2, "delivered": 3, "read": 4, "played": 5,
        "failed": 9, "refused": 9}
SENT_STATES = ("accepted", "sent", "delivered", "read", "played")
# WhatsApp times vs the sandbox's record of an acceptance: the sender's clock, whole seconds.
ACTIVITY_TOLERANCE = timedelta(seconds=2)


@dataclass
class Findings:
    """Violations by kind (each a readable sentence), and what was checked."""

    lost: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    wrong_status: list[str] = field(default_factory=list)
    stuck_unknown: list[str] = field(default_factory=list)
    other: list[str] = field(default_factory=list)
    checked_inbound: int = 0
    checked_commands: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.lost or self.duplicated or self.wrong_status or self.stuck_unknown
                    or self.other)

    def headline(self) -> str:
        """One line: the counts, and the first violation."""
        first = next(iter(self.lost + self.duplicated + self.wrong_status + self.stuck_unknown
                          + self.other), "")
        return (f"invariants: {len(self.lost)} lost, {len(self.duplicated)} duplicated, "
                f"{len(self.wrong_status)} wrong final status, {len(self.stuck_unknown)} stuck "
                f"unknown, {len(self.other)} other; first: {first}")

    def summary(self, limit: int = 6) -> str:
        parts = []
        for name in ("lost", "duplicated", "wrong_status", "stuck_unknown", "other"):
            items: list[str] = getattr(self, name)
            if items:
                shown = "\n    ".join(items[:limit])
                more = f"\n    ... and {len(items) - limit} more" if len(items) > limit else ""
                parts.append(f"  {name} ({len(items)}):\n    {shown}{more}")
        return "\n".join(parts) or "  all invariants hold"


async def check(stack: ReliabilityStack, load: LoadRecord) -> Findings:
    """Every invariant over one scenario's load, as things stand now."""
    received = await stack.sandbox.received()
    statuses = await stack.sandbox.statuses()
    customers = load.customers()
    log = [i for i in await stack.sandbox.customer_messages() if i.from_wa_id in customers]
    findings = Findings()
    conversations = load.conversations() | {
        conversation_id(i.phone_number_id, i.from_wa_id) for i in log}
    messages = await stack.db["messages"].find(
        {"tenant_id": TENANT, "conversation_id": {"$in": sorted(conversations)}}).to_list(None)
    convs = {d["_id"]: d for d in await stack.db["conversations"].find(
        {"_id": {"$in": sorted(conversations)}}).to_list(None)}
    _check_inbound(load, log, messages, findings)
    accepted_at = _check_commands(load, received, statuses, customers, messages, findings)
    model = _model(log, accepted_at)
    _check_conversations(log, model, convs, findings)
    await _check_order(stack, model, findings)
    return findings


async def settle(stack: ReliabilityStack, load: LoadRecord, timeout: float) -> Findings:
    """Wait (bounded) for quiescence: until every invariant holds, or ``timeout`` is up; the
    findings at that moment."""
    deadline = time.monotonic() + timeout
    try:
        await stack.sandbox.wait_webhooks_idle(timeout=min(60.0, timeout))
    except Exception as exc:  # the check below says what is missing
        note = f"sandbox webhooks not idle: {type(exc).__name__}: {exc}"
    else:
        note = ""
    while True:
        findings = await check(stack, load)
        if note:
            findings.notes.append(note)
        if findings.ok or time.monotonic() > deadline:
            return findings
        await asyncio.sleep(1.0)


# -- inbound ------------------------------------------------------------------------------------

def _check_inbound(load: LoadRecord, log: list[SandboxInbound], messages: list[Document],
                   findings: Findings) -> None:
    """Over the sandbox's log of customer messages (the load's record adds the answer to the
    first POST, which the log replaces by the last one)."""
    first_answer = {i.wamid: i.webhook_status for i in load.inbound}
    by_wamid: dict[str, list[Document]] = defaultdict(list)
    for doc in messages:
        if doc.get("wamid"):
            by_wamid[doc["wamid"]].append(doc)
    for item in log:
        findings.checked_inbound += 1
        cid = conversation_id(item.phone_number_id, item.from_wa_id)
        docs = [d for d in by_wamid.get(item.wamid, []) if d.get("direction") == "inbound"
                and not d.get("stub")]
        first = first_answer.get(item.wamid)
        where = (f"inbound {item.wamid} from {item.from_wa_id} (first POST answered {first}, "
                 f"{item.attempts} POSTs, delivered={item.delivered}, dropped={item.dropped})")
        if not docs:
            if first == 200 or item.delivered:
                findings.lost.append(f"{where}: acknowledged to Meta, not in any thread")
            else:
                findings.lost.append(f"{where}: never acknowledged, so not in any thread, "
                                     "although Meta keeps re-posting it")
        elif len(docs) > 1:
            findings.duplicated.append(f"{where}: {len(docs)} messages "
                                       f"({', '.join(d['_id'] for d in docs)})")
        else:
            doc = docs[0]
            if doc.get("conversation_id") != cid or not doc.get("visible"):
                findings.other.append(f"{where}: stored as {doc['_id']} visible="
                                      f"{doc.get('visible')}, expected in {cid}")


# -- commands -----------------------------------------------------------------------------------

def _command_of(request: ReceivedRequest) -> str | None:
    body = request.body if isinstance(request.body, dict) else {}
    value = body.get("biz_opaque_callback_data")
    return decode(value if isinstance(value, str) else None).command_id


def _customer_of(request: ReceivedRequest) -> str | None:
    body = request.body if isinstance(request.body, dict) else {}
    to = body.get("to")
    if not isinstance(to, str):
        return None
    try:
        return canonical_wa_id(to)
    except ValueError:
        return None


def _highest(statuses: list[EmittedStatus]) -> EmittedStatus | None:
    best: EmittedStatus | None = None
    for status in statuses:
        if best is None or RANK.get(status.status, 0) > RANK.get(best.status, 0):
            best = status
    return best


def _check_commands(load: LoadRecord, received: list[ReceivedRequest],
                    statuses: list[EmittedStatus], customers: set[str],
                    messages: list[Document], findings: Findings,
                    ) -> dict[str, list[datetime]]:
    """Returns the times Meta accepted a message, by conversation (for the activity model)."""
    requests: dict[str, list[ReceivedRequest]] = defaultdict(list)
    for request in received:
        body = request.body if isinstance(request.body, dict) else {}
        if body.get("status") == "read" or _customer_of(request) not in customers:
            continue  # a mark-as-read, or another scenario's customer
        command_id = _command_of(request)
        if command_id is None:
            findings.other.append(
                f"request #{request.seq} to {body.get('to')} carries no command id in "
                f"biz_opaque_callback_data ({body.get('biz_opaque_callback_data')!r}): "
                "it cannot be tied to a command")
            continue
        requests[command_id].append(request)
    by_wamid: dict[str, list[EmittedStatus]] = defaultdict(list)
    for status in statuses:
        if status.delivered:
            by_wamid[status.wamid].append(status)
    docs = {d["_id"]: d for d in messages}
    known = {s.command_id for s in load.sends}
    for command_id in set(requests) - known:
        findings.other.append(f"command {command_id} reached Meta but no agent asked for it")
    accepted_at: dict[str, list[datetime]] = defaultdict(list)
    for send in load.sends:
        findings.checked_commands += 1
        reqs = requests.get(send.command_id, [])
        accepted = [r for r in reqs if r.accepted]
        doc = docs.get(f"{send.conversation_id}/cmd:{send.command_id}")
        where = f"{send.kind} command {send.command_id} to {send.customer}"
        if len(accepted) > 1:
            findings.duplicated.append(f"{where}: Meta accepted it {len(accepted)} times "
                                       f"({', '.join(str(r.wamid) for r in accepted)})")
        for request in accepted[:1]:
            accepted_at[send.conversation_id].append(request.at)
        if send.answer == "refused":
            if not send.reason or not send.hint:
                findings.other.append(f"{where}: refused (409) without a reason and a hint")
            if send.kind == "text":
                findings.other.append(f"{where}: refused ({send.reason}) although the customer "
                                      "wrote within the window")
            if reqs or doc is not None:
                findings.other.append(f"{where}: refused by the API, yet it reached Meta "
                                      f"({len(reqs)} requests) or the thread")
            continue
        if send.answer in ("not_found", "invalid") or (
                send.answer == "gave_up" and not reqs and doc is None):
            if send.answer == "invalid":
                findings.other.append(f"{where}: inbox_api answered {send.http_status}: "
                                      f"{send.reason}")
            if reqs or doc is not None:
                findings.other.append(f"{where}: never accepted by the API ({send.answer}), yet "
                                      "it reached Meta or the thread")
            continue
        if doc is None:
            findings.lost.append(f"{where}: no message in the thread, so no visible outcome "
                                 f"(API answered {send.http_status}, {len(reqs)} requests "
                                 f"reached Meta, {len(accepted)} accepted)")
            continue
        _check_outcome(where, doc, accepted, by_wamid, findings)
    return accepted_at


def _check_outcome(where: str, doc: Document, accepted: list[ReceivedRequest],
                   by_wamid: dict[str, list[EmittedStatus]], findings: Findings) -> None:
    status = doc.get("status")
    error = doc.get("error") or {}
    wamid = accepted[0].wamid if accepted else None
    emitted = _highest(by_wamid.get(wamid, [])) if wamid else None
    shown = f"{where}: shown {status!r}"
    if status == "unknown":
        if emitted is not None:
            findings.stuck_unknown.append(
                f"{shown} although Meta delivered its {emitted.status!r} status ({wamid})")
        return
    if status == "refused":
        if not error.get("reason"):
            findings.other.append(f"{shown} with no reason")
        if accepted:
            findings.wrong_status.append(f"{shown} but Meta accepted it ({wamid})")
        return
    if status == "failed":
        if error.get("code") is None:
            findings.other.append(f"{shown} with no error code ({error})")
        if accepted and (emitted is None or emitted.status != "failed"):
            findings.wrong_status.append(
                f"{shown} but Meta accepted it ({wamid}) and reported "
                f"{emitted.status if emitted else 'no status'}")
        return
    if status not in SENT_STATES:
        findings.wrong_status.append(f"{shown}: not an outcome")
        return
    if not accepted:
        findings.wrong_status.append(f"{shown} but Meta never accepted it")
        return
    expected = emitted.status if emitted is not None else "accepted"
    if status != expected:
        findings.wrong_status.append(f"{shown}, the highest status Meta delivered is "
                                     f"{expected!r} ({wamid})")
    if doc.get("wamid") != wamid:
        findings.wrong_status.append(f"{shown} with wamid {doc.get('wamid')}, Meta's is {wamid}")


# -- conversations ------------------------------------------------------------------------------

def _model(log: list[SandboxInbound], accepted_at: dict[str, list[datetime]]
           ) -> dict[str, datetime]:
    """Last activity per conversation: its latest customer message (WhatsApp's whole-second
    time, as the webhook says) or the latest message Meta accepted from us."""
    latest: dict[str, datetime] = {}
    for item in log:
        cid = conversation_id(item.phone_number_id, item.from_wa_id)
        at = item.at.replace(microsecond=0)
        latest[cid] = max(at, latest.get(cid, at))
    for cid, times in accepted_at.items():
        for at in times:
            latest[cid] = max(at, latest.get(cid, at))
    return latest


def _check_conversations(log: list[SandboxInbound], model: dict[str, datetime],
                         convs: dict[str, Document], findings: Findings) -> None:
    # No agent marks anything read here: every customer message is unread.
    unread = Counter(conversation_id(i.phone_number_id, i.from_wa_id)
                     for i in {i.wamid: i for i in log}.values())
    for cid, expected in sorted(unread.items()):
        doc = convs.get(cid)
        if doc is None:
            findings.lost.append(f"conversation {cid}: missing ({expected} inbound messages)")
            continue
        if doc.get("unread_count") != expected:
            findings.other.append(f"conversation {cid}: unread_count {doc.get('unread_count')}, "
                                  f"the sandbox's log says {expected}")
    for cid, expected_at in sorted(model.items()):
        doc = convs.get(cid)
        if doc is None:
            continue
        stored = doc.get("last_activity_at")
        if stored is None or abs(stored - expected_at) > ACTIVITY_TOLERANCE:
            findings.other.append(f"conversation {cid}: last_activity_at {stored}, the "
                                  f"sandbox's log says {expected_at}")


async def _check_order(stack: ReliabilityStack, model: dict[str, datetime],
                       findings: Findings) -> None:
    """The inbox list (the tenant_activity index order) agrees with the model's order."""
    listed = [d["_id"] for d in await stack.db["conversations"].find(
        {"tenant_id": TENANT, "_id": {"$in": sorted(model)}}, {"_id": 1}
    ).sort([("last_activity_at", -1), ("_id", -1)]).to_list(None)]
    gap = 2 * ACTIVITY_TOLERANCE
    for i, earlier in enumerate(listed):
        for later in listed[i + 1:]:
            if model[later] - model[earlier] > gap:
                findings.other.append(f"inbox order: {earlier} listed before {later}, but "
                                      f"{later}'s last activity is later by "
                                      f"{(model[later] - model[earlier]).total_seconds():.0f} s")
                return
