"""How the sender classifies a failed attempt, by Meta's error table (``shared/cloud_errors.py``).

The sender raises no exceptions of its own: Cloud API answers are values
(``services/outbound_sender/cloud.py``), since a refusal by Meta is an expected outcome, published
as ``outbound.failed``; database and broker errors are the libraries' own, retried while they last
(``shared.consumer.default_is_transient``).
"""

from __future__ import annotations

from services.outbound_sender.cloud import NotSent, Rejected
from shared.cloud_errors import SENDER_BAD_ANSWER, SENDER_UNREACHABLE, CodeRule, Handling, rule_for
from shared.events import MetaError

UNREACHABLE_RULE = CodeRule(SENDER_UNREACHABLE, "Cloud API unreachable", Handling.RETRY)


def classify(answer: Rejected | NotSent) -> tuple[CodeRule, MetaError]:
    """The rule for a failed attempt, and the error to report if it ends there."""
    if isinstance(answer, NotSent):
        return UNREACHABLE_RULE, MetaError(
            code=SENDER_UNREACHABLE, title="Cloud API unreachable",
            message=f"The request could not be sent: {answer.reason}")
    if answer.error is None:
        rule = rule_for(None, answer.http_status)
        return rule, MetaError(code=SENDER_BAD_ANSWER,
                               title=f"Cloud API answered HTTP {answer.http_status}",
                               message=rule.meaning)
    rule = rule_for(answer.error.code, answer.http_status)
    error = answer.error
    if not error.title:
        error = error.model_copy(update={"title": rule.meaning})
    return rule, error
