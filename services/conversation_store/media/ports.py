"""What the media archiver needs from the outside: the channels (a number's access token), the
Cloud API's media download, a store for the bytes and the archive records.

The adapters (``media/adapters/``, and shared/cloud_media.py for the download) implement them;
``media/main.py`` plugs one into the other.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Protocol

from services.conversation_store.media.rules import MediaRef
from shared.channels import Channel
from shared.cloud_media import MediaStream
from shared.media_archive import ArchivedMedia, ArchiveStatus


class Channels(Protocol):
    """The tenants' business numbers (their access tokens)."""

    async def find(self, phone_number_id: str) -> Channel | None: ...


class MediaFetcher(Protocol):
    """The Cloud API's two-step download (shared/cloud_media.py); raises its
    ``MediaFetchError`` kinds."""

    def open(self, channel: Channel,
             media_id: str) -> AbstractAsyncContextManager[MediaStream]: ...


class BlobStore(Protocol):
    """Where the bytes go (GridFS by default), under the record's ``_id``."""

    storage: str

    async def put(self, key: str, chunks: AsyncIterator[bytes], *, filename: str,
                  metadata: Mapping[str, str]) -> None:
        """Store what ``chunks`` yields as ``key``, replacing any earlier partial copy; when
        ``chunks`` raises, nothing is left behind and the error propagates."""


class ArchiveRecords(Protocol):
    """The ``media_archive`` collection: one record per media, conditional writes only."""

    async def begin(self, ref: MediaRef, now: datetime, *, retry: bool) -> ArchivedMedia:
        """The media's record, created ``pending`` if absent. With ``retry``, a record that is
        not stored is set back to ``pending`` (its reason cleared)."""

    async def stored(self, record_id: str, *, size: int, sha256: str, mime_type: str,
                     storage: str, location: str, attempts: int, now: datetime) -> None:
        """The bytes are stored: the record says where."""

    async def unsuccessful(self, record_id: str, *, status: ArchiveStatus, reason: str,
                           attempts: int, now: datetime, size: int | None = None,
                           limit: int | None = None, mime_type: str | None = None) -> None:
        """Failed or refused, with the reason; never over a stored record."""
