"""The whole product for one template test (tests/integration/inbox_api/stack.py), with template
reviews that end quickly."""

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
    async with running_inbox(settings, db,
                             sandbox_settings={"template_review_seconds": 0.2}) as running:
        yield running
