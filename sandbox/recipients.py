"""Who and what a business may address after its customers wrote: the customer messages it may
mark read, and the BSUIDs it may send to (``recipient``). Pure: no I/O.

Both are learnt from the customer-message webhooks the sandbox posts, so the send side agrees
with what the product was shown: a BSUID is the ``contacts[].user_id`` (or ``parent_user_id``)
of a message, or the new ``system.user_id`` of a number change. A BSUID whose customer's number
Meta hides (a username user, or a BSUID change) maps to "": the business can reach them by
BSUID alone. A BSUID belongs to the business
portfolio (the sandbox takes the WABA as the portfolio), so every number of the account may use
it; a customer message belongs to the number it was sent to. Both are bounded, the oldest
forgotten first.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from shared.channels import Channel

LIMIT = 500_000


class Recipients:
    """Customer messages by wamid, and customers' numbers by BSUID."""

    def __init__(self, limit: int = LIMIT) -> None:
        self.limit = limit
        # wamid -> (phone_number_id, sender as the message named them, its Unix timestamp)
        self._messages: OrderedDict[str, tuple[str, str, int]] = OrderedDict()
        self._bsuids: OrderedDict[tuple[str, str], str] = OrderedDict()  # (WABA, BSUID) -> wa_id
        # Messages the business sent from the WhatsApp Business app (echoes), which it may edit
        # or delete there: wamid -> (phone_number_id, the customer's number).
        self._echoes: OrderedDict[str, tuple[str, str]] = OrderedDict()

    def learn(self, channel: Channel, message: Mapping[str, Any], payload: Mapping[str, Any],
              from_wa_id: str) -> None:
        """A customer message was posted: ``message`` as built (it knows a number change's new
        number, which the webhook may hide), ``payload`` the webhook body."""
        self._messages[str(message["id"])] = (channel.phone_number_id, str(message.get("from")),
                                              int(message.get("timestamp") or 0))
        if len(self._messages) > self.limit:
            self._messages.popitem(last=False)
        system = message.get("system") if message.get("type") == "system" else None
        for change in _dicts(_dicts_of(payload, "entry"), "changes"):
            value = change.get("value")
            if not isinstance(value, dict):
                continue
            for contact in _dicts_of(value, "contacts"):
                for key in ("user_id", "parent_user_id"):
                    self._learn(channel, contact.get(key),
                                contact.get("wa_id") or ("" if "wa_id" not in contact
                                                         and "user_id" in contact
                                                         else from_wa_id))
            if isinstance(system, dict):
                for sent in _dicts_of(value, "messages"):
                    shown = sent.get("system")
                    if isinstance(shown, dict):
                        # A BSUID change hides the new number: the BSUID stands alone ("").
                        self._learn(channel, shown.get("user_id"), shown.get("wa_id") or "")

    def received(self, phone_number_id: str, wamid: str) -> bool:
        """Whether ``wamid`` is a customer message this number received."""
        found = self._messages.get(wamid)
        return found is not None and found[0] == phone_number_id

    def sent(self, phone_number_id: str, wamid: str) -> tuple[str, int] | None:
        """Who sent this number the customer message ``wamid`` (the ``from`` it was built
        with, the customer's real number even when Meta hid it), and when (Unix seconds)."""
        found = self._messages.get(wamid)
        return None if found is None or found[0] != phone_number_id else found[1:]

    def echoed(self, phone_number_id: str, wamid: str, customer_number: str) -> None:
        """The business sent ``wamid`` to the customer from the Business app on this number."""
        self._echoes[wamid] = (phone_number_id, customer_number)
        if len(self._echoes) > self.limit:
            self._echoes.popitem(last=False)

    def echo(self, phone_number_id: str, wamid: str) -> str | None:
        """The customer's number an app message of this number went to (None: not one)."""
        found = self._echoes.get(wamid)
        return None if found is None or found[0] != phone_number_id else found[1]

    def wa_id(self, channel: Channel, bsuid: str) -> str | None:
        """The number of the customer a BSUID names, if the account was shown it: "" when
        Meta hides that customer's number (the BSUID is all the business has), None when the
        account was never shown the BSUID."""
        return self._bsuids.get((channel.waba_id, bsuid))

    def show(self, channel: Channel, bsuid: str, wa_id: str) -> None:
        """The customer shared their number: sends by BSUID go to (and show) it from now on."""
        self._learn(channel, bsuid, wa_id)

    def clear(self) -> None:
        self._messages.clear()
        self._bsuids.clear()
        self._echoes.clear()

    def _learn(self, channel: Channel, bsuid: Any, wa_id: Any) -> None:
        if isinstance(bsuid, str) and bsuid and isinstance(wa_id, str):
            self._bsuids[(channel.waba_id, bsuid)] = wa_id
            if len(self._bsuids) > self.limit:
                self._bsuids.popitem(last=False)


def _dicts_of(obj: Mapping[str, Any], key: str) -> list[dict[str, Any]]:
    items = obj.get(key)
    return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []


def _dicts(objs: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    return [item for obj in objs for item in _dicts_of(obj, key)]
