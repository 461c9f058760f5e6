"""API keys (admins: list, make with the secret shown once, revoke) and the tenant's business
numbers (everyone)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from services.inbox_api.deps import Caller, KeyAdminDep, RequireAdmin
from services.inbox_api.errors import error_responses
from services.inbox_api.keys.schemas import ChannelList, KeyCreated, KeyIn, KeyList, KeyOut

router = APIRouter(tags=["keys"])

KeyId = Annotated[str, Path(min_length=1, max_length=100)]


@router.get("/keys", responses=error_responses(401, 403))
async def list_keys(caller: RequireAdmin, keys: KeyAdminDep) -> KeyList:
    """The team's usable API keys (never a secret), newest first."""
    return await keys.keys(caller)


@router.post("/keys", status_code=201, responses=error_responses(401, 403, 422))
async def create_key(body: KeyIn, caller: RequireAdmin, keys: KeyAdminDep) -> KeyCreated:
    """A new key for a service or an agent; its ``secret`` is shown this once."""
    return await keys.create(caller, body)


@router.delete("/keys/{key_id}", responses=error_responses(401, 403, 404))
async def revoke_key(key_id: KeyId, caller: RequireAdmin, keys: KeyAdminDep) -> KeyOut:
    """Revoke a key: it, and every session made from it, stop at once."""
    return await keys.revoke(caller, key_id)


@router.get("/channels", responses=error_responses(401))
async def list_channels(caller: Caller, keys: KeyAdminDep) -> ChannelList:
    """The tenant's business numbers (as in ``/me``); managed from the command line."""
    return await keys.channels(caller)
