"""Customers the sandbox plays who are more than a phone number. Pure: no I/O.

Most simulated customers are just a number: their BSUID is ``bsuid_for(WABA, number)`` and Meta
shares the number. A :class:`Persona` is a customer the control API shaped: one with a username
whose number Meta hides (``hidden``: webhooks carry only the BSUID), or one whose number or BSUID
changed (``user_changed_number`` / ``user_changed_user_id``). Personas are per business portfolio
(the WABA), as BSUIDs are.

The sandbox always knows a persona's real number (the control API creates a customer from one);
``hidden`` only decides what the webhooks show. Every number and BSUID a persona ever had stays a
*handle* of it in the control API, so a test keeps saying-as the customer with the number it
started with, and the messages come from the customer's current number and BSUID.

Inside the sandbox a customer is keyed (window, pair limit) by :meth:`Persona.key`: the canonical
number while Meta shares it, the BSUID while it hides it, since a business can only address a
hidden customer by BSUID.
"""

from __future__ import annotations

from typing import NamedTuple

from sandbox.identity import bsuid_for, is_bsuid
from shared.phone import InvalidPhoneNumber, canonical_wa_id

LIMIT = 100_000


class Persona(NamedTuple):
    number: str  # canonical digits; Meta knows it, the business only when not ``hidden``
    user_id: str  # the current BSUID
    username: str | None = None
    hidden: bool = False  # Meta does not share the number

    @property
    def shown_number(self) -> str | None:
        """The number webhooks carry (``from``, ``wa_id``), None while hidden."""
        return None if self.hidden else self.number

    @property
    def key(self) -> str:
        """The customer's key inside the sandbox (see the module docstring)."""
        return self.user_id if self.hidden else self.number


def plain(portfolio_id: str, number: str) -> Persona:
    """The customer a bare number stands for. Raises InvalidPhoneNumber for a non-number."""
    digits = canonical_wa_id(number)
    return Persona(digits, bsuid_for(portfolio_id, digits))


class Personas:
    """The personas of each portfolio, by every handle (number or BSUID) they ever had."""

    def __init__(self, limit: int = LIMIT) -> None:
        self.limit = limit
        self._ids: dict[tuple[str, str], str] = {}  # (WABA, handle) -> persona id
        self._rows: dict[tuple[str, str], Persona] = {}  # (WABA, persona id) -> persona

    def __bool__(self) -> bool:
        return bool(self._rows)

    def __len__(self) -> int:
        return len(self._rows)

    def find(self, portfolio_id: str, handle: str) -> Persona | None:
        """The persona a number or BSUID names, if the control API shaped one."""
        pid = self._ids.get((portfolio_id, _handle(handle)))
        return None if pid is None else self._rows.get((portfolio_id, pid))

    def resolve(self, portfolio_id: str, handle: str) -> Persona:
        """The persona, or the plain customer of a number. Raises InvalidPhoneNumber for a
        handle that is neither a known BSUID nor a phone number."""
        found = self.find(portfolio_id, handle)
        return found if found is not None else plain(portfolio_id, handle)

    def put(self, portfolio_id: str, handle: str, *, username: str | None = None,
            hidden: bool | None = None, number: str | None = None,
            user_id: str | None = None) -> tuple[Persona, Persona]:
        """Create or change the persona ``handle`` names: (before, after). None keeps a value.

        A new ``number`` brings a new BSUID (``bsuid_for``) unless ``user_id`` names it.
        """
        before = self.resolve(portfolio_id, handle)
        digits = canonical_wa_id(number) if number is not None else before.number
        if user_id is None:
            user_id = bsuid_for(portfolio_id, digits) if digits != before.number \
                else before.user_id
        after = Persona(digits, user_id,
                        username if username is not None else before.username,
                        hidden if hidden is not None else before.hidden)
        pid = self._ids.get((portfolio_id, _handle(handle))) or before.user_id
        if (portfolio_id, pid) not in self._rows and len(self._rows) >= self.limit:
            self._forget_oldest()
        self._rows[(portfolio_id, pid)] = after
        for name in (before.number, before.user_id, after.number, after.user_id):
            self._ids[(portfolio_id, name)] = pid
        return before, after

    def user_id_of(self, portfolio_id: str, number: str) -> str | None:
        """The BSUID of the persona that has this number now (None: not a persona's)."""
        found = self.find(portfolio_id, number)
        return found.user_id if found is not None and found.number == _handle(number) else None

    def clear(self) -> None:
        self._ids.clear()
        self._rows.clear()

    def _forget_oldest(self) -> None:
        key = next(iter(self._rows))
        del self._rows[key]
        for handle in [h for h, pid in self._ids.items() if (h[0], pid) == key]:
            del self._ids[handle]


def _handle(value: str) -> str:
    if is_bsuid(value):
        return value
    try:
        return canonical_wa_id(value)
    except InvalidPhoneNumber:
        return value
