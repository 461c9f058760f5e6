"""Stored canned replies -> their JSON shape."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.inbox_api.canned_replies.schemas import CannedReplyOut


def reply_view(doc: Mapping[str, Any]) -> CannedReplyOut:
    return CannedReplyOut(id=str(doc["_id"]), shortcut=str(doc.get("shortcut") or ""),
                          title=str(doc.get("title") or ""), text=str(doc.get("text") or ""),
                          updated_at=doc.get("updated_at") or doc.get("created_at"))
