"""The real app on in-memory fakes (ASGI, no sockets), signed in as acme's agent."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from services.inbox_api.main import create_app
from services.inbox_api.settings import InboxApiSettings
from tests.unit.inbox_api.fakes import ACME_KEY, Wiring, WithState, wire


@pytest.fixture
def wiring() -> Wiring:
    return wire()


@pytest.fixture
async def http(wiring: Wiring) -> AsyncIterator[httpx.AsyncClient]:
    app = WithState(create_app(InboxApiSettings(api_docs=True)), wiring.state)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://inbox",
                                 headers={"Authorization": f"Bearer {ACME_KEY}"}) as client:
        yield client
