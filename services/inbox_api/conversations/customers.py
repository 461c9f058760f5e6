"""Who a send goes to: a customer's number, BSUID, or both (issue 14). Pure."""

from __future__ import annotations

from services.inbox_api.conversations.ports import Document
from services.inbox_api.errors import InvalidInput, SendRefused
from shared.contacts import is_bsuid
from shared.phone import InvalidPhoneNumber, canonical_wa_id

# The customer's identifiers as a send command takes them (``customer_wa_id``,
# ``customer_user_id``): at least one is set.
Customer = dict[str, str | None]


def of_conversation(conversation: Document) -> Customer:
    """Who a stored conversation's sends go to: its number when known (the sender sends
    ``to``), and its BSUID (``recipient`` when the number is unknown). Never derived from the
    conversation id, which is a BSUID for a customer who hides their number."""
    wa_id, user_id = conversation.get("customer_wa_id"), conversation.get("customer_user_id")
    if not wa_id and not user_id:
        raise SendRefused("This conversation has no phone number or WhatsApp user id to send "
                          "to yet.", code="customer_unknown", reason="customer_unknown")
    return {"customer_wa_id": wa_id or None, "customer_user_id": user_id or None}


def new_customer(wa_id: str | None, user_id: str | None) -> Customer:
    """A new conversation's customer, as the API names them: a number (any spelling with the
    country code), a BSUID (``US.1349...``), or both. A malformed one is 422 naming its field.
    A parent BSUID (``US.ENT.``) is refused: inbound events key a customer by their own BSUID,
    so a thread opened by the parent one would never meet the customer's answers."""
    number = None
    if wa_id is not None:
        try:
            number = canonical_wa_id(wa_id)
        except InvalidPhoneNumber:
            raise InvalidInput("customer_wa_id: not a phone number (country code and 8 to 15 "
                               "digits).", code="validation_failed",
                               field="customer_wa_id") from None
    if user_id is not None and not is_bsuid(user_id):
        raise InvalidInput("customer_user_id: not a WhatsApp business-scoped user id (a "
                           "two-letter country code, a dot and up to 128 letters or digits, "
                           "e.g. US.13491208655302741918; not a parent US.ENT. one).",
                           code="validation_failed",
                           field="customer_user_id")
    if number is None and user_id is None:
        raise InvalidInput("Name the customer: customer_wa_id (a phone number) or "
                           "customer_user_id (a business-scoped user id).",
                           code="validation_failed", field="customer_wa_id")
    return {"customer_wa_id": number, "customer_user_id": user_id}
