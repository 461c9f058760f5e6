"""Meta's Graph objects besides the send endpoint: business numbers (and an account's list of
them), their profiles, templates by id, and media (upload, metadata, download, delete).

``GET /{id}`` finds the object whatever its kind, as Meta's Graph does: a business number, a
media object (uploaded, or a customer's from a webhook), or a message template. An id that is
none of these, an expired or deleted medium, or an object of an account the token does not
belong to is Meta's "Unsupported get request" (100, subcode 33). The token is checked first:
a token of no channel is 190, the same body on every route.

A token belongs to the accounts (WABAs) of the channels that carry it, and sees their objects;
shared templates (``waba_id`` null) are every account's.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from sandbox.catalog import Catalog, TemplateSpec
from sandbox.errors import CloudApiError, bad_token, unsupported_request
from sandbox.media import DOWNLOAD_PATH, MAX_UPLOAD_BYTES, MediaStore, StoredMedia
from sandbox.multipart import NotMultipart, parse_form
from sandbox.profiles import BusinessProfile, phone_number_json, profile_json, updated_profile
from sandbox.template_listing import parse_fields, template_json
from sandbox.template_listing import select as select_template
from shared.channels import Channel

# Multipart overhead allowed on top of the largest file Meta takes.
_FORM_SLACK = 1024 * 1024


def _cursor(value: str) -> str:
    return base64.urlsafe_b64encode(value.encode()).decode().rstrip("=")


def bearer_token(authorization: str | None) -> str:
    if authorization is None or authorization[:7].lower() != "bearer ":
        return ""
    return authorization[7:].strip()


class GraphObjects:
    """The state and rules of the Graph object endpoints; one instance per app."""

    def __init__(self, catalog: Catalog, media: MediaStore,
                 clock: Callable[[], datetime]) -> None:
        self.catalog = catalog
        self.media = media
        self.clock = clock
        self._profiles: dict[str, BusinessProfile] = {}

    # -- who may see what -----------------------------------------------------------------------

    def accounts(self, authorization: str | None) -> frozenset[str]:
        """The WABAs the token belongs to; Meta's 190 for a token of no channel."""
        token = bearer_token(authorization)
        accounts = frozenset(c.waba_id for c in self.catalog.channels()
                             if token and c.access_token.get_secret_value() == token)
        if not accounts:
            raise bad_token()
        return accounts

    def _number(self, phone_number_id: str, accounts: frozenset[str], method: str) -> Channel:
        channel = self.catalog.channel(phone_number_id)
        if channel is None or channel.waba_id not in accounts:
            raise unsupported_request(method, phone_number_id)
        return channel

    # -- GET / DELETE /{id} ---------------------------------------------------------------------

    def get(self, object_id: str, authorization: str | None, *, fields: str | None,
            base_url: str, phone_number_id: str | None = None) -> dict[str, Any]:
        """``GET /{id}``: the number, medium or template with that id."""
        accounts = self.accounts(authorization)
        channel = self.catalog.channel(object_id)
        if channel is not None and channel.waba_id in accounts:
            return phone_number_json(channel, fields)
        medium = self._medium(object_id, accounts, phone_number_id)
        if medium is not None:
            url = f"{base_url.rstrip('/')}{DOWNLOAD_PATH}?"
            return medium.info(url + self.media.download_query(medium.media_id, self.clock()))
        template = self._template(object_id, accounts)
        if template is not None:
            # As the template listing does: unknown field names are left out.
            return select_template(template_json(template),
                                   parse_fields(fields) if fields else None)
        raise unsupported_request("get", object_id)

    def phone_numbers(self, waba_id: str, authorization: str | None,
                      fields: str | None) -> dict[str, Any]:
        """``GET /{waba_id}/phone_numbers``: the account's numbers (one page: an account has a
        handful)."""
        if waba_id not in self.accounts(authorization):
            raise unsupported_request("get", waba_id)
        numbers = sorted((c for c in self.catalog.channels() if c.waba_id == waba_id),
                         key=lambda c: c.phone_number_id)
        data = [phone_number_json(c, fields) for c in numbers]
        out: dict[str, Any] = {"data": data}
        if data:
            out["paging"] = {"cursors": {"before": _cursor(data[0]["id"]),
                                         "after": _cursor(data[-1]["id"])}}
        return out

    def delete(self, object_id: str, authorization: str | None,
               phone_number_id: str | None = None) -> dict[str, Any]:
        """``DELETE /{media_id}``: only media can be deleted this way."""
        accounts = self.accounts(authorization)
        medium = self._medium(object_id, accounts, phone_number_id)
        if medium is None:
            raise unsupported_request("delete", object_id)
        self.media.delete(medium.media_id)
        return {"success": True}

    def _medium(self, media_id: str, accounts: frozenset[str],
                phone_number_id: str | None) -> StoredMedia | None:
        medium = self.media.get(media_id, self.clock())
        if medium is None or medium.waba_id not in accounts:
            return None
        # Meta: with phone_number_id, only media of that number.
        if phone_number_id is not None and medium.phone_number_id != phone_number_id:
            return None
        return medium

    def _template(self, template_id: str, accounts: frozenset[str]) -> TemplateSpec | None:
        for waba_id in accounts:
            for template in self.catalog.account_templates(waba_id):
                if template.template_id == template_id:
                    return template
        return None

    # -- /{phone_number_id}/whatsapp_business_profile --------------------------------------------

    def profile(self, phone_number_id: str, authorization: str | None,
                fields: str | None) -> dict[str, Any]:
        self._number(phone_number_id, self.accounts(authorization), "get")
        return profile_json(self._profiles.get(phone_number_id, BusinessProfile()), fields)

    def update_profile(self, phone_number_id: str, authorization: str | None,
                       body: Mapping[str, Any]) -> dict[str, Any]:
        self._number(phone_number_id, self.accounts(authorization), "post")
        current = self._profiles.get(phone_number_id, BusinessProfile())
        self._profiles[phone_number_id] = updated_profile(current, body)
        return {"success": True}

    # -- media ------------------------------------------------------------------------------------

    def upload(self, phone_number_id: str, authorization: str | None, content_type: str,
               body: bytes) -> dict[str, Any]:
        """``POST /{phone_number_id}/media``: ``{"id": ...}``."""
        channel = self._number(phone_number_id, self.accounts(authorization), "post")
        if len(body) > MAX_UPLOAD_BYTES + _FORM_SLACK:
            raise CloudApiError(131053, f"The upload is over {MAX_UPLOAD_BYTES} bytes.")
        try:
            form = parse_form(content_type, body)
        except NotMultipart as exc:
            raise CloudApiError(100, f"The media upload {exc}.") from None
        product = form.get("messaging_product")
        if product is None:
            raise CloudApiError(100, "The parameter messaging_product is required.")
        if product.text() != "whatsapp":
            raise CloudApiError(100, "Param messaging_product must be one of {WHATSAPP}.")
        file = form.get("file")
        if file is None or file.filename is None:
            raise CloudApiError(100, "The parameter file is required.")
        declared = form.get("type")
        if declared is None or not declared.text().strip():
            raise CloudApiError(100, "The parameter type is required.")
        medium = self.media.upload(channel, file.data, declared.text(), file.filename,
                                   self.clock())
        return {"id": medium.media_id}

    def download(self, mid: str, ext: str, signature: str,
                 authorization: str | None) -> tuple[bytes, str] | None:
        """The bytes of a download URL and their MIME type; None when the URL is no good (Meta
        answers 404: fetch a fresh URL)."""
        accounts = self.accounts(authorization)
        medium = self.media.by_download(mid, ext, signature, self.clock())
        if medium is None or medium.waba_id not in accounts:
            return None
        return medium.content()
