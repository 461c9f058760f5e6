"""Every webhook kind Meta sends, through the whole inbox, as an agent sees it (issue 15).

Each fixture of ``tests/fixtures/webhooks`` (every message type of Meta's ``messages`` reference
and every field beyond it, docs/webhook_kinds.md) is posted signed to webhook_ingest of one
running inbox (stack.py: webhook_ingest, Kafka, conversation_store, inbox_api); then what the
inbox API answers is checked, fixture by fixture (:data:`EXPECTATIONS`): the message in its
thread with its content, a status on its message, an edit or deletion applied, an account
notice in the banner, a template's state, an opt-out marker. None is accepted and then shown
nowhere, except the fixtures docs/webhook_kinds.md lists as deliberately not shown, with the
reason; the test reads that list and checks that those, and only those, show nothing.

What a fixture refers to but does not carry (the message an edit edits, the message a status
or reaction is about, the chat a user_preferences change concerns) is posted first, as Meta's
payloads too (:data:`PRELUDES`). Each fixture is posted for customers of its own (its numbers
and BSUIDs rewritten), with Meta's example account ids replaced by the harness's, and its times
moved to just now (all by the same amount, so order and distances stay): Meta posts as things
happen, and a banner of year-old news is rightly not shown.
"""

from __future__ import annotations

import asyncio
import copy
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.webhook_ingest.signature import sign
from shared.config import InfraSettings
from shared.phone import conversation_id
from tests.integration.inbox_api.stack import ACME, GLOBEX, RunningInbox
from tests.integration.outbound_sender.conftest import APP_SECRET, webhook_ingest

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "tests" / "fixtures" / "webhooks"
KINDS_DOC = ROOT / "docs" / "webhook_kinds.md"

# Meta's identities in the fixtures (its reference's examples) -> the harness's (stack.py).
META_WABA, META_NUMBER_ID, META_DISPLAY = "102290129340398", "106540352242922", "15550783881"
OTHER_META_WABA = "209876543210987"  # batch_mixed's second account: globex's here
# The customers a fixture names (each fixture gets numbers of its own, so its conversations
# show what it did and nothing else); the BSUIDs likewise.
CUSTOMER, NEW_NUMBER, REMOVED_CONTACT = "16505551234", "16505551299", "16505551288"
USER_ID, PARENT_USER_ID = "US.13491208655302741918", "US.ENT.11815799212886844830"
# Unix times in Meta's payloads: event times (what a fixture is shifted by) and the rest.
EVENT_TIME_KEYS = frozenset({"timestamp", "time"})
TIME_KEYS = EVENT_TIME_KEYS | {"expiration", "expiration_timestamp", "start_time", "end_time",
                               "disable_date"}
# A fixture's newest time becomes this long before now: Meta posts as things happen, and a
# banner of old news is (rightly) no longer shown.
RECENT_SECONDS = 300

Raw = dict[str, Any]


def fixture_names() -> list[str]:
    return sorted(p.stem for p in FIXTURES.glob("*.json"))


def load(name: str) -> Raw:
    data: Raw = json.loads((FIXTURES / f"{name}.json").read_text())
    return data


def _times(value: Any, keys: frozenset[str]) -> list[int]:
    found: list[int] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key in keys and (at := _epoch(item)) is not None:
                found.append(at)
            else:
                found += _times(item, keys)
    elif isinstance(value, list):
        for item in value:
            found += _times(item, keys)
    return found


def _epoch(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and value > 1_000_000_000:
        return value
    if isinstance(value, str) and value.isdigit() and len(value) == 10:
        return int(value)
    return None


def _shifted(value: Any, delta: int) -> Any:
    if isinstance(value, dict):
        return {k: (_shift_one(v, delta) if k in TIME_KEYS and _epoch(v) is not None
                    else _shifted(v, delta)) for k, v in value.items()}
    if isinstance(value, list):
        return [_shifted(v, delta) for v in value]
    return value


def _shift_one(value: Any, delta: int) -> Any:
    shifted = int(value) + delta
    return str(shifted) if isinstance(value, str) else shifted


@dataclass
class Case:
    """One fixture as posted: Meta's identities replaced by the harness's, its customers by
    numbers of its own, its times moved to just now (all by the same amount, so their order
    and distances stay)."""

    name: str
    index: int
    now: int
    prelude: list[Raw] = field(default_factory=list)

    def number(self, meta_number: str = CUSTOMER) -> str:
        slot = {CUSTOMER: 1, NEW_NUMBER: 2, REMOVED_CONTACT: 3}[meta_number]
        return f"1650557{self.index:02d}{slot:02d}"

    def user_id(self, meta_user_id: str = USER_ID) -> str:
        return f"{meta_user_id}{self.index:02d}"

    def customers(self) -> list[str]:
        return [self.number(n) for n in (CUSTOMER, NEW_NUMBER, REMOVED_CONTACT)]

    @property
    def delta(self) -> int:
        times = _times(load(self.name), EVENT_TIME_KEYS)
        return (self.now - RECENT_SECONDS - max(times)) if times else 0

    def meta_time(self, seconds_before_first: int = 60) -> int:
        """A time in the fixture's own frame: before its first event (for what came before)."""
        times = _times(load(self.name), EVENT_TIME_KEYS)
        return (min(times) if times else self.now) - seconds_before_first

    def rewritten(self, raw: Raw) -> Raw:
        text = json.dumps(raw)
        for meta, ours in ((META_NUMBER_ID, ACME.phone_number_id), (META_WABA, ACME.waba_id),
                           (META_DISPLAY, ACME.display_phone_number),
                           (OTHER_META_WABA, GLOBEX.waba_id),
                           (CUSTOMER, self.number(CUSTOMER)),
                           (NEW_NUMBER, self.number(NEW_NUMBER)),
                           (REMOVED_CONTACT, self.number(REMOVED_CONTACT)),
                           (PARENT_USER_ID, self.user_id(PARENT_USER_ID)),
                           (USER_ID, self.user_id(USER_ID))):
            text = text.replace(meta, ours)
        shifted: Raw = _shifted(json.loads(text), self.delta)
        return shifted

    def body(self) -> Raw:
        return self.rewritten(load(self.name))

    def preludes(self) -> list[Raw]:
        return [self.rewritten(copy.deepcopy(p)) for p in self.prelude]


@asynccontextmanager
async def poster(inbox: RunningInbox, settings: InfraSettings
                 ) -> AsyncIterator[Callable[[Raw], Awaitable[None]]]:
    """Posts a body to a webhook_ingest of the running inbox (signed with its app secret), as
    Meta does; each answered 200 before the next goes."""
    async with webhook_ingest(settings) as url, httpx.AsyncClient(timeout=30.0) as http:
        async def post(raw: Raw) -> None:
            body = json.dumps(raw).encode()
            response = await http.post(url, content=body, headers={
                "Content-Type": "application/json",
                "X-Hub-Signature-256": sign(body, APP_SECRET.encode())})
            assert response.status_code == 200, response.text
        yield post


# --- Meta's payloads for what a fixture refers to (its prelude) ------------------------------


def _value(field_name: str, **value: Any) -> Raw:
    return {"object": "whatsapp_business_account", "entry": [{"id": META_WABA, "changes": [
        {"field": field_name, "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": META_DISPLAY, "phone_number_id": META_NUMBER_ID},
            **value}}]}]}


def customer_message(wamid: str, at: int, kind: str = "text", wa_id: str = CUSTOMER,
                     **content: Any) -> Raw:
    body = content or {"body": "Hi, is my order on its way?"}
    return _value("messages", contacts=[{"profile": {"name": "Sheena Nelson"}, "wa_id": wa_id}],
                  messages=[{"from": wa_id, "id": wamid, "timestamp": str(at), "type": kind,
                             kind: body}])


def app_message(wamid: str, at: int, kind: str = "text", **content: Any) -> Raw:
    """A message the business sent from the WhatsApp Business app (coexistence echo)."""
    body = content or {"body": "Your order shipped today"}
    return _value("smb_message_echoes", message_echoes=[
        {"from": META_DISPLAY, "to": CUSTOMER, "id": wamid, "timestamp": str(at), "type": kind,
         kind: body}])


def app_contact(wa_id: str, at: int, name: str) -> Raw:
    return _value("smb_app_state_sync", state_sync=[
        {"type": "contact", "contact": {"full_name": name, "first_name": name.split()[0],
                                        "phone_number": wa_id},
         "action": "add", "metadata": {"timestamp": str(at)}}])


def cases(now: int | None = None) -> list[Case]:
    now = now if now is not None else int(datetime.now(UTC).timestamp())
    out = [Case(name, i, now) for i, name in enumerate(fixture_names())]
    for case in out:
        if (prelude := PRELUDES.get(case.name)) is not None:
            case.prelude = prelude(case)
    return out


ORIGINAL = "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQTRBNjU5OUFF"  # edited / deleted by the fixtures
ORIGINAL_IMAGE = "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzSU1BR0UxAA=="
REACTED = "wamid.HBgLMTY1MDU1NTEyMzQVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA"
STATUS_TARGET = "wamid.HBgLMTY1MDU1NTEyMzQVAgARGBIS1"

PRELUDES: dict[str, Callable[[Case], list[Raw]]] = {
    "message_edit": lambda c: [customer_message(ORIGINAL, c.meta_time())],
    "message_revoke": lambda c: [customer_message(ORIGINAL, c.meta_time())],
    "message_edit_caption": lambda c: [customer_message(
        ORIGINAL_IMAGE, c.meta_time(), "image", caption="The broken part",
        mime_type="image/jpeg", sha256="2WYqEhkM6ZbBpkT8e3Wd3qTGnN3r5oGv9Y5A1kJ8Bs8=",
        id="1003383421387256")],
    "echo_edit_and_revoke": lambda c: [load("echo_text")],
    "history_media": lambda c: [load("history_chunk")],
    "message_reaction": lambda c: [app_message(REACTED, c.meta_time())],
    "message_reaction_removed": lambda c: [app_message(REACTED, c.meta_time(120)),
                                           load("message_reaction")],
    "status_sent": lambda c: [app_message(STATUS_TARGET, c.meta_time())],
    "status_delivered": lambda c: [app_message(STATUS_TARGET, c.meta_time())],
    "status_read": lambda c: [app_message(STATUS_TARGET, c.meta_time())],
    "status_played": lambda c: [app_message(
        "wamid.HBgLMTY1MDU1NTEyMzQVAgARGBIS2", c.meta_time(), "audio", voice=True,
        mime_type="audio/ogg; codecs=opus", id="1573934473294999")],
    "status_failed": lambda c: [app_message("wamid.HBgLMTY1MDU1NTEyMzQVAgARGBIS3", c.meta_time())],
    "status_unknown_value": lambda c: [app_message("wamid.HBgLMTY1MDU1NTEyMzQVAgARGBIS4",
                                                   c.meta_time())],
    "batch_mixed": lambda c: [app_message("wamid.HBgLMTY1MDU1NTEyMzQVAgARGBIM3", c.meta_time())],
    "app_state_sync": lambda c: [
        customer_message("wamid.PRELUDE.APPSTATE.1", c.meta_time(), wa_id=NEW_NUMBER),
        customer_message("wamid.PRELUDE.APPSTATE.2", c.meta_time(), wa_id=REMOVED_CONTACT),
        app_contact(REMOVED_CONTACT, c.meta_time(30), "Old Name")],
    "user_preferences": lambda c: [customer_message("wamid.PRELUDE.PREFS", c.meta_time())],
    "message_system": lambda c: [customer_message("wamid.PRELUDE.SYSTEM", c.meta_time())],
}


# --- what the inbox API answers ---------------------------------------------------------------


class Shown:
    """What inbox_api answers acme's agent (and globex's), read afresh for each round of checks:
    the banner, the templates, the conversation list, and threads as they are asked for."""

    def __init__(self, http: httpx.AsyncClient, other: httpx.AsyncClient) -> None:
        self.http, self.other = http, other
        self.notices: list[dict[str, Any]] = []
        self.templates: dict[tuple[str, str], dict[str, Any]] = {}
        self.other_templates: dict[tuple[str, str], dict[str, Any]] = {}
        self.listed: dict[str, dict[str, Any]] = {}
        self._threads: dict[str, list[dict[str, Any]]] = {}

    async def refresh(self) -> None:
        self.notices = (await self._get(self.http, "/api/v1/account/notices"))["items"]
        self.templates = _by_name((await self._get(self.http, "/api/v1/templates"))["items"])
        self.other_templates = _by_name(
            (await self._get(self.other, "/api/v1/templates"))["items"])
        page = await self._get(self.http, "/api/v1/conversations", limit=100)
        self.listed = {c["id"]: c for c in page["items"]}
        assert page["next_cursor"] is None, "more conversations than one page: raise the limit"
        self._threads = {}

    async def thread(self, cid: str) -> list[dict[str, Any]]:
        if cid not in self._threads:
            response = await self.http.get(f"/api/v1/conversations/{cid}/messages")
            self._threads[cid] = response.json()["items"] if response.status_code == 200 else []
        return self._threads[cid]

    @staticmethod
    async def _get(http: httpx.AsyncClient, path: str, **params: Any) -> dict[str, Any]:
        response = await http.get(path, params=params)
        assert response.status_code == 200, f"{path}: {response.status_code} {response.text}"
        body: dict[str, Any] = response.json()
        return body


def _by_name(items: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(t["name"], t["language"]): t for t in items}


def _cid(number: str) -> str:
    return conversation_id(ACME.phone_number_id, number)


async def conversation(shown: Shown, case: Case, meta_number: str = CUSTOMER) -> dict[str, Any]:
    """The case's conversation with that customer, as the list shows it (it must be listed)."""
    cid = _cid(case.number(meta_number))
    assert cid in shown.listed, f"{cid} is not in the conversation list"
    return shown.listed[cid]


async def message(shown: Shown, case: Case, wamid: str,
                  meta_number: str = CUSTOMER) -> dict[str, Any]:
    """The message with ``wamid`` in the case's thread (its conversation listed)."""
    await conversation(shown, case, meta_number)
    items = await shown.thread(_cid(case.number(meta_number)))
    found = [m for m in items if m["wamid"] == wamid]
    assert found, f"{wamid} is not in the thread: {[m['wamid'] or m['id'] for m in items]}"
    return found[0]


def banner(shown: Shown, code: str) -> dict[str, Any]:
    found = [n for n in shown.notices if n["code"] == code]
    assert found, f"no banner {code}: {[n['code'] for n in shown.notices]}"
    return found[0]


def template(shown: Shown, name: str, language: str = "en_US") -> dict[str, Any]:
    assert (name, language) in shown.templates, f"no template {name} {language}"
    return shown.templates[(name, language)]


Check = Callable[[Shown, Case], Awaitable[None]]


def inbound(wamid: str, message_type: str, text: str | None = None,
            then: Callable[[dict[str, Any]], None] = lambda m: None) -> Check:
    """A customer's message in the thread: its type, its text (None: not checked), and
    ``then`` on the rest of what the API shows of it."""
    async def check(shown: Shown, case: Case) -> None:
        shown_message = await message(shown, case, wamid)
        assert (shown_message["direction"], shown_message["type"]) == ("inbound", message_type)
        if text is not None:
            assert shown_message["text"] == text, shown_message["text"]
        assert not shown_message["deleted"]
        then(shown_message)
        listed = await conversation(shown, case)
        assert listed["customer"]["name"] == "Sheena Nelson"
        assert listed["unread_count"] >= 1
    return check


def media(media_id: str, mime_type: str, caption: str | None = None,
          filename: str | None = None) -> Callable[[dict[str, Any]], None]:
    def then(m: dict[str, Any]) -> None:
        assert m["media"] is not None, "no media"
        assert (m["media"]["id"], m["media"]["mime_type"], m["media"]["caption"],
                m["media"]["filename"]) == (media_id, mime_type, caption, filename)
        assert m["media"]["url"] == f"/api/v1/media/{media_id}"
    return then


def status(wamid: str, value: str, code: int | None = None) -> Check:
    """A status of a message the business sent: shown on it, and in its history."""
    async def check(shown: Shown, case: Case) -> None:
        shown_message = await message(shown, case, wamid)
        assert shown_message["direction"] == "outbound"
        assert shown_message["status"] == value
        assert value in [s["status"] for s in shown_message["statuses"]]
        if code is not None:
            assert shown_message["error"]["code"] == code
    return check


def banners(*codes: str, then: Callable[[Shown], None] = lambda s: None) -> Check:
    async def check(shown: Shown, case: Case) -> None:
        for code in codes:
            banner(shown, code)
        then(shown)
    return check


def templates(check_template: Callable[[Shown], None]) -> Check:
    async def check(shown: Shown, case: Case) -> None:
        check_template(shown)
    return check


# --- one expectation per fixture ---------------------------------------------------------------

ECHO = "wamid.HBgLMTY1MDU1NTEyMzQVAgARGBJFQ0hPMDAwMDAwMDAwMQA="
HISTORY = ("wamid.HBgLMTY1MDU1NTEyMzQVAgASGBRISVNUT1JZMDAx",
           "wamid.HBgLMTY1MDU1NTEyMzQVAgARGBJISVNUT1JZMDAyAA==",
           "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBRISVNUT1JZMDAz")
CALL = "wacid.HBgLMTIxODU1NTI4MjgVAgARGCAyODRQIAFRoA"
REPLIED_TO = "wamid.HBgLMTY1MDU1NTEyMzQVAgARGBJBQzQ2RkI5RjA0QjBENzY5QTgA"


async def _app_state_sync(shown: Shown, case: Case) -> None:
    added = await conversation(shown, case, NEW_NUMBER)
    assert added["customer"]["saved_name"] == "Pablo Morales"
    # The removal takes back the name an earlier sync gave (the prelude's "Old Name").
    removed = await conversation(shown, case, REMOVED_CONTACT)
    assert removed["customer"]["saved_name"] is None


async def _batch_mixed(shown: Shown, case: Case) -> None:
    await inbound("wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzM1", "text", "first")(shown, case)
    await status("wamid.HBgLMTY1MDU1NTEyMzQVAgARGBIM3", "delivered")(shown, case)
    # The second customer, written with Brazil's 9th digit and without it: one conversation.
    brazil = conversation_id(ACME.phone_number_id, "5511987654321")
    assert brazil in shown.listed, "the Brazilian customer's conversation is not listed"
    [oi] = await shown.thread(brazil)
    assert (oi["text"], shown.listed[brazil]["customer"]["name"]) == ("oi", "Alex")
    # The second entry is another account's (globex's here): its template, not acme's.
    assert shown.other_templates[("promo_b", "en_US")]["quality"] == "RED"
    assert ("promo_b", "en_US") not in shown.templates


def _call(outcome: str, direction: str | None, text: str | None = None,
          call_id: str = CALL, window: bool | None = None) -> Check:
    async def check(shown: Shown, case: Case) -> None:
        items = await shown.thread(_cid(case.number()))
        listed = await conversation(shown, case)
        lines = [m for m in items if m["call"] and m["call"]["call_id"] == call_id]
        assert lines, f"no call line: {items}"
        [line] = lines
        assert (line["type"], line["direction"]) == ("call", "system")
        assert (line["call"]["outcome"], line["call"]["direction"]) == (outcome, direction)
        if text is not None:
            assert line["text"] == text
        assert listed["last_message"]["preview"] == line["text"]
        if window is not None:
            assert listed["window"]["open"] is window
    return check


async def _echo_edit_and_revoke(shown: Shown, case: Case) -> None:
    shown_message = await message(shown, case, ECHO)
    assert (shown_message["direction"], shown_message["from_app"]) == ("outbound", True)
    # The deletion names the edit, not the message: the message is deleted all the same.
    assert shown_message["deleted"] is True, shown_message
    assert (shown_message["text"], shown_message["content"], shown_message["edit_history"]) == (
        "", {}, [])
    assert "info you" not in json.dumps(shown_message)
    listed = await conversation(shown, case)
    assert listed["last_message"]["preview"] == "This message was deleted"


async def _echo_text(shown: Shown, case: Case) -> None:
    shown_message = await message(shown, case, ECHO)
    assert (shown_message["direction"], shown_message["from_app"], shown_message["text"]) == (
        "outbound", True, "Here's the info you requested! https://www.meta.com/quest/quest-3/")
    listed = await conversation(shown, case)
    assert listed["customer"]["user_id"] == case.user_id()
    # A business message opens no window and is never unread.
    assert (listed["unread_count"], listed["window"]["open"]) == (0, False)


def _history(media_type: str) -> Check:
    async def check(shown: Shown, case: Case) -> None:
        items = await shown.thread(_cid(case.number()))
        listed = await conversation(shown, case)
        assert [m["wamid"] for m in items] == list(HISTORY)
        question, answer, photo = items
        assert (question["direction"], question["text"]) == (
            "inbound", "Do you deliver on Sundays?")
        assert (answer["direction"], answer["from_app"], answer["text"]) == (
            "outbound", True, "Yes, until 2pm.")
        assert photo["type"] == media_type, photo
        if media_type == "image":  # the follow-up's media replaced the placeholder
            media("1252281926133451", "image/jpeg")(photo)
            assert listed["last_message"]["preview"] == "📷 Photo"
        assert listed["unread_count"] == 0  # history is never unread
        progress = banner(shown, "HISTORY_SYNC_PROGRESS")
        assert "55% synced" in progress["text"]
    return check


def _edited(wamid: str, message_type: str, now: str, before: str) -> Check:
    async def check(shown: Shown, case: Case) -> None:
        shown_message = await message(shown, case, wamid)
        assert (shown_message["type"], shown_message["text"], shown_message["edited"]) == (
            message_type, now, True)
        assert [v["text"] for v in shown_message["edit_history"]] == [before]
        assert shown_message["edited_at"] is not None
        assert len(await shown.thread(_cid(case.number()))) == 1  # the edit is no bubble
    return check


async def _revoked(shown: Shown, case: Case) -> None:
    shown_message = await message(shown, case, ORIGINAL)
    assert (shown_message["deleted"], shown_message["text"], shown_message["content"]) == (
        True, "", {})
    assert len(await shown.thread(_cid(case.number()))) == 1
    listed = await conversation(shown, case)
    assert listed["last_message"]["preview"] == "This message was deleted"


def _reactions(expected: list[dict[str, str]]) -> Check:
    async def check(shown: Shown, case: Case) -> None:
        target = await message(shown, case, REACTED)
        assert target["reactions"] == expected, target["reactions"]
        assert len(await shown.thread(_cid(case.number()))) == 1  # a reaction is no bubble
    return check


async def _system(shown: Shown, case: Case) -> None:
    line = await message(shown, case, "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzG1")
    new = case.number(NEW_NUMBER)
    assert (line["direction"], line["type"]) == ("system", "system")
    assert line["text"] == f"changed their phone number to +1 {new[1:4]}-{new[4:7]}-{new[7:]}"
    listed = await conversation(shown, case)
    assert listed["customer"]["wa_id"] == new  # the customer's number is the new one


async def _opted_out(shown: Shown, case: Case) -> None:
    listed = await conversation(shown, case)
    assert listed["marketing_opt_out"] is not None, "no opted-out marker in the list"
    assert listed["marketing_opt_out"]["source"] == "meta_preference"
    response = await shown.http.get(f"/api/v1/conversations/{_cid(case.number())}")
    assert response.json()["marketing_opt_out"]["source"] == "meta_preference"


async def _new_fields(shown: Shown, case: Case) -> None:
    await inbound("wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzL1", "text", "hello",
                  lambda m: _replying(m))(shown, case)
    await _opted_out(shown, case)  # the user_preferences beside the message


def _replying(m: dict[str, Any]) -> None:
    assert m["reply_to"]["wamid"] == REPLIED_TO


def _template_status(name: str, language: str, value: str,
                     details: dict[str, Any] | None = None) -> Check:
    def check_template(shown: Shown) -> None:
        shown_template = template(shown, name, language)
        assert shown_template["status"] == value
        for key, expected in (details or {}).items():
            assert shown_template["status_details"][key] == expected, shown_template
    return templates(check_template)


def _components(shown: Shown) -> None:
    components = {c["type"]: c for c in template(shown, "order_confirmation")["components"]}
    assert components["HEADER"]["text"] == "Your order is confirmed!"
    assert components["BODY"]["text"] == (
        "Thank you for your order, {{1}}! Your order number is {{2}}.")
    assert components["FOOTER"]["text"] == "Lucky Shrub: the Succulent Specialists!"
    assert [b["text"] for b in components["BUTTONS"]["buttons"]] == ["Track it", "Call us"]


class Ignored:
    """The fixture shows nothing: none of its customers has a conversation, and none of
    ``words`` (what it is about) appears in the banner or the templates. Its row in
    docs/webhook_kinds.md says why."""

    def __init__(self, *words: str, customers: tuple[str, ...] = ()) -> None:
        self.words, self.customers = words, customers

    async def __call__(self, shown: Shown, case: Case) -> None:
        # A group's id is no phone number: its conversation id is the id as Meta gave it.
        for cid in [*map(_cid, case.customers()),
                    *(f"{ACME.phone_number_id}:{c}" for c in self.customers)]:
            assert cid not in shown.listed, f"{cid} is listed"
            assert await shown.thread(cid) == [], f"{cid} has messages"
        seen = json.dumps([shown.notices, list(shown.templates.values())])
        for word in self.words:
            assert word not in seen, f"{word!r} is shown"


EXPECTATIONS: dict[str, Check | Ignored] = {
    # Account notices: the banner every agent sees.
    "account_alerts": banners("INCREASED_CAPABILITIES_ELIGIBILITY_DEFERRED", then=lambda s: (
        _contains(banner(s, "INCREASED_CAPABILITIES_ELIGIBILITY_DEFERRED"),
                  "warning", "Limits cannot be increased yet"))),
    "account_update_ban": banners("DISABLED_UPDATE: SCHEDULE_FOR_DISABLE", then=lambda s: (
        _contains(banner(s, "DISABLED_UPDATE: SCHEDULE_FOR_DISABLE"), "warning",
                  "Meta will disable"))),
    "account_update_restriction": banners(
        "RESTRICTED_BIZ_INITIATED_MESSAGING", "RESTRICTED_ADD_PHONE_NUMBER_ACTION",
        then=lambda s: _restricted(banner(s, "RESTRICTED_BIZ_INITIATED_MESSAGING"))),
    "account_update_verified": banners("VERIFIED_ACCOUNT"),
    "account_update_violation": banners("SCAM", then=lambda s: _contains(
        banner(s, "SCAM"), "warning", "violating a WhatsApp policy")),
    "business_capability_update": banners("BUSINESS_CAPABILITY_UPDATE", then=lambda s: (
        _contains(banner(s, "BUSINESS_CAPABILITY_UPDATE"), "info", "TIER_10K"))),
    "phone_number_name_update": banners("REJECTED", then=lambda s: _contains(
        banner(s, "REJECTED"), "info",
        'Display name "Lucky Shrub" rejected: NAME_FORMAT_UNACCEPTABLE')),
    "phone_number_quality_update": banners("THROUGHPUT_UPGRADE", then=lambda s: _contains(
        banner(s, "THROUGHPUT_UPGRADE"), "info", f"+{ACME.display_phone_number}")),
    "history_declined": banners("HISTORY_SHARING_DECLINED", then=lambda s: _contains(
        banner(s, "HISTORY_SHARING_DECLINED"), "info", "History sync is turned off")),
    # Coexistence: the WhatsApp Business app's messages, contacts and history.
    "app_state_sync": _app_state_sync,
    "echo_text": _echo_text,
    "echo_edit_and_revoke": _echo_edit_and_revoke,
    "history_chunk": _history("media_placeholder"),
    "history_media": _history("image"),
    # Every message type of Meta's messages reference.
    "message_text": inbound("wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzA1", "text",
                            "Hi, is my order on its way?"),
    "message_text_reply": inbound("wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzA2", "text",
                                  "Yes, that one", lambda m: _has(
                                      m, reply_to={"wamid": "wamid.HBgLMTY1MDU1NTEyMzQVAgARGBJC"
                                                   "MDA5RjBBQjU3RkU4QzZCNgA", "preview": None})),
    "message_text_forwarded": inbound("wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzA3", "text",
                                      "Look at this deal", lambda m: _has(
                                          m, forwarded=True, frequently_forwarded=False)),
    "message_text_frequently_forwarded": inbound(
        "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzA4", "text", "Chain letter",
        lambda m: _has(m, frequently_forwarded=True)),
    "message_product_inquiry": inbound(
        "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzA5", "text", "Is this in stock?", lambda m: _has(
            m, referred_product={"catalog_id": "194836987003835",
                                 "product_retailer_id": "di9ozbzfi4"})),
    "message_referral": inbound("wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzH1", "text",
                                "Can I get more info about this?", lambda m: _referral(m)),
    "message_with_new_fields": _new_fields,
    "message_image": inbound("wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzB1", "image", "The broken part",
                             media("1003383421387256", "image/jpeg", "The broken part")),
    "message_video": inbound("wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzB4", "video", "Unboxing",
                             media("1127402698706021", "video/mp4", "Unboxing")),
    "message_audio": inbound("wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzB2", "audio", "🎵 Audio",
                             media("1268479194567452", "audio/mpeg")),
    "message_voice": inbound("wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzB3", "audio",
                             "🎤 Voice message",
                             media("1573934473294183", "audio/ogg; codecs=opus")),
    "message_document": inbound("wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzB5", "document",
                                "📄 Invoice for March", media(
                                    "1912366439603283", "application/pdf", "Invoice for March",
                                    "invoice-2025-03.pdf")),
    "message_sticker": inbound("wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzB6", "sticker", "💟 Sticker",
                               media("1099211521627765", "image/webp")),
    "message_location": inbound("wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzC1", "location",
                                "📍 Meta Headquarters", lambda m: _has_content(
                                    m, latitude=37.483307, longitude=-122.148981,
                                    address="1 Hacker Way, Menlo Park, CA 94025",
                                    url="https://www.meta.com")),
    "message_contacts": inbound("wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzC2", "contacts",
                                "👤 Barbara J. Johnson", lambda m: _shared_contact(m)),
    "message_interactive_button_reply": inbound(
        "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzD1", "interactive", "Yes, confirm", lambda m: _has(
            m, content={"type": "button_reply",
                        "button_reply": {"id": "confirm-yes", "title": "Yes, confirm"}})),
    "message_interactive_list_reply": inbound(
        "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzD2", "interactive", "9:30 AM", lambda m: _has_content(
            m, id="slot-0930", title="9:30 AM", description="Tomorrow, with Dr. Patel")),
    "message_interactive_nfm_reply": inbound(
        "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzD3", "interactive", None, lambda m: _flow(m)),
    "message_call_permission_reply": inbound(
        "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBRDQUxMUkVQTFkx", "interactive", None,
        lambda m: _call_permission(m)),
    "message_button": inbound("wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzD4", "button",
                              "Stop promotions", lambda m: _has_content(
                                  m, payload="STOP_PROMOTIONS")),
    "message_order": inbound("wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzF1", "order", None,
                             lambda m: _order(m)),
    "message_request_welcome": inbound("wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzK1",
                                       "request_welcome", "Opened the chat"),
    "message_unsupported": inbound("wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzJ1", "unsupported",
                                   "Unsupported message (edit)", lambda m: _meta_error(
                                       m, 131051, "Message type is currently not supported.")),
    "message_unknown_legacy": inbound("wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzJ2", "unknown", None,
                                      lambda m: _meta_error(
                                          m, 131060,
                                          "Please check the WhatsApp app to view this "
                                          "message.")),
    "message_system": _system,
    "message_reaction": _reactions([{"by": "customer", "emoji": "👍"}]),
    "message_reaction_removed": _reactions([]),
    "message_edit": _edited(ORIGINAL, "text", "Hi, is my order on its way? (order 7741)",
                            "Hi, is my order on its way?"),
    "message_edit_caption": _edited(ORIGINAL_IMAGE, "image", "The broken part, from the left",
                                    "The broken part"),
    "message_revoke": _revoked,
    # Statuses of what the business sent.
    "status_sent": status(STATUS_TARGET, "sent"),
    "status_delivered": status(STATUS_TARGET, "delivered"),
    "status_read": status(STATUS_TARGET, "read"),
    "status_played": status("wamid.HBgLMTY1MDU1NTEyMzQVAgARGBIS2", "played"),
    "status_failed": status("wamid.HBgLMTY1MDU1NTEyMzQVAgARGBIS3", "failed", 131049),
    "status_unknown_value": status("wamid.HBgLMTY1MDU1NTEyMzQVAgARGBIS4", "deleted"),
    "batch_mixed": _batch_mixed,
    # Calls.
    "calls_connect": _call("ringing", "inbound", "Incoming call", "wacid.ABGGFjFVU2AfAgo6V-Hc5eC"
                           "gK5Gh", window=True),
    # Meta sends call statuses only for calls the business places: an outgoing call, ringing.
    "calls_status": _call("ringing", "outbound", "Outgoing call · ringing"),
    "calls_terminate": _call("unanswered", "outbound", "Outgoing call · not answered",
                             window=False),
    # A customer's marketing preference.
    "user_preferences": _opted_out,
    # Templates.
    "template_status_approved": _template_status("order_confirmation", "en_US", "APPROVED"),
    "template_status_rejected": _template_status(
        "summer_sale", "en_US", "REJECTED",
        {"reason": "The template's content looks like MARKETING.",
         "recommendation": "Resubmit it with the MARKETING category."}),
    "template_status_paused": _template_status(
        "weekly_digest", "en_GB", "PAUSED",
        {"title": "FIRST_PAUSE",
         "description": "Your template has been paused for 3 hours due to low quality."}),
    "template_status_disabled": _template_status("old_promo", "es", "DISABLED"),
    "template_quality_update": templates(lambda s: _equal(
        template(s, "order_confirmation")["quality"], "YELLOW")),
    "template_category_update": templates(lambda s: _equal(
        template(s, "welcome_offer", "pt_BR")["category"], "MARKETING")),
    "template_components_update": templates(_components),
    # Deliberately shown nowhere (docs/webhook_kinds.md says why).
    "value_errors": Ignored("131000", "Something went wrong"),
    "unknown_field_automatic_events": Ignored("Purchase", "automatic_events"),
    "status_group": Ignored("120363025246125244", customers=("120363025246125244",
                                                            "16505551240")),
}


def _equal(got: Any, expected: Any) -> None:
    assert got == expected, f"{got!r} != {expected!r}"


def _has(m: dict[str, Any], **expected: Any) -> None:
    for key, value in expected.items():
        assert m[key] == value, f"{key}: {m[key]!r}"


def _has_content(m: dict[str, Any], **expected: Any) -> None:
    """The content's fields (an interactive reply's: those of its ``type`` object)."""
    inner = m["content"].get(m["content"].get("type", ""), m["content"])
    for key, value in expected.items():
        assert inner.get(key) == value, f"{key}: {inner.get(key)!r}"


def _contains(shown_banner: dict[str, Any], level: str, text: str) -> None:
    assert shown_banner["level"] == level, shown_banner
    assert text in shown_banner["text"], shown_banner["text"]


def _restricted(shown_banner: dict[str, Any]) -> None:
    _contains(shown_banner, "critical", "cannot start conversations with templates")
    assert shown_banner["blocks"] == "business_initiated"
    assert shown_banner["expires_at"] is not None


def _referral(m: dict[str, Any]) -> None:
    referral = m["referral"]
    assert referral is not None, "no ad referral"
    assert (referral["headline"], referral["body"], referral["source_url"],
            referral["source_type"], referral["thumbnail_url"]) == (
        "Lucky Shrub summer sale", "Summer sale: 20% off every plant", "https://fb.me/3cr4Wqqkv",
        "ad", "https://scontent.xx.fbcdn.net/v/t45.1600-4/summer-thumb.jpg")


def _shared_contact(m: dict[str, Any]) -> None:
    [card] = m["content"]["contacts"]
    assert card["name"]["formatted_name"] == "Barbara J. Johnson"
    assert [(p["phone"], p["wa_id"]) for p in card["phones"]] == [
        ("+1 (650) 555-1235", "16505551235")]
    assert card["emails"][0]["email"] == "bjohnson@example.com"


def _flow(m: dict[str, Any]) -> None:
    reply = m["content"]["nfm_reply"]
    assert json.loads(reply["response_json"])["rating"] == "5"
    assert m["reply_to"]["wamid"] == REPLIED_TO


def _call_permission(m: dict[str, Any]) -> None:
    assert m["content"]["type"] == "call_permission_reply"
    assert m["content"]["call_permission_reply"]["response"] == "accept"
    assert "call" in m["text"].lower(), m["text"]


def _order(m: dict[str, Any]) -> None:
    items = m["content"]["product_items"]
    assert [(i["product_retailer_id"], i["quantity"], i["item_price"], i["currency"])
            for i in items] == [("di9ozbzfi4", 2, 30, "USD"), ("nqryix03ez", 1, 25, "USD")]
    assert m["content"]["text"] == "Please deliver after 5pm"
    assert "Order (2 items)" in m["text"], m["text"]


def _meta_error(m: dict[str, Any], code: int, detail: str) -> None:
    assert [(e["code"], e["detail"]) for e in m["errors"]] == [(code, detail)], m["errors"]


# --- the deliberately ignored kinds, as the docs list them ------------------------------------

IGNORED_HEADING = "## Accepted and shown nowhere, on purpose"


def documented_ignored() -> dict[str, str]:
    """The fixtures docs/webhook_kinds.md lists as shown nowhere, with the reason it gives."""
    text = KINDS_DOC.read_text()
    assert IGNORED_HEADING in text, f"docs/webhook_kinds.md has no {IGNORED_HEADING!r}"
    section = text.split(IGNORED_HEADING, 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([a-z0-9_]+)` \| (.+?) \|$", section, re.MULTILINE)
    return {name: reason.strip() for name, reason in rows}


def test_every_fixture_has_an_expectation() -> None:
    """A new fixture fails here until it says what the inbox shows of it."""
    assert sorted(EXPECTATIONS) == fixture_names()
    assert set(PRELUDES) <= set(EXPECTATIONS)


def test_the_fixtures_shown_nowhere_are_the_ones_the_docs_list() -> None:
    documented = documented_ignored()
    assert all(len(reason) > 20 for reason in documented.values()), documented
    assert sorted(documented) == sorted(
        name for name, check in EXPECTATIONS.items() if isinstance(check, Ignored))


ROUND_SECONDS = 0.25
DEADLINE_SECONDS = 90.0


@pytest.mark.integration
@pytest.mark.timeout(300)
async def test_every_webhook_kind_reaches_the_inbox(inbox: RunningInbox,
                                                    settings: InfraSettings) -> None:
    """Each fixture posted through webhook_ingest; then, until each expectation holds or the
    deadline passes, what the inbox API shows is read again and checked. Every failure is
    reported together, with what was shown."""
    every = cases()
    ignored = documented_ignored()
    async with poster(inbox, settings) as post:
        for case in every:  # what the fixtures refer to, first
            for body in case.preludes():
                await post(body)
        for case in every:
            await post(case.body())

    pending = {case.name: case for case in every if case.name not in ignored}
    failures: dict[str, str] = {}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DEADLINE_SECONDS
    async with inbox.client() as http, inbox.client(inbox.other_key) as other:
        shown = Shown(http, other)
        while pending:
            await shown.refresh()
            for name, case in list(pending.items()):
                try:
                    await EXPECTATIONS[name](shown, case)
                except AssertionError as exc:
                    failures[name] = str(exc) or repr(exc)
                else:
                    failures.pop(name, None)
                    del pending[name]
            if not pending or loop.time() > deadline:
                break
            await asyncio.sleep(ROUND_SECONDS)
        # Everything else has been folded by now: what is shown nowhere can be checked.
        await shown.refresh()
        for case in every:
            if case.name in ignored:
                try:
                    await EXPECTATIONS[case.name](shown, case)
                except AssertionError as exc:
                    failures[case.name] = f"listed as shown nowhere, yet: {exc}"
    report = "\n".join(f"- {name}: {why}" for name, why in sorted(failures.items()))
    assert not failures, f"{len(failures)} of {len(every)} fixtures:\n{report}"
