"""What the labels' use cases need from MongoDB (``repository.py``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

Document = dict[str, Any]


class DuplicateLabel(Exception):
    """Another label of the tenant has that name."""


class LabelStore(Protocol):
    """A tenant's ``labels``, and ``conversation_labels`` (which labels a conversation carries)."""

    async def labels(self, tenant_id: str) -> list[Document]: ...
    async def label(self, tenant_id: str, label_id: str) -> Document | None: ...
    # Raise DuplicateLabel when the name is taken.
    async def add_label(self, doc: Document) -> None: ...
    async def update_label(self, tenant_id: str, label_id: str,
                           fields: Document) -> Document | None: ...
    # Also takes the label off every conversation; False when there was no such label.
    async def delete_label(self, tenant_id: str, label_id: str) -> bool: ...
    async def conversation_exists(self, tenant_id: str, conversation_id: str) -> bool: ...
    async def conversation_labels(self, tenant_id: str, conversation_id: str) -> list[str]: ...
    async def change_labels(self, tenant_id: str, conversation_id: str, *,
                            add: Sequence[str] = (), remove: Sequence[str] = (),
                            replace: Sequence[str] | None = None, at: datetime) -> list[str]: ...
