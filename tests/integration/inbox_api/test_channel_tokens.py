"""Channels' Meta tokens at rest, on the real database: the raw document never holds the token,
every reader gets it back, and ``reencrypt-tokens`` seals old documents and rotates keys."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.fernet import Fernet
from pymongo.asynchronous.database import AsyncDatabase

from services.inbox_api.admin import create_tenant, reencrypt_tokens
from services.inbox_api.campaigns.repository import CampaignRepository
from services.inbox_api.conversations.repository import MongoInboxRepository
from services.inbox_api.templates.repository import MongoTemplateStore
from shared.channel_tokens import TokenBox
from shared.channels import CHANNELS_COLLECTION, ChannelDirectory

pytestmark = pytest.mark.integration

Db = AsyncDatabase[dict[str, Any]]
OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()


async def test_a_stored_token_is_not_readable_as_plaintext(db: Db) -> None:
    box = TokenBox([NEW])
    await create_tenant(db, tenant="acme", phone_number_id="1001", waba_id="2001", agent="ana",
                        access_token="EAAG-very-secret", tokens=box)
    raw = await db[CHANNELS_COLLECTION].find_one({"_id": "1001"})
    assert raw is not None
    assert "EAAG-very-secret" not in str(raw)
    assert raw["access_token"].startswith("fernet:")

    # Every reader opens it with the keys.
    found = await MongoInboxRepository(db, box).channel("1001")
    assert found is not None
    assert found.access_token.get_secret_value() == "EAAG-very-secret"
    [listed] = await MongoInboxRepository(db, box).tenant_channels("acme")
    assert listed.access_token.get_secret_value() == "EAAG-very-secret"
    campaign_channel = await CampaignRepository(db, box).channel("1001")
    assert campaign_channel is not None
    assert campaign_channel.access_token.get_secret_value() == "EAAG-very-secret"
    [template_channel] = await MongoTemplateStore(db, box).channels("acme")
    assert template_channel.access_token.get_secret_value() == "EAAG-very-secret"
    directory = ChannelDirectory(tokens=box)
    await directory.load(db[CHANNELS_COLLECTION])
    cached = directory.by_number("1001")
    assert cached is not None
    assert cached.access_token.get_secret_value() == "EAAG-very-secret"


async def test_reencrypt_seals_plaintext_and_rotates_keys(db: Db) -> None:
    # A document from before sealing, and one sealed with the old key.
    await db[CHANNELS_COLLECTION].insert_one({
        "_id": "1002", "phone_number_id": "1002", "tenant_id": "acme", "waba_id": "2001",
        "access_token": "EAAG-legacy-plain"})
    await create_tenant(db, tenant="acme", phone_number_id="1003", waba_id="2001", agent="ana",
                        access_token="EAAG-old-key", tokens=TokenBox([OLD]))

    rotating = TokenBox([NEW, OLD])
    assert await reencrypt_tokens(db, rotating) == (2, 2)
    assert await reencrypt_tokens(db, rotating) == (0, 2)  # idempotent

    raw = {d["_id"]: d["access_token"] async for d in db[CHANNELS_COLLECTION].find({})}
    assert "EAAG" not in str(raw)
    # The old key is no longer needed.
    only_new = MongoInboxRepository(db, TokenBox([NEW]))
    for number, token in (("1002", "EAAG-legacy-plain"), ("1003", "EAAG-old-key")):
        channel = await only_new.channel(number)
        assert channel is not None
        assert channel.access_token.get_secret_value() == token
