"""Meta's Cloud API error codes and what each means for a send: the one table.

Every code in Meta's error reference (docs: /shared/whatsapp-cloud-api.md §6) has one row in
:data:`ERROR_TABLE`. A code Meta adds later falls back on the HTTP status (:func:`rule_for`).
Logic keys on the code, never on titles or HTTP status, as Meta advises. The sender acts on it
(retry, delay the customer, fail); the campaign report groups failures by it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum


class Handling(StrEnum):
    """What to do with a send that came back with an error."""

    # Transient (rate limit, overload, maintenance): back off with jitter, honour Retry-After.
    RETRY = "retry"
    # Pair rate limit (131056): delay only this customer's queue, 4^X seconds, never the number.
    RETRY_RECIPIENT = "retry_recipient"
    # Permanent: publish outbound.failed with Meta's code, title and details.
    FAIL = "fail"


@dataclass(frozen=True, slots=True)
class CodeRule:
    """How one Cloud API error code is handled."""

    code: int
    meaning: str
    handling: Handling
    # Operators must act (token, payment, registration, policy, our own request bug).
    alert: bool = False
    # Meta says the whole number (or app) is over its limit: pause the number's bucket too.
    throttle_number: bool = False
    # Fewer attempts than the configured default (e.g. Meta's "retry, limited").
    max_attempts: int | None = None


RETRY = Handling.RETRY
RECIPIENT = Handling.RETRY_RECIPIENT
FAIL = Handling.FAIL

# Re-engagement message: Meta says the customer-service window is closed. Meta answers it to the
# call (HTTP 400) or, after accepting the send, in a ``failed`` status webhook; either way
# conversation_store records the window closed (shared/window.py), and the send is not retried.
RE_ENGAGEMENT = 131047

_RULES = (
    # The customer-service window and the customer's own state.
    CodeRule(RE_ENGAGEMENT, "More than 24 hours since the customer last replied", FAIL),
    CodeRule(131026, "Message undeliverable (not on WhatsApp, terms not accepted, old app)",
             FAIL),
    CodeRule(131049, "Not delivered to maintain healthy ecosystem engagement", FAIL),
    CodeRule(131050, "The customer stopped marketing messages", FAIL),
    # Rate limits.
    CodeRule(130429, "Throughput (messages per second) exceeded", RETRY, throttle_number=True),
    CodeRule(131056, "Pair rate limit: too many messages to this customer", RECIPIENT),
    CodeRule(131048, "Spam rate limit: too many blocks or reports", FAIL, alert=True),
    CodeRule(4, "Application request limit reached", RETRY, throttle_number=True),
    CodeRule(80007, "WhatsApp Business Account rate limit reached", RETRY,
             throttle_number=True),
    # Meta's side is unwell.
    CodeRule(131000, "Something went wrong", RETRY, max_attempts=3),
    CodeRule(131016, "Service unavailable", RETRY),
    CodeRule(1, "API unknown error", RETRY),
    CodeRule(2, "API service temporarily unavailable", RETRY),
    CodeRule(133004, "Server temporarily unavailable", RETRY),
    CodeRule(131057, "Account in maintenance mode", RETRY, throttle_number=True),
    # The request itself (a bug on our side: operators must look).
    CodeRule(100, "Invalid parameter", FAIL, alert=True),
    CodeRule(131008, "Required parameter is missing", FAIL, alert=True),
    CodeRule(131009, "Parameter value is not valid", FAIL, alert=True),
    CodeRule(131051, "Unsupported message type", FAIL, alert=True),
    CodeRule(131052, "Media download error", FAIL),
    CodeRule(131053, "Media upload error (type or MIME mismatch)", FAIL),
    # Templates.
    CodeRule(132000, "Template parameter count mismatch", FAIL),
    CodeRule(132001, "Template does not exist in this language or is not approved", FAIL),
    CodeRule(132005, "Translated template text too long", FAIL),
    CodeRule(132007, "Template format character policy violated", FAIL),
    CodeRule(132012, "Template parameter format mismatch", FAIL),
    CodeRule(132015, "Template is paused", FAIL),
    CodeRule(132016, "Template is permanently disabled", FAIL),
    # The business account: operators must act before anything goes out.
    CodeRule(133010, "Business phone number not registered", FAIL, alert=True),
    CodeRule(131045, "Phone number registration error", FAIL, alert=True),
    CodeRule(131042, "Business eligibility (payment) issue", FAIL, alert=True),
    CodeRule(131031, "Business account locked", FAIL, alert=True),
    CodeRule(368, "Temporarily blocked for policy violations", FAIL, alert=True),
    CodeRule(190, "Access token expired", FAIL, alert=True),
    CodeRule(0, "Authentication failed", FAIL, alert=True),
    CodeRule(10, "Permission denied", FAIL, alert=True),
)

ERROR_TABLE: Mapping[int, CodeRule] = {rule.code: rule for rule in _RULES}

# Codes the sender itself puts in ``outbound.failed`` when no Meta error exists (negative, so they
# can never collide with Meta's).
SENDER_UNREACHABLE = -1  # the Cloud API could not be reached, attempts exhausted; nothing sent
SENDER_UNKNOWN_CHANNEL = -2  # the business number is not a channel of the command's tenant
SENDER_BAD_ANSWER = -3  # Meta answered with something that is neither success nor its error

_SERVER_ERROR = CodeRule(-500, "Cloud API server error", RETRY, max_attempts=4)
_TOO_MANY = CodeRule(-429, "Too many requests", RETRY, throttle_number=True)
_UNKNOWN = CodeRule(-400, "Cloud API refused the request", FAIL)


def rule_for(code: int | None, http_status: int) -> CodeRule:
    """The rule for an error answer; unknown codes fall back on the HTTP status class."""
    if code is not None:
        rule = ERROR_TABLE.get(code)
        if rule is not None:
            return rule
    if http_status >= 500:
        return _SERVER_ERROR
    if http_status == 429:
        return _TOO_MANY
    return _UNKNOWN

