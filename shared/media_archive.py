"""The media archive: customers' media copied out of Meta on arrival, defined once.

Meta keeps a customer's media for a limited time (its id for days, a download URL for minutes:
/work/shared/whatsapp-cloud-api.md section 9), so conversation_store's media archiver
(``services/conversation_store/media/``) downloads each one when it arrives and keeps the bytes;
inbox_api serves them from here first (docs/media.md).

- ``media_archive``: one document per (tenant, media id), written only by the archiver. Its
  fields are :class:`ArchivedMedia`'s; ``_id`` is :func:`archive_id`. No secondary index: every
  read is by ``_id`` (one media, or a thread page's ``_id $in``).
- the bytes: a GridFS bucket ``media_files`` (``media_files.files``, ``media_files.chunks``) by
  default, each file's ``_id`` the record's ``_id``; an S3-compatible store is the planned
  production option (``storage``/``location`` say where each record's bytes are, so records of
  both kinds can coexist during a move).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pymongo import ASCENDING, IndexModel

MEDIA_ARCHIVE_COLLECTION = "media_archive"
MEDIA_BUCKET = "media_files"
MEDIA_FILES_COLLECTION = f"{MEDIA_BUCKET}.files"
MEDIA_CHUNKS_COLLECTION = f"{MEDIA_BUCKET}.chunks"
# GridFS's own indexes (PyMongo creates them on a bucket's first upload, by these names); the
# archiver creates them at start so they exist before the first file, and are declared here.
MEDIA_FILE_INDEXES: dict[str, list[IndexModel]] = {
    MEDIA_FILES_COLLECTION: [IndexModel([("filename", ASCENDING), ("uploadDate", ASCENDING)],
                                        name="filename_1_uploadDate_1")],
    MEDIA_CHUNKS_COLLECTION: [IndexModel([("files_id", ASCENDING), ("n", ASCENDING)],
                                         name="files_id_1_n_1", unique=True)],
}
GRIDFS = "gridfs"


class ArchiveStatus(StrEnum):
    """Where a media's archiving stands."""

    # Recorded, not stored yet: the download is under way (or was cut short by a restart).
    PENDING = "pending"
    STORED = "stored"
    # The download failed (attempts exhausted, or Meta refused or no longer has it): ``reason``.
    FAILED = "failed"
    # Refused by the tenant's policy, never stored: ``reason`` says the size and the limit.
    TOO_LARGE = "too_large"
    DISALLOWED_TYPE = "disallowed_type"


# Statuses an agent may ask to retry (a refusal is retried too: the limits may have changed).
RETRYABLE = frozenset({ArchiveStatus.FAILED, ArchiveStatus.TOO_LARGE,
                       ArchiveStatus.DISALLOWED_TYPE})


def archive_id(tenant_id: str, media_id: str) -> str:
    """The record's ``_id`` (and its file's): the media id inside its tenant, so one tenant can
    never read another's record, even by a guessed media id."""
    return f"{tenant_id}/{media_id}"


class ArchivedMedia(BaseModel):
    """A ``media_archive`` document."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    id: str = Field(alias="_id")
    tenant_id: str
    media_id: str
    conversation_id: str
    message_wamid: str
    business_phone_number_id: str
    # WhatsApp's kind: image, video, audio, document, sticker.
    media_type: str
    status: ArchiveStatus
    # Why it failed or was refused (an agent reads it), else None.
    reason: str | None = None
    # The MIME type checked and served (Meta's, as announced), and the file's name if it has one.
    mime_type: str | None = None
    filename: str | None = None
    # Bytes stored; for a refusal, the size Meta announced.
    size: int | None = None
    # The limit a too-large file was over (bytes).
    limit: int | None = None
    # Hex SHA-256 of the stored bytes; Meta's own (base64) as its webhook announced it.
    sha256: str | None = None
    meta_sha256: str | None = None
    # Download attempts so far (every try counts, retries by agents too).
    attempts: int = 0
    storage: str | None = None
    location: str | None = None
    created_at: datetime
    updated_at: datetime
    stored_at: datetime | None = None

    def document(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True)
