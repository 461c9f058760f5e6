"""A TCP proxy on loopback for fault tests: forward, cut, stall or delay connections to a server.

::

    with TcpProxy("127.0.0.1", kafka.proxied_listen_port, listen_port=p) as proxy:
        proxy.cut()       # every open connection is closed, new ones are closed on accept
        proxy.restore()   # plain forwarding again

The proxy runs its own asyncio loop in a daemon thread, so its methods can be called from sync
code and from any other event loop; a mode change has taken effect when the call returns.
Each direction of each connection has a reader (client or server -> a bounded queue) and a
writer (queue -> the other side) that applies the mode, so held and delayed bytes keep their
order, and a stall applies TCP back-pressure once the queue is full instead of buffering
without bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Literal, TypeVar

Mode = Literal["forward", "cut", "stall", "delay"]

CHUNK = 65536
QUEUE_CHUNKS = 64  # per direction; a stalled reader stops reading beyond this
_EOF = b""

T = TypeVar("T")


@dataclass(slots=True, eq=False)  # hashed by identity: kept in a set
class _Link:
    """One proxied connection: the accepted socket, its streams, and the target's."""

    sock: socket.socket
    client: asyncio.StreamWriter | None = None
    server: asyncio.StreamWriter | None = None
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def abort(self) -> None:
        for task in self.tasks:
            task.cancel()
        for writer in (self.client, self.server):
            if writer is not None:
                writer.transport.abort()
        self.sock.close()  # before its transport exists (a no-op after the abort)


class TcpProxy:
    """Forwards ``127.0.0.1:port`` to ``target_host:target_port``; faults on demand."""

    def __init__(self, target_host: str, target_port: int, listen_port: int = 0) -> None:
        if not ipaddress.ip_address(target_host).is_loopback:
            raise ValueError(f"TcpProxy only targets loopback addresses, not {target_host!r}")
        self.target_host = target_host
        self.target_port = target_port
        self.port = listen_port
        self._mode: Mode = "forward"
        self._delay = 0.0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None
        self._acceptor: asyncio.Task[None] | None = None
        self._links: set[_Link] = set()
        self._changed: asyncio.Event | None = None  # set (and replaced) on every mode change

    @property
    def mode(self) -> Mode:
        return self._mode

    @property
    def connections(self) -> int:
        """Connections open through the proxy now."""
        return len(self._links)

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> None:
        """Listen (in a daemon thread with its own loop); returns once the port accepts."""
        if self._thread is not None:
            raise RuntimeError("the proxy is already running")
        loop = asyncio.new_event_loop()
        started = threading.Event()
        errors: list[BaseException] = []

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self._listen())
            except BaseException as exc:
                errors.append(exc)
                started.set()
                return
            started.set()
            loop.run_forever()
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

        self._loop = loop
        self._thread = threading.Thread(target=run, name=f"tcp-proxy-{self.port}", daemon=True)
        self._thread.start()
        started.wait()
        if errors:
            self._thread.join()
            self._thread = None
            self._loop = None
            loop.close()
            raise errors[0]

    def stop(self) -> None:
        """Close the listener and every connection; join the thread."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop already stopped
            self._call(self._shutdown)
            loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        self._loop = None
        self._thread = None

    def __enter__(self) -> TcpProxy:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # -- faults ------------------------------------------------------------------------------------

    def cut(self) -> None:
        """Close every open connection (both sides) now, and new ones on accept, until restore."""
        self._set_mode("cut")

    def stall(self) -> None:
        """Keep connections open but forward nothing (held, in order) until restore."""
        self._set_mode("stall")

    def delay(self, seconds: float) -> None:
        """Forward every chunk ``seconds`` after it was read (order kept per direction)."""
        if seconds < 0:
            raise ValueError("a delay cannot be negative")
        self._set_mode("delay", seconds)

    def restore(self) -> None:
        """Plain forwarding again; held bytes are forwarded now."""
        self._set_mode("forward")

    # -- inside the proxy's loop -------------------------------------------------------------------

    def _set_mode(self, mode: Mode, delay: float = 0.0) -> None:
        if self._loop is None:
            self._mode, self._delay = mode, delay  # not started: applies from the first accept
            return
        self._call(lambda: self._apply(mode, delay))

    async def _apply(self, mode: Mode, delay: float) -> None:
        self._mode, self._delay = mode, delay
        if mode == "cut":
            for link in list(self._links):
                link.abort()
            self._links.clear()
        assert self._changed is not None
        self._changed.set()
        self._changed = asyncio.Event()

    def _call(self, make: Callable[[], Awaitable[T]]) -> T:
        """Run ``make()`` on the proxy's loop and wait for its result (from any thread)."""
        loop = self._loop
        assert loop is not None
        if threading.current_thread() is self._thread:
            raise RuntimeError("TcpProxy methods are called from outside its own loop")

        async def run() -> T:
            return await make()

        return asyncio.run_coroutine_threadsafe(run(), loop).result(timeout=10)

    async def _listen(self) -> None:
        self._changed = asyncio.Event()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", self.port))
            sock.listen(128)
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        self._sock = sock
        self.port = int(sock.getsockname()[1])
        self._acceptor = asyncio.create_task(self._accept_loop(sock))

    async def _shutdown(self) -> None:
        if self._acceptor is not None:
            self._acceptor.cancel()
            await asyncio.gather(self._acceptor, return_exceptions=True)
            self._acceptor = None
        if self._sock is not None:
            self._sock.close()  # connections not accepted yet are refused by the kernel
            self._sock = None
        tasks = [task for link in self._links for task in link.tasks]
        for link in list(self._links):
            link.abort()
        self._links.clear()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _accept_loop(self, listener: socket.socket) -> None:
        # Our own accept loop (not asyncio.start_server): every accepted socket is in hand at
        # once, so a cut or a stop closes it even before its streams exist.
        loop = asyncio.get_running_loop()
        while True:
            try:
                sock, _ = await loop.sock_accept(listener)
            except OSError:  # out of file descriptors, a connection reset before accept
                await asyncio.sleep(0.05)
                continue
            link = _Link(sock)
            if self._mode == "cut":
                link.abort()
                continue
            self._links.add(link)
            task = asyncio.create_task(self._open(link))
            link.tasks.add(task)
            task.add_done_callback(link.tasks.discard)

    async def _open(self, link: _Link) -> None:
        try:
            client_reader, link.client = await asyncio.open_connection(sock=link.sock)
            server_reader, link.server = await asyncio.open_connection(
                self.target_host, self.target_port)
        except OSError:
            self._drop(link)
            return
        if link not in self._links:  # cut while connecting
            link.abort()
            return
        client_writer, server_writer = link.client, link.server
        done = [0]
        for reader, writer in ((client_reader, server_writer), (server_reader, client_writer)):
            queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue(QUEUE_CHUNKS)
            for coro in (self._read(reader, queue, link), self._write(queue, writer, link, done)):
                task = asyncio.create_task(coro)
                link.tasks.add(task)
                task.add_done_callback(link.tasks.discard)

    def _drop(self, link: _Link) -> None:
        link.abort()
        self._links.discard(link)

    async def _read(self, reader: asyncio.StreamReader,
                    queue: asyncio.Queue[tuple[float, bytes]], link: _Link) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                data = await reader.read(CHUNK)
                await queue.put((loop.time(), data))
                if data == _EOF:
                    return
        except OSError:
            self._drop(link)

    async def _write(self, queue: asyncio.Queue[tuple[float, bytes]],
                     writer: asyncio.StreamWriter, link: _Link, done: list[int]) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                read_at, data = await queue.get()
                while True:  # until the mode lets this chunk through
                    changed = self._changed
                    assert changed is not None
                    if self._mode == "stall":
                        await changed.wait()
                        continue
                    wait = read_at + (self._delay if self._mode == "delay" else 0.0) - loop.time()
                    if wait <= 0:
                        break
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(changed.wait(), wait)
                if data == _EOF:
                    if writer.can_write_eof():
                        writer.write_eof()
                    done[0] += 1
                    if done[0] == 2:  # both directions ended
                        writer.close()
                        self._drop(link)
                    return
                writer.write(data)
                await writer.drain()
        except OSError:
            self._drop(link)
