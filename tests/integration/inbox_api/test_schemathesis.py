"""schemathesis over every documented operation, with a valid key: no input makes a 5xx.

The requests are blocking (requests), so the fuzzing runs in a worker thread while the stack
serves in the test's event loop. The event stream is left out: it never ends by design, and
tests/integration/inbox_api/test_api.py covers it.
"""

from __future__ import annotations

import asyncio
from typing import Any

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from tests.integration.inbox_api.stack import RunningInbox

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

EXAMPLES_PER_OPERATION = 20
SKIPPED_PATHS = {"/api/v1/stream"}


def fuzz(base_url: str, api_key: str) -> list[str]:
    """Run every operation; returns the labels of the operations that were exercised."""
    schema = schemathesis.openapi.from_url(f"{base_url}/api/v1/openapi.json")
    exercised: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]  # an invalid operation raises
        if operation.path in SKIPPED_PATHS:
            continue

        @hypothesis.settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None,
                             suppress_health_check=list(HealthCheck),
                             phases=[Phase.explicit, Phase.generate])
        # Valid inputs and invalid ones alike (negative cases must be 4xx, never 5xx).
        @hypothesis.given(case=operation.as_strategy(GenerationMode.POSITIVE)
                          | operation.as_strategy(GenerationMode.NEGATIVE))
        def run(case: Any) -> None:
            headers = {**(case.headers or {}), "Authorization": f"Bearer {api_key}"}
            case.call_and_validate(base_url=base_url, headers=headers,
                                   checks=[not_a_server_error], timeout=30)

        run()
        exercised.append(operation.label)
    return exercised


async def test_no_input_makes_a_server_error(inbox: RunningInbox) -> None:
    # Some data to find: one conversation with a message.
    await inbox.customer_says("Hello, fuzzers")
    exercised = await asyncio.to_thread(fuzz, inbox.base_url, inbox.api_key)
    assert len(exercised) >= 10
