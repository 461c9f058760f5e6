"""A customer's marketing opt-out as the sender and the inbox read it (``opt_outs``, written by
conversation_store: docs/campaigns.md, "Opt-outs").

Only MARKETING templates are held back from an opted-out customer; utility and authentication
templates, and free-form replies in the window, still go. The sender decides (it is the
authority); inbox_api pre-checks with the same refusal and shows the marker on the customer's
conversation. Both look the customer up by :func:`shared.campaigns.customer_key` (the number,
else the BSUID), under which the store writes every identifier an opt-out event knows.
"""

from __future__ import annotations

from shared.campaigns import customer_key, opt_out_id
from shared.window import RefusalReason, Refused

MARKETING = "MARKETING"

OPTED_OUT = Refused(
    RefusalReason.OPTED_OUT,
    "This customer asked to stop receiving marketing messages from this number, so marketing "
    "templates are not sent to them.",
    "Reply within the customer's 24-hour window, or send a utility template; the customer can "
    "opt back in by sending START.",
)


def is_marketing(category: object) -> bool:
    return isinstance(category, str) and category.upper() == MARKETING


def customer_opt_out_id(tenant_id: str, business_phone_number_id: str, wa_id: str | None,
                        user_id: str | None) -> str | None:
    """The ``opt_outs`` ``_id`` a send to this customer is checked against (None: no identifier)."""
    if not (wa_id or user_id):
        return None
    return opt_out_id(tenant_id, business_phone_number_id, customer_key(wa_id, user_id))
