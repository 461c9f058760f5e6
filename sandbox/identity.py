"""Who a simulated customer is to a business: number, business-scoped user id (BSUID), profile.

Meta gives every WhatsApp user one BSUID per business portfolio: the user's ISO 3166 country
code, a dot, and up to 128 alphanumerics (``US.13491208655302741918``). It is stable, except
that a new phone number brings a new one. It is in every messages webhook (``contacts[].user_id``,
``messages[].from_user_id``, ``statuses[].recipient_user_id``), whatever the number shows.

The sandbox takes the WABA id as the portfolio (one account, one portfolio) and derives the BSUID
from (portfolio, canonical number), so tests can predict it with :func:`bsuid_for`. Parent BSUIDs
(``US.ENT.…``, linked portfolios) are not simulated: ``parent_user_id`` is only sent when set.

:class:`CustomerBook` remembers each customer a portfolio was shown: the profile name and
username their messages carried (statuses show them too) and the way back from a BSUID to the
number (a send addressed by ``recipient`` instead of ``to``). A customer's number is optional in
the model, ready for username users whose number Meta hides; the sandbox does not create such
customers yet.
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from typing import Any, NamedTuple

from shared.phone import InvalidPhoneNumber, canonical_wa_id

BSUID = re.compile(r"^[A-Z]{2}\.(ENT\.)?[A-Za-z0-9]{1,128}$")
UNKNOWN_COUNTRY = "ZZ"  # ISO's user-assigned code: a calling code this table does not know
BOOK_LIMIT = 100_000

# Calling code -> ISO 3166 alpha-2, for the countries tests and demos use. +1 (NANP) is taken
# as the US and +7 as Russia; a BSUID only needs a plausible, stable prefix.
_COUNTRIES = {
    "1": "US", "7": "RU", "20": "EG", "27": "ZA", "30": "GR", "31": "NL", "32": "BE",
    "33": "FR", "34": "ES", "36": "HU", "39": "IT", "40": "RO", "41": "CH", "43": "AT",
    "44": "GB", "45": "DK", "46": "SE", "47": "NO", "48": "PL", "49": "DE", "51": "PE",
    "52": "MX", "53": "CU", "54": "AR", "55": "BR", "56": "CL", "57": "CO", "58": "VE",
    "60": "MY", "61": "AU", "62": "ID", "63": "PH", "64": "NZ", "65": "SG", "66": "TH",
    "81": "JP", "82": "KR", "84": "VN", "86": "CN", "90": "TR", "91": "IN", "92": "PK",
    "93": "AF", "94": "LK", "95": "MM", "98": "IR", "212": "MA", "213": "DZ", "216": "TN",
    "233": "GH", "234": "NG", "254": "KE", "255": "TZ", "256": "UG", "351": "PT", "353": "IE",
    "358": "FI", "380": "UA", "420": "CZ", "852": "HK", "880": "BD", "886": "TW", "962": "JO",
    "965": "KW", "966": "SA", "971": "AE", "972": "IL", "974": "QA",
}


def country_of(number: str) -> str:
    """The ISO 3166 alpha-2 code of a number's calling code (``ZZ`` when not in the table)."""
    digits = canonical_wa_id(number)
    for size in (3, 2, 1):
        found = _COUNTRIES.get(digits[:size])
        if found is not None:
            return found
    return UNKNOWN_COUNTRY


@lru_cache(maxsize=65_536)
def bsuid_for(portfolio_id: str, number: str) -> str:
    """The BSUID of the customer with this number, for this business portfolio (its WABA id).

    Deterministic: the same customer always has the same BSUID for one portfolio, and another
    one for another portfolio; the number's spellings (Brazil's 8 or 9 digits) are one customer.
    Raises :class:`~shared.phone.InvalidPhoneNumber` for something that is not a phone number.
    """
    digits = canonical_wa_id(number)
    digest = hashlib.sha256(f"{portfolio_id}:{digits}".encode()).digest()
    return f"{country_of(digits)}.{int.from_bytes(digest[:8], 'big'):020d}"


def is_bsuid(value: str) -> bool:
    """Whether ``value`` has a BSUID's shape (or a parent BSUID's)."""
    return bool(BSUID.match(value))


def user_id_or_none(portfolio_id: str, number: str) -> str | None:
    """:func:`bsuid_for`, or None when ``number`` is not a phone number (a group id)."""
    try:
        return bsuid_for(portfolio_id, number)
    except InvalidPhoneNumber:
        return None


class Customer(NamedTuple):
    """A WhatsApp user as one business portfolio sees them.

    A tuple of atomic values, so that the garbage collector stops tracking the book's entries
    (the book grows with every customer a benchmark writes to).
    """

    user_id: str
    wa_id: str | None = None  # None: Meta does not share the number (username users)
    name: str | None = None
    username: str | None = None
    parent_user_id: str | None = None

    def contact(self, *, with_username: bool = True) -> dict[str, Any]:
        """The ``contacts[]`` element of a messages webhook (inbound messages and statuses)."""
        profile: dict[str, Any] = {}
        if self.name is not None:
            profile["name"] = self.name
        if self.username is not None and with_username:
            profile["username"] = self.username
        out: dict[str, Any] = {"profile": profile} if profile else {}
        if self.wa_id is not None:
            out["wa_id"] = self.wa_id
        out["user_id"] = self.user_id
        if self.parent_user_id is not None:
            out["parent_user_id"] = self.parent_user_id
        return out


def _dicts(items: Any) -> list[dict[str, Any]]:
    return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []


class CustomerBook:
    """The customers each portfolio was shown, by BSUID (the last ``limit``).

    Keyed by (portfolio, BSUID): the BSUID stands for the canonical number, so every spelling of
    a number finds the same entry without canonicalizing it again (statuses look customers up
    thousands of times a second under a benchmark).
    """

    def __init__(self, limit: int = BOOK_LIMIT) -> None:
        self.limit = limit
        self._rows: dict[tuple[str, str], Customer] = {}

    def customer(self, portfolio_id: str, number: str) -> Customer:
        """The customer with this number (remembered from now on if new)."""
        return self.shown(portfolio_id, bsuid_for(portfolio_id, number), number)

    def shown(self, portfolio_id: str, user_id: str, number: str | None) -> Customer:
        """The customer a webhook names by BSUID (and number): remembered from now on if new."""
        found = self._rows.get((portfolio_id, user_id))
        if found is None:
            found = self._put((portfolio_id, user_id), Customer(user_id, number))
        return found

    def remember(self, portfolio_id: str, number: str, *, name: str | None = None,
                 username: str | None = None) -> Customer:
        """Record the profile a customer's message showed (a None keeps what was known)."""
        user_id = bsuid_for(portfolio_id, number)
        old = self._rows.get((portfolio_id, user_id))
        customer = Customer(user_id, number,
                            name if name is not None else (old.name if old else None),
                            username if username is not None else (old.username if old else None),
                            old.parent_user_id if old else None)
        return self._put((portfolio_id, user_id), customer)

    def by_user_id(self, portfolio_id: str, user_id: str) -> Customer | None:
        """The customer a BSUID stands for, if this portfolio was shown it."""
        return self._rows.get((portfolio_id, user_id))

    def learn(self, payload: Any) -> None:
        """Remember the profiles in a customer-message webhook body (its ``contacts[]``)."""
        if not isinstance(payload, dict):
            return
        for entry in _dicts(payload.get("entry")):
            for change in _dicts(entry.get("changes")):
                value = change.get("value")
                for contact in _dicts(value.get("contacts") if isinstance(value, dict) else ()):
                    self._learn_contact(str(entry.get("id")), contact)

    def _learn_contact(self, portfolio_id: str, contact: dict[str, Any]) -> None:
        """One ``contacts[]`` element: by its BSUID, with or without a number (hidden)."""
        number = contact.get("wa_id") or None
        profile = contact.get("profile")
        profile = profile if isinstance(profile, dict) else {}
        user_id = contact.get("user_id")
        if not isinstance(user_id, str) or not user_id:
            if number is None or not profile:
                return
            try:
                user_id = bsuid_for(portfolio_id, str(number))
            except InvalidPhoneNumber:
                return
        old = self._rows.get((portfolio_id, user_id))
        name, username = profile.get("name"), profile.get("username")
        self._put((portfolio_id, user_id), Customer(
            user_id, str(number) if number is not None else None,
            name if name is not None else (old.name if old else None),
            username if username is not None else (old.username if old else None),
            contact.get("parent_user_id") or (old.parent_user_id if old else None)))

    def clear(self) -> None:
        self._rows.clear()

    def __len__(self) -> int:
        return len(self._rows)

    def _put(self, key: tuple[str, str], customer: Customer) -> Customer:
        if key not in self._rows and len(self._rows) >= self.limit:
            del self._rows[next(iter(self._rows))]
        self._rows[key] = customer
        return customer
