"""outbound_sender's settings (environment prefix ``OUTBOUND_SENDER_``)."""

from __future__ import annotations

import os
import socket
from datetime import timedelta
from typing import Literal

from pydantic import Field, HttpUrl
from pydantic_settings import SettingsConfigDict

from shared.config import ServiceSettings

# The local WhatsApp sandbox (./dev run). Production sets the real Cloud API explicitly:
# https://graph.facebook.com/v25.0. A forgotten variable thus never reaches Meta from a laptop,
# and in production it fails loudly (nothing listens on loopback) instead of silently.
SANDBOX_BASE_URL = "http://127.0.0.1:8090/v25.0"


def _default_owner() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class OutboundSenderSettings(ServiceSettings):
    """Infrastructure (shared names) plus the sender's own knobs."""

    model_config = SettingsConfigDict(
        env_prefix="OUTBOUND_SENDER_", extra="ignore", populate_by_name=True
    )

    # The ops side port (/healthz, /readyz, /metrics); 0 picks a free one.
    port: int = Field(default=8083, ge=0, le=65535)
    group_id: str = "outbound-sender"
    # The Cloud API, version included (sends go to {base}/{phone_number_id}/messages).
    cloud_api_base_url: HttpUrl = HttpUrl(SANDBOX_BASE_URL)
    # conversation_store's consumer group: the window race check waits for its commits.
    store_group_id: str = "conversation-store"
    # Names this replica in its ledger claims (diagnostics only; uniqueness is not required).
    instance_id: str = Field(default_factory=_default_owner)

    # Cloud API calls.
    connect_timeout_seconds: float = Field(default=3.0, gt=0, le=60)
    # A call never takes longer: after this the outcome is in doubt (reported, never resent).
    call_deadline_seconds: float = Field(default=15.0, gt=0, le=120)
    # Calls in flight at most, over all connections (Meta answers in ~0.1-0.3 s: 256 calls in
    # flight carry 1,000 messages/s with room to spare).
    max_connections: int = Field(default=256, ge=1, le=10_000)
    # Idle connections are closed after this, before the server's own keep-alive timeout
    # (uvicorn's is 5 s): a request written on a connection the server is closing is in doubt.
    keepalive_seconds: float = Field(default=3.0, gt=0, le=300)
    # How long after a claim's deadline another replica may judge it abandoned.
    lease_margin_seconds: float = Field(default=5.0, ge=0.1, le=600)

    # Retries.
    max_attempts: int = Field(default=6, ge=1, le=50)
    pair_limit_max_attempts: int = Field(default=5, ge=1, le=20)
    backoff_base_seconds: float = Field(default=0.5, gt=0, le=60)
    backoff_max_seconds: float = Field(default=30.0, gt=0, le=3600)

    # Pacing: burst allowance of each number's bucket, and the share of Meta's throughput the
    # sender uses (inbound messages count against the same limit at Meta). With the shared rate
    # (the default) the share is of the number's GLOBAL rate, whatever the number of replicas:
    # leave it at 1.0 unless inbound traffic needs headroom.
    burst_seconds: float = Field(default=0.05, gt=0, le=10)
    throughput_share: float = Field(default=1.0, gt=0, le=1)
    # "shared": one bucket per number in MongoDB, leased by every replica (docs/outbound_sender.md
    # "Elastic sending"); "replica": each replica paces alone (one replica, or a hand-set share).
    rate_scope: Literal["shared", "replica"] = "shared"
    # A lease asks for this many seconds of the number's rate (fewer if fewer sends wait).
    rate_lease_seconds: float = Field(default=0.15, gt=0, le=5)
    # Leased tokens not spent within this are dropped (bounds the global overshoot).
    rate_hold_seconds: float = Field(default=0.2, gt=0, le=10)

    # Window race: how long a would-be refusal waits for conversation_store to catch up.
    window_recheck_seconds: float = Field(default=5.0, ge=0, le=60)
    template_cache_seconds: float = Field(default=5.0, ge=0, le=3600)
    channels_refresh_seconds: float = Field(default=30.0, gt=0)

    # Consumption: commands read but not finished, at most (then the partitions pause).
    max_buffered: int = Field(default=20_000, ge=1, le=1_000_000)
    max_batch: int = Field(default=500, ge=1, le=5000)
    poll_timeout_ms: int = Field(default=200, ge=10, le=10_000)
    # Ledger documents are kept this long (longer than inbox.commands.v1's retention).
    ledger_retention: timedelta = timedelta(days=14)
    # Shutdown and rebalance wait this long for calls in flight to finish and be recorded.
    drain_seconds: float = Field(default=30.0, ge=0, le=600)

    # Campaigns (docs/campaigns.md): the dispatcher's poll, lease, and how far ahead of the
    # sender it releases; its share of a number's throughput leaves room for agent replies.
    campaigns_enabled: bool = True
    campaign_poll_seconds: float = Field(default=1.0, gt=0, le=60)
    campaign_lease_seconds: float = Field(default=10.0, ge=1, le=600)
    campaign_lead_seconds: float = Field(default=1.0, gt=0, le=60)
    campaign_share: float = Field(default=0.9, gt=0, le=1)
    campaign_max_batch: int = Field(default=500, ge=1, le=5000)
