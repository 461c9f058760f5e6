"""The ``inbox`` fixture (the whole product; tests/integration/inbox_api/stack.py) for the
campaign tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from shared.config import InfraSettings
from tests.integration.inbox_api.stack import RunningInbox, running_inbox


@pytest.fixture
async def inbox(settings: InfraSettings,
                db: AsyncDatabase[dict[str, Any]]) -> AsyncIterator[RunningInbox]:
    async with running_inbox(settings, db) as running:
        yield running
