"""Reading the sandbox's webhooks with pywa's own parser.

:class:`PywaReader` hands a webhook POST to pywa the way pywa's webhook server does:
``webhook_update_validator`` checks ``X-Hub-Signature-256`` with the app secret, then
``webhook_update_handler`` parses the body and dispatches it. A handler is registered for every
typed update pywa offers, so each update must become exactly one typed object (``Message``,
``MessageStatus``, ``CallbackButton``, ``TemplateStatusUpdate``, ...). Anything else is a
:class:`PywaParseFailure`: pywa logged a warning or an error (it could not build the update, or
fell back to a generic handler), a value fell back to an enum's ``UNKNOWN`` member, or nothing
typed came out at all (only pywa's raw update).

Two things pywa 4.5.0 does not do, and what the reader does about them:

- pywa reads only ``entry[0].changes[0]`` and the first item of its ``messages`` or
  ``statuses``. Meta batches (up to 1,000 updates per POST), so the reader splits a POST into one
  envelope per item: same ``object``, entry ``id`` and ``time``, ``field``, ``metadata``, and the
  contact that item is about. The signature is checked on the POST as it was sent.
- pywa builds ``MessageStatus.from_user`` from ``value.contacts[0]`` and requires its ``user_id``
  (pywa issues #220 and #227), but a ``failed`` status comes without contacts, or with one that
  has no ``user_id``. For ``failed`` items only, when no contact with a ``user_id`` is about the
  recipient, the reader gives pywa the contact the status itself names (``recipient_id``,
  ``recipient_user_id``). A ``sent``, ``delivered`` or ``read`` status gets no such help.
"""

from __future__ import annotations

import json
import logging
import warnings
from collections.abc import Iterator
from typing import Any

from pywa import handlers
from pywa.errors import PywaWarning
from pywa.types.base_update import BaseUpdate
from pywa_async.client import WhatsApp

Raw = dict[str, Any]

# Handlers that are not about a webhook update.
_NOT_UPDATES = {"RawUpdateHandler", "FlowRequestHandler"}
_ITEMS = ("messages", "statuses", "message_echoes", "calls", "user_preferences")


class PywaParseFailure(AssertionError):
    """pywa could not turn a webhook update into its typed object."""


class PywaReader:
    """Turns webhook POSTs into pywa's typed updates; see the module docstring."""

    def __init__(self, wa: WhatsApp) -> None:
        self._wa = wa
        self._built: list[BaseUpdate] = []
        wa.add_handlers(*(getattr(handlers, name)(self._keep)
                          for name in handlers.__all__ if name not in _NOT_UPDATES))

    async def _keep(self, _: WhatsApp, update: BaseUpdate) -> None:
        self._built.append(update)

    async def read(self, body: bytes, signature: str | None) -> list[BaseUpdate]:
        """Every update of one POST, typed by pywa, in order."""
        refused = await self._wa.webhook_update_validator(body, signature)
        if refused is not None:
            raise PywaParseFailure(f"pywa refused the POST's signature: {refused}")
        return [await self._read_one(update) for update in single_updates(json.loads(body))]

    async def _read_one(self, update: Raw) -> BaseUpdate:
        before = len(self._built)
        complaints = _Complaints()
        pywa_loggers = [logging.getLogger("pywa"), logging.getLogger("pywa_async")]
        for logger in pywa_loggers:
            logger.addHandler(complaints)
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                await self._wa.webhook_update_handler(json.dumps(update).encode())
        finally:
            for logger in pywa_loggers:
                logger.removeHandler(complaints)
        reasons = complaints.messages + [str(w.message) for w in caught
                                         if issubclass(w.category, PywaWarning)]
        built = self._built[before:]
        if len(built) != 1:
            reasons.append(f"pywa built {len(built)} typed updates, not 1")
        if reasons:
            raise PywaParseFailure("pywa could not read this update:\n  "
                                   + "\n  ".join(reasons) + f"\n{json.dumps(update, indent=1)}")
        return built[0]


class _Complaints(logging.Handler):
    """pywa's warnings and errors while it handles one update."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            text += f" ({type(record.exc_info[1]).__name__}: {record.exc_info[1]})"
        self.messages.append(f"{record.name} {record.levelname}: {text}")


def single_updates(payload: Raw) -> Iterator[Raw]:
    """One envelope per update of a (possibly batched) webhook POST."""
    for entry in payload.get("entry", []):
        head = {k: v for k, v in entry.items() if k != "changes"}
        for change in entry.get("changes", []):
            value = change.get("value", {})
            kind = next((k for k in _ITEMS if isinstance(value.get(k), list)), None)
            if kind is None or (len(value[kind]) <= 1 and not _needs_recipient(value, kind)):
                yield {**payload, "entry": [{**head, "changes": [change]}]}
                continue
            for item in value[kind]:
                one = {k: v for k, v in value.items() if k not in (kind, "contacts")}
                one[kind] = [item]
                contacts = _contacts_about(item, value.get("contacts", []), len(value[kind]))
                if contacts:
                    one["contacts"] = contacts
                yield {**payload, "entry": [{**head, "changes": [{**change, "value": one}]}]}


def _needs_recipient(value: Raw, kind: str) -> bool:
    return kind == "statuses" and value[kind][0].get("status") == "failed"


def _contacts_about(item: Raw, contacts: list[Raw], items: int) -> list[Raw]:
    """The contacts of a batch that are about this item (its sender, or its recipient)."""
    ids = {item.get(k) for k in ("from", "from_user_id", "recipient_id", "recipient_user_id")}
    ids.discard(None)
    about = [c for c in contacts if c.get("wa_id") in ids or c.get("user_id") in ids]
    if not about and items == 1:
        about = contacts
    if item.get("status") == "failed" and not any(c.get("user_id") for c in about):
        # pywa issues #220/#227: see the module docstring.
        contact: Raw = {"user_id": item.get("recipient_user_id") or ""}
        if item.get("recipient_id"):
            contact["wa_id"] = item["recipient_id"]
        about = [contact]
    return about
