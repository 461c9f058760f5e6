"""Stored labels -> their JSON shape."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from services.inbox_api.labels.schemas import ConversationLabels, LabelOut


def label_view(doc: Mapping[str, Any]) -> LabelOut:
    return LabelOut(id=str(doc["_id"]), name=str(doc.get("name") or ""),
                    colour=str(doc.get("colour") or "#6e7781"),
                    created_at=doc.get("created_at"))


def conversation_labels(conversation_id: str, label_ids: Iterable[str],
                        labels: Iterable[Mapping[str, Any]],
                        at: datetime | None = None) -> ConversationLabels:
    """The conversation's labels that still exist, in the tenant's label order (by name)."""
    wanted = set(label_ids)
    return ConversationLabels(conversation_id=conversation_id,
                              labels=[label_view(d) for d in labels if d["_id"] in wanted],
                              labels_at=at)
