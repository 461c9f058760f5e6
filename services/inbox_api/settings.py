"""inbox_api's settings (environment prefix ``INBOX_API_``)."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field, HttpUrl
from pydantic_settings import SettingsConfigDict

from shared.config import ServiceSettings

# The local WhatsApp sandbox (./dev run), as for outbound_sender: production sets the real
# Cloud API (https://graph.facebook.com/v25.0) explicitly, so a laptop never reaches Meta.
SANDBOX_BASE_URL = "http://127.0.0.1:8090/v25.0"


class InboxApiSettings(ServiceSettings):
    """Infrastructure (shared names) plus the API's own knobs."""

    model_config = SettingsConfigDict(
        env_prefix="INBOX_API_", extra="ignore", populate_by_name=True
    )

    port: int = Field(default=8081, ge=0, le=65535)
    # The Cloud API, version included (media: {base}/{media_id}).
    cloud_api_base_url: HttpUrl = HttpUrl(SANDBOX_BASE_URL)
    media_timeout_seconds: float = Field(default=20.0, gt=0, le=300)
    # Browser sessions (cookie) last this long after sign-in.
    session_lifetime: timedelta = timedelta(hours=12)
    # The cookie's Secure flag: True behind TLS (production), False on http://127.0.0.1.
    cookie_secure: bool = False
    # Live updates: changes kept per replica for Last-Event-ID resume, and keep-alive period.
    stream_buffer_size: int = Field(default=10_000, ge=10, le=1_000_000)
    stream_ping_seconds: float = Field(default=15.0, gt=0, le=300)
    # Changes a slow stream client may have queued before it is told to resync.
    stream_client_queue: int = Field(default=1_000, ge=1, le=100_000)
    # Operators' port: /metrics (and /healthz, /readyz) for Prometheus, kept off the API port.
    ops_port: int = Field(default=8085, ge=0, le=65535)
    # The OpenAPI document (/api/v1/openapi.json) and Swagger UI (/api/docs): off unless set
    # (./dev run turns them on); production leaves them off (docs/inbox-api.md has the API).
    api_docs: bool = False
    # A sign-in link (``#signin=...``, single use) works this long after it was made.
    sign_in_link_lifetime: timedelta = timedelta(minutes=10)
