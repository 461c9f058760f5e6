"""Every event round-trips through JSON, every union member has a sample, and the generated
documents in docs/events are what the models say."""

from __future__ import annotations

import json
import typing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

from shared import events as ev
from shared.events.catalog import TOPIC_CONTRACTS, render_all

AT = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)
ENVELOPE = {
    "occurred_at": AT,
    "tenant_id": "acme",
    "conversation_id": "106540352242922:16505551234",
}
SEND = {
    **ENVELOPE,
    "command_id": "cmd-1",
    "actor_id": "agent-7",
    "business_phone_number_id": "106540352242922",
    "customer_wa_id": "16505551234",
}
RESULT = {
    **ENVELOPE,
    "command_id": "cmd-1",
    "business_phone_number_id": "106540352242922",
    "customer_wa_id": "16505551234",
    "content": ev.OutboundContent(kind="text", text="Hi"),
}
ERROR = ev.MetaError(code=131047, title="Re-engagement message", details="more than 24 hours")

SAMPLES: list[BaseModel] = [
    ev.MessageReceived(
        **ENVELOPE,
        payload=ev.InboundMessage(
            wamid="wamid.1",
            message_type="text",
            sent_at=AT,
            business_phone_number_id="106540352242922",
            from_wa_id="16505551234",
            customer=ev.CustomerProfile(wa_id="16505551234", name="Sheena"),
            content={"body": "Hi"},
            preview="Hi",
            context=ev.ReplyContext(
                message_id="wamid.0", from_number="15550783881", forwarded=True
            ),
            referral={"source_type": "ad", "ctwa_clid": "x"},
            errors=[ERROR],
            extra={"new_field": {"nested": [1, 2]}},
        ),
    ),
    ev.MessageStatusChanged(
        **ENVELOPE,
        payload=ev.StatusUpdate(
            wamid="wamid.2",
            status="failed",
            at=AT,
            business_phone_number_id="106540352242922",
            recipient_wa_id="16505551234",
            errors=[ERROR],
            pricing={"type": "regular"},
            biz_opaque_callback_data="ref-9",
        ),
    ),
    ev.TemplateStatusChanged(
        occurred_at=AT,
        tenant_id="acme",
        payload=ev.TemplateStatus(
            waba_id="w1",
            template_id="123",
            name="order_update",
            language="en_US",
            event="REJECTED",
            reason="INVALID_FORMAT",
            extra={"rejection_info": {"reason": "x"}},
        ),
    ),
    ev.TemplateQualityChanged(
        occurred_at=AT,
        tenant_id="acme",
        payload=ev.TemplateQuality(
            waba_id="w1",
            template_id="123",
            name="order_update",
            language="en_US",
            previous_score="GREEN",
            new_score="YELLOW",
        ),
    ),
    ev.TemplateCategoryChanged(
        occurred_at=AT,
        tenant_id="acme",
        payload=ev.TemplateCategory(
            waba_id="w1",
            template_id="123",
            name="order_update",
            language="en_US",
            previous_category="UTILITY",
            new_category="MARKETING",
        ),
    ),
    ev.PhoneNumberQualityChanged(
        occurred_at=AT,
        tenant_id="acme",
        payload=ev.PhoneNumberQuality(
            waba_id="w1", display_phone_number="15550783881", event="THROUGHPUT_UPGRADE"
        ),
    ),
    ev.WebhookErrorsReported(
        occurred_at=AT,
        tenant_id="acme",
        payload=ev.WebhookErrors(waba_id="w1", field="messages", errors=[ERROR]),
    ),
    ev.WebhookChangeUnhandled(
        occurred_at=AT,
        tenant_id="acme",
        payload=ev.WebhookChange(
            waba_id="w1", field="brand_new_field", value={"anything": [1, "two", None]}
        ),
    ),
    # The webhook kinds beyond messages and statuses (issue 15; docs/webhook_kinds.md).
    ev.MessageEchoed(
        **ENVELOPE,
        payload=ev.InboundMessage(
            wamid="wamid.echo", message_type="edit", sent_at=AT,
            business_phone_number_id="106540352242922", from_wa_id="16505551234",
            from_user_id="US.13491208655302741918", content={"body": "fixed typo"},
            preview="fixed typo", original_wamid="wamid.1", edited_type="text", history=True,
        ),
    ),
    ev.TemplateComponentsChanged(
        occurred_at=AT, tenant_id="acme",
        payload=ev.TemplateComponents(
            waba_id="w1", template_id="t1", name="order_update", language="en_US",
            header="Your order", body="Hi {{1}}", footer="Thanks",
            buttons=[{"message_template_button_type": "URL"}],
        ),
    ),
    ev.MarketingPreferenceChanged(
        **ENVELOPE,
        payload=ev.MarketingPreference(
            business_phone_number_id="106540352242922", wa_id="16505551234",
            category="marketing_messages", value="stop", detail="User requested to stop", at=AT,
        ),
    ),
    ev.CallUpdated(
        **ENVELOPE,
        payload=ev.Call(
            call_id="wacid.1", business_phone_number_id="106540352242922", wa_id="16505551234",
            direction="USER_INITIATED", event="terminate", status="COMPLETED", at=AT,
            started_at=AT, ended_at=AT, duration_seconds=42, errors=[{"code": 138021}],
        ),
    ),
    ev.AppContactSynced(
        **ENVELOPE,
        payload=ev.AppContact(
            business_phone_number_id="106540352242922", wa_id="16505551234",
            full_name="Pablo Morales", first_name="Pablo", action="add", at=AT,
        ),
    ),
    ev.AccountNoticeReceived(
        occurred_at=AT, tenant_id="acme",
        payload=ev.AccountNotice(
            waba_id="w1", field="account_update", event="ACCOUNT_RESTRICTION", at=AT,
            restrictions=[{"restriction_type": "RESTRICTED_BIZ_INITIATED_MESSAGING",
                           "expiration": 1750640000}],
            details={"violation_info": {"violation_type": "SCAM"}},
        ),
    ),
    ev.SendText(**SEND, text="Hello", reply_to_wamid="wamid.1", reference="crm-42"),
    ev.SendTemplate(
        **SEND,
        template_name="order_update",
        language="en_US",
        priority="bulk",
        campaign_id="camp-1",
        components=[
            ev.TemplateComponent(type="body", parameters=[{"type": "text", "text": "Jessica"}])
        ],
    ),
    ev.SendMedia(**SEND, media_type="document", link="https://example.com/a.pdf", filename="a.pdf"),
    ev.React(**SEND, message_wamid="wamid.1", emoji="👍"),
    ev.MarkRead(
        **ENVELOPE,
        command_id="cmd-2",
        business_phone_number_id="106540352242922",
        message_wamid="wamid.1",
    ),
    ev.ShowTyping(
        **ENVELOPE,
        command_id="cmd-5",
        business_phone_number_id="106540352242922",
        message_wamid="wamid.1",
    ),
    ev.AssignConversation(**ENVELOPE, command_id="cmd-3", assignee_id="agent-7"),
    ev.SetConversationStatus(**ENVELOPE, command_id="cmd-4", status="resolved"),
    ev.RetryMediaDownload(**ENVELOPE, command_id="cmd-5", actor_id="agent-7",
                          business_phone_number_id="106540352242922", media_id="1234567890",
                          message_wamid="wamid.1", media_type="image", mime_type="image/jpeg"),
    ev.MessageAccepted(**RESULT, wamid="wamid.3", accepted_at=AT, message_status="accepted"),
    ev.MessageRefused(**RESULT, reason="window_expired", detail="too late", hint="use a template"),
    ev.MessageFailed(**RESULT, error=ERROR, attempts=3),
    ev.MessageOutcomeUnknown(**RESULT, detail="sender restarted mid-call"),
    ev.ConversationChanged(
        **ENVELOPE,
        summary=ev.ConversationSummary(
            conversation_id="106540352242922:16505551234",
            business_phone_number_id="106540352242922",
            customer_wa_id="16505551234",
            contact_name="Sheena",
            last_message_at=AT,
            unread_count=2,
            version=7,
        ),
        message_ids=["wamid.1"],
    ),
    ev.ConversationMerged(
        **{**ENVELOPE, "conversation_id": "106540352242922:US.13491208655302741918"},
        payload=ev.Merge(survivor_conversation_id="106540352242922:16505551234",
                         business_phone_number_id="106540352242922", wa_id="16505551234",
                         user_id="US.13491208655302741918"),
    ),
    ev.ConversationAbsorbed(
        **ENVELOPE,
        payload=ev.AbsorbedThread(
            absorbed_conversation_id="106540352242922:US.13491208655302741918",
            conversation={"_id": "106540352242922:US.13491208655302741918"},
            messages=[{"_id": "106540352242922:US.13491208655302741918/wamid.1"}],
            unread={"wamid.1": AT}, part=0, parts=1),
    ),
]


def _adapter_for(sample: BaseModel) -> TypeAdapter[Any]:
    for adapter, _ in TOPIC_CONTRACTS.values():
        try:
            adapter.validate_python(sample.model_dump())
            return adapter
        except ValidationError:
            continue
    raise AssertionError(f"no topic carries {type(sample).__name__}")


def _union_members(adapter: TypeAdapter[Any]) -> set[Any]:
    annotated = adapter._type  # the Annotated[Union[...], discriminator] given to the adapter
    is_annotated = typing.get_origin(annotated) is typing.Annotated
    inner = typing.get_args(annotated)[0] if is_annotated else annotated
    members = typing.get_args(inner)
    return set(members) if members else {inner}


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: type(s).__name__)
def test_every_event_round_trips_through_json_on_its_topic(sample):
    adapter = _adapter_for(sample)
    decoded = adapter.validate_json(sample.model_dump_json(by_alias=True))
    assert type(decoded) is type(sample)
    assert decoded == sample


def test_every_event_on_every_topic_has_a_sample():
    declared = set().union(*(_union_members(a) for a, _ in TOPIC_CONTRACTS.values()))
    sampled = {type(s) for s in SAMPLES}
    assert declared - sampled == set()


def test_unknown_fields_are_ignored_so_producers_can_add_fields():
    sample = SAMPLES[0]
    data = json.loads(sample.model_dump_json())
    data["added_in_a_later_version"] = True
    assert ev.INBOUND_EVENTS.validate_python(data) == sample


def test_record_key_is_the_conversation_or_the_tenant():
    assert SAMPLES[0].record_key() == b"106540352242922:16505551234"  # type: ignore[attr-defined]
    assert SAMPLES[2].record_key() == b"acme"  # type: ignore[attr-defined]


def test_an_unknown_type_is_rejected():
    with pytest.raises(ValidationError):
        ev.INBOUND_EVENTS.validate_json(b'{"type": "nope", "tenant_id": "a", "occurred_at": "x"}')


def test_naive_timestamps_are_rejected():
    data = json.loads(SAMPLES[0].model_dump_json())
    data["occurred_at"] = "2026-11-25T09:30:00"
    with pytest.raises(ValidationError):
        ev.INBOUND_EVENTS.validate_python(data)


def test_generated_documents_match_the_models():
    docs = Path(__file__).resolve().parents[3] / "docs" / "events"
    for name, content in render_all().items():
        committed = (docs / name).read_text()
        assert committed == content, f"docs/events/{name} is stale: python -m shared.events.catalog"


def test_asyncapi_lists_every_topic_with_a_payload_schema():
    spec = json.loads(render_all()["asyncapi.json"])
    addresses = {c["address"] for c in spec["channels"].values()}
    assert set(TOPIC_CONTRACTS) <= addresses
    for message in spec["components"]["messages"].values():
        payload = message["payload"]
        assert payload.get("oneOf") or payload.get("$ref") or payload.get("properties")
