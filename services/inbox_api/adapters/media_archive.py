"""The media archive's bytes (shared/media_archive.py), read from the GridFS bucket the store's
media archiver writes. The record says where its bytes are; a record of a store this replica
cannot read (or bytes gone missing) reads as not archived, and the media proxy falls back on
Meta's copy.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from gridfs import AsyncGridFSBucket
from gridfs.asynchronous.grid_file import AsyncGridOut
from gridfs.errors import NoFile
from pymongo.asynchronous.database import AsyncDatabase

from services.inbox_api.conversations.ports import MediaDownload
from shared.media_archive import GRIDFS, MEDIA_BUCKET, ArchivedMedia
from shared.mongo import Document

log = logging.getLogger(__name__)


class GridFsMediaArchive:
    """Streams archived media out of GridFS."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.bucket = AsyncGridFSBucket(db, bucket_name=MEDIA_BUCKET)

    async def open(self, record: ArchivedMedia) -> MediaDownload | None:
        if record.storage != GRIDFS or not record.location:
            return None
        try:
            out = await self.bucket.open_download_stream(record.location)
        except NoFile:
            log.warning("archived media has no file", extra={
                "tenant_id": record.tenant_id, "media_id": record.media_id})
            return None
        return MediaDownload(mime_type=record.mime_type or "application/octet-stream",
                             length=out.length, body=_chunks(out))


async def _chunks(out: AsyncGridOut) -> AsyncIterator[bytes]:
    try:
        while chunk := await out.readchunk():
            yield chunk
    finally:
        await out.close()
