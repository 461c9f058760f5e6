"""What can go wrong with one webhook request, and the HTTP status each outcome maps to.

Exception tree::

    WebhookIngestError            (base; carries ``status_code`` and a short ``code``)
    ├── VerificationRefused       403  GET handshake: wrong mode or verify token
    ├── BadHandshake              400  GET handshake: no challenge to echo
    ├── SignatureInvalid          401  X-Hub-Signature-256 missing, malformed or not matching
    ├── PayloadTooLarge           413  body over the configured limit
    ├── UnsupportedMediaType      415  POST whose Content-Type is not application/json
    ├── InvalidPayload            400  not JSON, or not a WhatsApp Business Account payload
    └── NotDurable                503  Kafka did not acknowledge in time: Meta must retry
    PublishFailed                      (adapter) the broker refused or is unreachable;
                                       the service turns it into NotDurable
"""

from __future__ import annotations


class WebhookIngestError(Exception):
    """Base of the service's expected failures; the router renders them as JSON."""

    status_code = 500
    code = "internal_error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class VerificationRefused(WebhookIngestError):
    """The verification handshake did not carry ``hub.mode=subscribe`` and our verify token."""

    status_code = 403
    code = "verification_refused"


class BadHandshake(WebhookIngestError):
    """The verification handshake had the right token but no ``hub.challenge`` to echo."""

    status_code = 400
    code = "bad_handshake"


class SignatureInvalid(WebhookIngestError):
    """The body is not signed with any configured app secret."""

    status_code = 401
    code = "signature_invalid"


class PayloadTooLarge(WebhookIngestError):
    """The body is larger than the configured limit."""

    status_code = 413
    code = "payload_too_large"


class UnsupportedMediaType(WebhookIngestError):
    """A POST whose Content-Type is missing or not ``application/json`` (Meta always sends it)."""

    status_code = 415
    code = "unsupported_media_type"


class InvalidPayload(WebhookIngestError):
    """A signed body that is not a WhatsApp Business Account webhook."""

    status_code = 400
    code = "invalid_payload"


class NotDurable(WebhookIngestError):
    """The webhook could not be made durable in time; answering non-200 makes Meta retry."""

    status_code = 503
    code = "not_durable"


class PublishFailed(Exception):
    """The broker refused the records or could not be reached (a transient failure)."""
