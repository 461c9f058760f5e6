"""Writes audit entries in the background, so recording never slows or fails a request.

``record`` only puts the entry on a bounded queue; one task writes what is queued in batches.
A full queue or a failed write drops entries and counts them
(``inbox_api_audit_entries_total{outcome}``): the request they describe has already succeeded,
and the counter is what alerts an operator. ``close`` writes what is queued before shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from services.inbox_api.audit.ports import AuditStore, Document
from services.inbox_api.metrics import AUDIT_ENTRIES

log = logging.getLogger(__name__)
BATCH = 200


class AuditRecorder:
    def __init__(self, store: AuditStore, capacity: int = 10_000) -> None:
        self.store = store
        self.queue: asyncio.Queue[Document] = asyncio.Queue(capacity)
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self.task is None:
            self.task = asyncio.create_task(self._run(), name="audit-writer")

    def record(self, entry: Document) -> None:
        try:
            self.queue.put_nowait(entry)
        except asyncio.QueueFull:
            AUDIT_ENTRIES.labels("dropped_queue_full").inc()
            log.warning("audit queue full; entry dropped", extra={"action": entry.get("action")})

    async def flush(self) -> None:
        """Wait until every entry queued so far is written (or counted as dropped)."""
        await self.queue.join()

    async def close(self) -> None:
        if self.task is None:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.queue.join(), 5.0)
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
        self.task = None

    async def _run(self) -> None:
        while True:
            batch = [await self.queue.get()]
            while len(batch) < BATCH and not self.queue.empty():
                batch.append(self.queue.get_nowait())
            try:
                await self.store.add_many(batch)
                AUDIT_ENTRIES.labels("written").inc(len(batch))
            except Exception as exc:
                AUDIT_ENTRIES.labels("dropped_write_failed").inc(len(batch))
                log.warning("audit write failed; entries dropped",
                            extra={"entries": len(batch), "error": type(exc).__name__})
            finally:
                for _ in batch:
                    self.queue.task_done()
