"""Template management through pywa: list, create (then the review's webhook), read, send, delete.

Meta's reference (``WA/templates/template-management``): ``GET /{waba_id}/message_templates``
pages ``data`` with ``paging`` and, when asked, a ``summary``; ``POST`` there answers ``{id,
status: "PENDING", category}`` and the review ends with a ``message_template_status_update``;
``DELETE ?name=`` answers ``{success: true}``. Only an approved template can be sent.
"""

from __future__ import annotations

import uuid

import pytest
from pywa.errors import TemplateNotExists, WhatsAppError
from pywa.types.others import Pagination
from pywa.types.templates import (
    BodyText,
    ParamFormat,
    Template,
    TemplateCategory,
    TemplateLanguage,
    TemplateRejectionReason,
    TemplateStatus,
)
from pywa_async.client import WhatsApp
from pywa_async.types.templates import TemplateStatusUpdate

from sandbox.testing import SandboxClient
from tests.contract.business import CUSTOMER, WABA_ID, body_parameters
from tests.contract.webhook_inbox import WebhookInbox

EN_US = TemplateLanguage.ENGLISH_US


def fresh_name(prefix: str) -> str:
    """Meta keeps a deleted name for 30 days, and the sandbox lives for the whole session."""
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def welcome(name: str) -> Template:
    return Template(name=name, category=TemplateCategory.UTILITY, language=EN_US,
                    parameter_format=ParamFormat.POSITIONAL,
                    components=[BodyText("Welcome {{1}}, thanks for your order.", "Sheena")])


class TestListing:
    async def test_lists_the_accounts_templates(self, sandbox: SandboxClient,
                                                wa: WhatsApp) -> None:
        templates = await wa.get_templates()
        assert sorted(t.name for t in templates) == ["hello_world", "order_update",
                                                     "spring_sale"]
        for template in templates:
            assert template.id.isdigit()
            assert template.status == TemplateStatus.APPROVED
            assert template.language == EN_US
            assert template.category in (TemplateCategory.UTILITY, TemplateCategory.MARKETING)
            assert template.components
        assert templates.total_count == 3  # summary=total_count,...

    async def test_pages_with_cursors(self, sandbox: SandboxClient, wa: WhatsApp) -> None:
        first = await wa.get_templates(pagination=Pagination(limit=2))
        assert len(first) == 2
        assert first.has_next
        assert first.after
        rest = await wa.get_templates(pagination=Pagination(limit=2, after=first.after))
        assert [t.name for t in rest] == ["spring_sale"]


class TestLifecycle:
    async def test_create_review_send_delete(self, sandbox: SandboxClient, wa: WhatsApp,
                                             inbox: WebhookInbox) -> None:
        name = fresh_name("contract_welcome")
        created = await wa.create_template(welcome(name))
        assert created.id.isdigit()
        assert created.status == TemplateStatus.PENDING
        assert created.category == TemplateCategory.UTILITY

        # The review ends asynchronously, with a webhook.
        review = await inbox.wait_for(TemplateStatusUpdate,
                                      lambda u: u.template_name == name)
        assert review.new_status == TemplateStatus.APPROVED
        assert review.template_id == created.id
        assert review.id == WABA_ID
        details = await wa.get_template(created.id)
        assert (details.name, details.status) == (name, TemplateStatus.APPROVED)

        sent = await wa.send_template(CUSTOMER, name, EN_US,
                                      params=[body_parameters("Sheena")])
        assert sent.id.startswith("wamid.")

        deleted = await wa.delete_template(name)
        assert deleted.success is True
        assert name not in [t.name for t in await wa.get_templates()]
        with pytest.raises(TemplateNotExists):
            await wa.send_template(CUSTOMER, name, EN_US,
                                   params=[body_parameters("Sheena")])

    async def test_a_rejected_review_says_why(self, sandbox: SandboxClient, wa: WhatsApp,
                                              inbox: WebhookInbox) -> None:
        name = fresh_name("contract_promo")
        await sandbox.review_templates(reject=[name], reason="PROMOTIONAL")
        created = await wa.create_template(welcome(name))
        review = await inbox.wait_for(TemplateStatusUpdate, lambda u: u.template_name == name)
        assert review.new_status == TemplateStatus.REJECTED
        assert review.reason == TemplateRejectionReason.PROMOTIONAL
        assert review.template_id == created.id

    async def test_the_same_name_and_language_twice_is_refused(self, sandbox: SandboxClient,
                                                               wa: WhatsApp) -> None:
        name = fresh_name("contract_twice")
        await wa.create_template(welcome(name))
        with pytest.raises(WhatsAppError) as twice:
            await wa.create_template(welcome(name))
        assert twice.value.code == 100
