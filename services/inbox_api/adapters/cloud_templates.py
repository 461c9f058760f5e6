"""The Cloud API's template management endpoints, with a channel's token (httpx).

``GET {base}/{waba_id}/message_templates`` (followed page by page through ``after`` cursors),
``POST`` there to create, ``POST {base}/{template_id}`` to edit, ``DELETE`` to delete.
Meta's refusals (its error envelope, 4xx) become :class:`CloudApiRefused` with Meta's code;
5xx answers and transport errors become :class:`CloudApiDown` (both declared with the
templates' port, templates/ports.py).
"""

from __future__ import annotations

from typing import Any

import httpx

from services.inbox_api.templates.ports import CloudApiDown, CloudApiRefused
from shared.channels import Channel

PAGE_SIZE = 100
# A runaway cursor loop (a Cloud API bug) must end: 250 templates per WABA, 6,000 if verified.
MAX_PAGES = 200


class CloudApiTemplates:
    """Template management calls through one shared httpx client."""

    def __init__(self, http: httpx.AsyncClient, base_url: str) -> None:
        self._http = http
        self._base = base_url.rstrip("/")

    async def list_templates(self, channel: Channel) -> list[dict[str, Any]]:
        """Every template of the channel's account, all pages."""
        items: list[dict[str, Any]] = []
        after: str | None = None
        for _ in range(MAX_PAGES):
            params: dict[str, Any] = {"limit": PAGE_SIZE}
            if after is not None:
                params["after"] = after
            page = await self._call("GET", f"/{channel.waba_id}/message_templates", channel,
                                    params=params)
            data = page.get("data")
            if isinstance(data, list):
                items.extend(d for d in data if isinstance(d, dict))
            paging = _object(page.get("paging"))
            cursors = _object(paging.get("cursors"))
            # Meta sends ``next`` only while more pages follow; the cursor is what we reuse.
            if not data or "next" not in paging or not cursors.get("after"):
                return items
            after = str(cursors["after"])
        raise CloudApiDown("The template listing did not end after "
                           f"{MAX_PAGES} pages.")

    async def create(self, channel: Channel, body: dict[str, Any]) -> dict[str, Any]:
        return await self._call("POST", f"/{channel.waba_id}/message_templates", channel,
                                json=body)

    async def edit(self, channel: Channel, template_id: str,
                   body: dict[str, Any]) -> dict[str, Any]:
        return await self._call("POST", f"/{template_id}", channel, json=body)

    async def delete(self, channel: Channel, name: str, template_id: str | None) -> None:
        params = {"name": name}
        if template_id:
            params["hsm_id"] = template_id
        await self._call("DELETE", f"/{channel.waba_id}/message_templates", channel,
                         params=params)

    async def _call(self, method: str, path: str, channel: Channel,
                    **kwargs: Any) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {channel.access_token.get_secret_value()}"}
        try:
            response = await self._http.request(method, self._base + path, headers=headers,
                                                **kwargs)
        except httpx.HTTPError as exc:
            raise CloudApiDown(f"The Cloud API could not be reached: "
                               f"{type(exc).__name__}.") from exc
        try:
            body: Any = response.json()
        except ValueError:
            body = None
        if response.status_code >= 500:
            raise CloudApiDown(f"The Cloud API answered {response.status_code}.")
        if response.status_code >= 400:
            error = _object(_object(body).get("error"))
            data = _object(error.get("error_data"))
            message = str(data.get("details") or error.get("error_user_msg")
                          or error.get("message") or f"HTTP {response.status_code}")
            code = error.get("code")
            raise CloudApiRefused(code if isinstance(code, int) else None, message,
                                  response.status_code)
        return body if isinstance(body, dict) else {}


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
