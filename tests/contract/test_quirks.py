"""Meta's documented quirks, pinned: what a client built on pywa must be ready for.

- **A closed window is refused asynchronously.** Outside the 24 h customer-service window a
  free-form message is accepted (HTTP 200, a wamid), then gets a ``failed`` status webhook with
  error 131047 ("Re-engagement message") and no ``sent``. The same when the customer never wrote.
  The window is open while ``now < last customer message + 24 h``. Templates still go out.
- **Statuses are batched.** One webhook POST carries several updates (Meta: up to 1,000, batching
  not guaranteed). pywa reads only the first item of a POST, so a receiver must split them
  (tests.contract.pywa_reader); every item must still read as a typed status.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from pywa.errors import ReEngagementMessage
from pywa.types.message_status import MessageStatusType
from pywa.types.templates import TemplateLanguage
from pywa_async.client import WhatsApp
from pywa_async.types.message_status import MessageStatus

from sandbox.testing import SandboxClient
from tests.contract.business import CUSTOMER, PHONE_NUMBER_ID
from tests.contract.webhook_inbox import WebhookInbox

WINDOW = timedelta(hours=24)


class TestClosedWindow:
    @pytest.mark.parametrize("since_last_message", [WINDOW, WINDOW + timedelta(days=3)],
                             ids=["exactly-24h", "days-later"])
    async def test_accepted_then_failed_with_131047(self, since_last_message: timedelta,
                                                    sandbox: SandboxClient, wa: WhatsApp,
                                                    inbox: WebhookInbox) -> None:
        await sandbox.customer_says(PHONE_NUMBER_ID, CUSTOMER, "Hi!")
        await sandbox.advance_clock(since_last_message)

        sent = await wa.send_message(CUSTOMER, "Sorry for the wait!")  # no exception: accepted
        assert sent.id.startswith("wamid.")
        await sandbox.wait_webhooks_idle()

        statuses = await inbox.statuses(sent.id)
        assert [s.status for s in statuses] == [MessageStatusType.FAILED]
        (failed,) = statuses
        assert isinstance(failed.error, ReEngagementMessage)
        assert failed.error.code == 131047
        (emitted,) = await sandbox.statuses(wamid=sent.id)
        assert (emitted.status, emitted.error_code) == ("failed", 131047)

    async def test_a_customer_who_never_wrote(self, sandbox: SandboxClient, wa: WhatsApp,
                                              inbox: WebhookInbox) -> None:
        sent = await wa.send_message(CUSTOMER, "Hello out of the blue")
        failed = await inbox.wait_for(MessageStatus, lambda s: s.id == sent.id)
        assert failed.status == MessageStatusType.FAILED
        assert failed.error is not None
        assert failed.error.code == 131047

    async def test_one_second_before_24h_it_is_still_open(self, sandbox: SandboxClient,
                                                          wa: WhatsApp,
                                                          inbox: WebhookInbox) -> None:
        await sandbox.customer_says(PHONE_NUMBER_ID, CUSTOMER, "Hi!")
        await sandbox.advance_clock(WINDOW - timedelta(seconds=2))
        sent = await wa.send_message(CUSTOMER, "Just in time")
        await sandbox.wait_webhooks_idle()
        assert next(s.status for s in await inbox.statuses(sent.id)) == MessageStatusType.SENT

    async def test_a_template_still_goes_out(self, sandbox: SandboxClient, wa: WhatsApp,
                                             inbox: WebhookInbox) -> None:
        await sandbox.customer_says(PHONE_NUMBER_ID, CUSTOMER, "Hi!")
        await sandbox.advance_clock(WINDOW + timedelta(hours=1))
        sent = await wa.send_template(CUSTOMER, "hello_world", TemplateLanguage.ENGLISH_US)
        await sandbox.wait_webhooks_idle()
        assert [s.status for s in await inbox.statuses(sent.id)] == [
            MessageStatusType.SENT, MessageStatusType.DELIVERED, MessageStatusType.READ]


class TestBatchedStatuses:
    async def test_one_post_carries_several_statuses_and_each_reads(
            self, sandbox: SandboxClient, wa: WhatsApp, inbox: WebhookInbox) -> None:
        await sandbox.customer_says(PHONE_NUMBER_ID, CUSTOMER, "Hi!")
        sent = [await wa.send_message(CUSTOMER, f"Update {i}") for i in range(5)]
        await sandbox.wait_webhooks_idle()

        per_post = [_status_items(json.loads(p.body)) for p in inbox.posts]
        assert max(per_post) > 1, f"no POST batched statuses: {per_post}"
        statuses = await inbox.of(MessageStatus)  # every item of every POST, read by pywa
        assert len(statuses) == sum(per_post) == 3 * len(sent)
        for message in sent:
            assert sorted(s.status for s in statuses if s.id == message.id) == sorted(
                [MessageStatusType.SENT, MessageStatusType.DELIVERED, MessageStatusType.READ])


def _status_items(payload: dict[str, object]) -> int:
    entries = payload.get("entry", [])
    assert isinstance(entries, list)
    return sum(len(change.get("value", {}).get("statuses", []))
               for entry in entries for change in entry.get("changes", []))
