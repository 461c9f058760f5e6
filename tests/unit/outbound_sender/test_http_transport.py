"""The lean httpx transport against a tiny HTTP/1.1 server on loopback (plain and TLS)."""

from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from services.outbound_sender.adapters.http_transport import LeanTransport

LIMITS = httpx.Limits(max_connections=4, max_keepalive_connections=4)
TIMEOUT = {"timeout": httpx.Timeout(2.0).as_dict()}


class Server:
    """Answers every request with its body echoed; can close idle connections or stay silent."""

    def __init__(self) -> None:
        self.connections = 0
        self.silent = False
        self.close_after_answer = False

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                body = await reader.readexactly(length)
                if self.silent:
                    await asyncio.sleep(10)
                answer = b'{"echo": ' + body + b"}"
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                             b"Retry-After: 3\r\nContent-Length: %d\r\n\r\n%s"
                             % (len(answer), answer))
                await writer.drain()
                if self.close_after_answer:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@asynccontextmanager
async def serving(tls: ssl.SSLContext | None = None) -> AsyncIterator[tuple[Server, int]]:
    server = Server()
    listener = await asyncio.start_server(server.handle, "127.0.0.1", 0, ssl=tls)
    port = listener.sockets[0].getsockname()[1]
    try:
        yield server, port
    finally:
        listener.close()


async def post(transport: LeanTransport, url: str, body: bytes = b"1") -> httpx.Response:
    request = httpx.Request("POST", url, content=body, extensions=TIMEOUT)
    return await transport.handle_async_request(request)


class TestPlainHttp:
    async def test_round_trip_on_one_kept_alive_connection(self):
        transport = LeanTransport(LIMITS, ssl.create_default_context())
        async with serving() as (server, port):
            for n in range(3):
                response = await post(transport, f"http://127.0.0.1:{port}/v1/x", str(n).encode())
                assert response.status_code == 200
                assert response.json() == {"echo": n}
                assert response.headers["retry-after"] == "3"
            assert server.connections == 1
        await transport.aclose()

    async def test_a_connection_the_server_closed_is_not_reused(self):
        transport = LeanTransport(LIMITS, ssl.create_default_context())
        async with serving() as (server, port):
            server.close_after_answer = True
            for _ in range(3):
                assert (await post(transport, f"http://127.0.0.1:{port}/")).status_code == 200
                await asyncio.sleep(0.05)  # the server's close reaches us while idle
            assert server.connections == 3
        await transport.aclose()

    async def test_refused_connection_is_httpx_connect_error(self):
        async with serving() as (_, port):
            pass  # closed again: nothing listens on the port now
        transport = LeanTransport(LIMITS, ssl.create_default_context())
        with pytest.raises(httpx.ConnectError):
            await post(transport, f"http://127.0.0.1:{port}/")

    async def test_silent_server_is_httpx_read_timeout(self):
        transport = LeanTransport(LIMITS, ssl.create_default_context())
        async with serving() as (server, port):
            server.silent = True
            request = httpx.Request("POST", f"http://127.0.0.1:{port}/", content=b"1",
                                    extensions={"timeout": httpx.Timeout(0.2).as_dict()})
            with pytest.raises(httpx.ReadTimeout):
                await transport.handle_async_request(request)
        await transport.aclose()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost"],
                   check=True, capture_output=True)
    return cert, key


class TestTls:
    async def test_https_with_a_verified_certificate(self, certificate):
        cert, key = certificate
        server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server_tls.load_cert_chain(cert, key)
        transport = LeanTransport(LIMITS, ssl.create_default_context(cafile=str(cert)))
        async with serving(server_tls) as (server, port):
            response = await post(transport, f"https://localhost:{port}/v25.0/1/messages", b"7")
            assert response.json() == {"echo": 7}
            await post(transport, f"https://localhost:{port}/v25.0/1/messages")
            assert server.connections == 1
        await transport.aclose()

    async def test_untrusted_certificate_is_refused(self, certificate):
        cert, key = certificate
        server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server_tls.load_cert_chain(cert, key)
        transport = LeanTransport(LIMITS, ssl.create_default_context())  # system CAs only
        async with serving(server_tls) as (_, port):
            with pytest.raises(httpx.ConnectError):
                await post(transport, f"https://localhost:{port}/")
        await transport.aclose()
