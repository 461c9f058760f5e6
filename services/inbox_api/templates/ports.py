"""What the template use cases need from MongoDB (``repository.py``, and the inbox repository for
the composer's list) and from the Cloud API (``adapters/cloud_templates.py``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from shared.channels import Channel

Document = dict[str, Any]


class TemplateStore(Protocol):
    """The ``templates`` collection (conditional on the time that set a value) and channels."""

    async def channels(self, tenant_id: str | None = None) -> list[Channel]: ...
    async def get(self, doc_id: str) -> Document | None: ...
    async def of_tenant(self, tenant_id: str, status: str | None) -> list[Document]: ...
    async def of_account(self, waba_id: str) -> list[Document]: ...

    async def put_definition(self, doc_id: str, fields: Document,
                             created_at: datetime) -> None: ...

    async def set_status_if_older(self, doc_id: str, fields: Document) -> bool: ...
    async def set_quality_if_older(self, doc_id: str, fields: Document) -> bool: ...
    async def record_edit(self, doc_id: str, at: datetime) -> None: ...


class TemplateReader(Protocol):
    """The tenant's templates of one status (or all), as the composer lists them."""

    async def templates(self, tenant_id: str, status: str | None) -> list[Document]: ...


class CloudApiRefused(Exception):
    """Meta refused the request; ``code`` is Meta's error code."""

    def __init__(self, code: int | None, message: str, http_status: int) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.http_status = http_status


class CloudApiDown(Exception):
    """The Cloud API could not be reached or answered 5xx; retry later."""


class TemplateCloud(Protocol):
    """Meta's template management, with a channel's token; raises the two errors above."""

    async def list_templates(self, channel: Channel) -> list[dict[str, Any]]: ...
    async def create(self, channel: Channel, body: dict[str, Any]) -> dict[str, Any]: ...

    async def edit(self, channel: Channel, template_id: str,
                   body: dict[str, Any]) -> dict[str, Any]: ...

    async def delete(self, channel: Channel, name: str, template_id: str | None) -> None: ...
