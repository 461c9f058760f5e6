"""The contract suite's world: the sandbox holding the business of :mod:`tests.contract.business`,
posting its webhooks to a :class:`WebhookInbox`, and the pywa client an integration would use
(``pywa_async.WhatsApp``), pointed at the sandbox.

The three are started once for the package (starting and stopping two servers per test would cost
more than the tests); each test gets them back to a known state through the ``sandbox`` fixture:
no pending webhooks, the sandbox reset (records, windows, faults, clock, media), the baseline
templates as they were, and an empty inbox. Status delays are zero and webhook batching is short,
so a test waits milliseconds for its webhooks. Everything runs in this process, on loopback,
without Kafka or MongoDB.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from pywa.errors import WhatsAppError
from pywa_async.client import WhatsApp

from sandbox.testing import SandboxClient, running_sandbox
from tests.contract.business import APP_SECRET, CHANNEL, TEMPLATES
from tests.contract.graph_transport import graph_session, pywa_client
from tests.contract.pywa_reader import PywaReader
from tests.contract.webhook_inbox import PATH, WebhookInbox
from tests.integration.serving import served

FAST: dict[str, Any] = {
    "sent_delay_seconds": 0.0, "delivered_delay_seconds": 0.0, "read_delay_seconds": 0.0,
    "delay_jitter": 0.0, "webhook_batch_interval_seconds": 0.01,
    "template_review_seconds": 0.05, "random_seed": 13}


@dataclass(frozen=True)
class World:
    sandbox: SandboxClient
    wa: WhatsApp
    inbox: WebhookInbox


@pytest.fixture(scope="package")
async def world() -> AsyncIterator[World]:
    inbox = WebhookInbox()
    async with served(inbox.app()) as port:
        inbox.url = f"http://127.0.0.1:{port}{PATH}"
        async with running_sandbox(channels=[CHANNEL], templates=TEMPLATES,
                                   webhook_url=inbox.url, app_secret=APP_SECRET,
                                   **FAST) as sandbox, graph_session(sandbox.base_url) as session:
            wa = pywa_client(session)
            inbox.reader = PywaReader(wa)  # the inbox reads webhooks with the same client
            yield World(sandbox, wa, inbox)


@pytest.fixture
async def sandbox(world: World) -> SandboxClient:
    """The sandbox, as if just started (see the module docstring)."""
    sandbox = world.sandbox
    await sandbox.wait_webhooks_idle()  # nothing from the last test lands in this one
    await sandbox.reset()
    await sandbox.review_templates()
    baseline = {t.name for t in TEMPLATES}
    for template in await sandbox.templates():
        if template.name not in baseline and template.status != "DELETED":
            await world.wa.delete_template(template.name)
    for template in TEMPLATES:
        await sandbox.put_template(template)
    await sandbox.wait_webhooks_idle()
    world.inbox.clear()
    return sandbox


@pytest.fixture
def wa(world: World) -> WhatsApp:
    return world.wa


@pytest.fixture
def inbox(world: World) -> WebhookInbox:
    return world.inbox


class PywaRaised(AssertionError):
    """A pywa call raised where the test expected an answer."""


@pytest.hookimpl(wrapper=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> Iterator[None]:
    # pywa's errors are frozen, slotted dataclasses: the first context manager on their way out
    # that sets ``__traceback__`` (pytest-asyncio's has one) turns them into "TypeError:
    # super(type, obj)". Re-raise them here, readable, before that happens.
    try:
        return (yield)
    except WhatsAppError as error:
        raise PywaRaised(f"pywa raised {error!r}") from None
