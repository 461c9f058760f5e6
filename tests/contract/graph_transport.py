"""Pointing pywa at the sandbox.

pywa 4.5.0 has no setting for the Graph API host: ``GraphAPI.__init__`` overwrites its httpx
session's ``base_url`` with ``https://graph.facebook.com/v{api_version}``. It does take the httpx
client (``WhatsApp(session=...)``), so the client we hand it carries a transport that sends every
request to the sandbox instead: a hosts-file entry, in code. Paths, query strings, headers and
bodies are pywa's own, untouched; only scheme, host and port change, so the sandbox also builds
its absolute URLs (a media download URL) on its own address.
"""

from __future__ import annotations

import httpx
from pywa_async.client import WhatsApp

from tests.contract.business import APP_SECRET, GRAPH_VERSION, PHONE_NUMBER_ID, TOKEN, WABA_ID


class GraphToSandbox(httpx.AsyncBaseTransport):
    """Sends every request (to Meta's hosts, or to URLs the sandbox handed out) to the sandbox."""

    def __init__(self, sandbox_base_url: str) -> None:
        self._sandbox = httpx.URL(sandbox_base_url)
        self._inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        request.url = request.url.copy_with(scheme=self._sandbox.scheme, host=self._sandbox.host,
                                            port=self._sandbox.port)
        request.headers["Host"] = self._sandbox.netloc.decode("ascii")
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


def graph_session(sandbox_base_url: str) -> httpx.AsyncClient:
    """An httpx client for ``pywa_async.WhatsApp(session=...)`` whose Graph API is the sandbox."""
    return httpx.AsyncClient(transport=GraphToSandbox(sandbox_base_url), timeout=10.0)


def pywa_client(session: httpx.AsyncClient, token: str = TOKEN) -> WhatsApp:
    """pywa's client for the business number, as an integration builds it; on a
    :func:`graph_session`, its Graph API is the sandbox."""
    return WhatsApp(phone_id=PHONE_NUMBER_ID, token=token, waba_id=WABA_ID,
                    app_secret=APP_SECRET, session=session, api_version=GRAPH_VERSION,
                    skip_duplicate_updates=False)
