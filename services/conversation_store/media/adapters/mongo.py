"""The archive's MongoDB side: ``media_archive`` records (shared/media_archive.py) and the bytes
in GridFS, both written only here.

Every record write is a single-document conditional update (FerretDB v1 has no transactions):
a record is created once (``$setOnInsert``), and no later write replaces a stored record, so a
replay, a retry and a second member after a rebalance all agree.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from typing import Any

from gridfs import AsyncGridFSBucket
from gridfs.errors import NoFile
from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from services.conversation_store.media.rules import MediaRef
from shared.media_archive import (
    GRIDFS,
    MEDIA_ARCHIVE_COLLECTION,
    MEDIA_BUCKET,
    MEDIA_FILE_INDEXES,
    ArchivedMedia,
    ArchiveStatus,
    archive_id,
)
from shared.mongo import Document, ensure_indexes

# GridFS's default chunk size (255 KB): under FerretDB's and MongoDB's document limits with room.
CHUNK_BYTES = 255 * 1024


class MongoArchiveRecords:
    """``ArchiveRecords`` on the ``media_archive`` collection."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.collection: AsyncCollection[Document] = db[MEDIA_ARCHIVE_COLLECTION]

    async def begin(self, ref: MediaRef, now: datetime, *, retry: bool) -> ArchivedMedia:
        record_id = archive_id(ref.tenant_id, ref.media_id)
        doc = await self.collection.find_one_and_update(
            {"_id": record_id},
            {"$setOnInsert": {
                "tenant_id": ref.tenant_id, "media_id": ref.media_id,
                "conversation_id": ref.conversation_id, "message_wamid": ref.message_wamid,
                "business_phone_number_id": ref.business_phone_number_id,
                "media_type": ref.media_type, "mime_type": ref.mime_type,
                "filename": ref.filename, "meta_sha256": ref.sha256,
                "status": ArchiveStatus.PENDING.value, "attempts": 0, "created_at": now,
                "updated_at": now}},
            upsert=True, return_document=ReturnDocument.AFTER)
        record = ArchivedMedia.model_validate(doc)
        if not retry or record.status in (ArchiveStatus.STORED, ArchiveStatus.PENDING):
            return record
        await self.collection.update_one(
            {"_id": record_id, "status": {"$ne": ArchiveStatus.STORED.value}},
            {"$set": {"status": ArchiveStatus.PENDING.value, "reason": None, "limit": None,
                      "updated_at": now}})
        return record.model_copy(update={"status": ArchiveStatus.PENDING, "reason": None})

    async def stored(self, record_id: str, *, size: int, sha256: str, mime_type: str,
                     storage: str, location: str, attempts: int, now: datetime) -> None:
        await self.collection.update_one(
            {"_id": record_id},
            {"$set": {"status": ArchiveStatus.STORED.value, "reason": None, "limit": None,
                      "size": size, "sha256": sha256, "mime_type": mime_type,
                      "storage": storage, "location": location, "attempts": attempts,
                      "stored_at": now, "updated_at": now}})

    async def unsuccessful(self, record_id: str, *, status: ArchiveStatus, reason: str,
                           attempts: int, now: datetime, size: int | None = None,
                           limit: int | None = None, mime_type: str | None = None) -> None:
        update: dict[str, Any] = {"status": status.value, "reason": reason,
                                  "attempts": attempts, "size": size, "limit": limit,
                                  "updated_at": now}
        if mime_type is not None:
            update["mime_type"] = mime_type
        await self.collection.update_one(
            {"_id": record_id, "status": {"$ne": ArchiveStatus.STORED.value}},
            {"$set": update})


class GridFsBlobStore:
    """``BlobStore`` on a GridFS bucket (``media_files``); a file's ``_id`` is its key."""

    storage = GRIDFS

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.db = db
        self.bucket = AsyncGridFSBucket(db, bucket_name=MEDIA_BUCKET,
                                        chunk_size_bytes=CHUNK_BYTES)

    async def ensure_indexes(self) -> None:
        await ensure_indexes(self.db, MEDIA_FILE_INDEXES)

    async def put(self, key: str, chunks: AsyncIterator[bytes], *, filename: str,
                  metadata: Mapping[str, str]) -> None:
        await self._remove(key)  # what an interrupted earlier try left behind
        upload = self.bucket.open_upload_stream_with_id(key, filename, metadata=dict(metadata))
        try:
            async for chunk in chunks:
                await upload.write(chunk)
        except BaseException:
            await upload.abort()
            raise
        await upload.close()

    async def _remove(self, key: str) -> None:
        try:
            await self.bucket.delete(key)
        except NoFile:
            pass  # nothing there (GridFS deletes any orphan chunks all the same)
