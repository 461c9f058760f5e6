"""inbox_api's errors, one JSON shape: ``{"error": code, "detail": sentence, ...extra}``.

InboxApiError
 +-- BadRequest (400)          malformed request (JSON that does not parse, a bad cursor)
 +-- Unauthorized (401)        no credential, or a wrong, expired or revoked one
 +-- Forbidden (403)           the caller's role may not do this (``required_role``)
 +-- NotFound (404)            absent, or another tenant's (never 403: that would confirm it exists)
 +-- SendRefused (409)         the window policy refuses the send (``reason``, ``hint``), or a
 |                             tenant setting turned the action off
 +-- Merged (409)              the conversation was merged into another (``merged_into``)
 +-- TooLarge (413)            a file over WhatsApp's size limit for its type
 |                             or a body over its route's limit (payload_too_large)
 +-- UnsupportedMedia (415)    a file type WhatsApp does not take, or not multipart/form-data
 +-- InvalidInput (422)        a field is wrong (``field``)
 +-- TooManyRequests (429)     asked again too soon (``retry_after_seconds``, and Retry-After)
 +-- UpstreamRefused (502)     the Cloud API refused a call (Meta's message in ``detail``)
 +-- Unavailable (503)         a dependency is down; retry
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.inbox_api.schemas import ErrorOut
from shared.body_limit import BodyTooLarge

log = logging.getLogger(__name__)


class InboxApiError(Exception):
    """Base of every expected failure; rendered as its status and the one JSON shape."""

    status_code = 500
    code = "internal_error"

    def __init__(self, detail: str, *, code: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"error": self.code, "detail": self.detail, **self.extra}


class BadRequest(InboxApiError):
    status_code = 400
    code = "bad_request"


class Unauthorized(InboxApiError):
    status_code = 401
    code = "unauthorized"


class Forbidden(InboxApiError):
    """The caller's role may not do this (``required_role``); never for another tenant's ids."""

    status_code = 403
    code = "forbidden"


class NotFound(InboxApiError):
    status_code = 404
    code = "not_found"


class SendRefused(InboxApiError):
    status_code = 409
    code = "send_refused"


class Merged(InboxApiError):
    """A command on a conversation merged into another one of the same customer: the body's
    ``merged_into`` names the conversation to act on instead."""

    status_code = 409
    code = "conversation_merged"


class TooLarge(InboxApiError):
    status_code = 413
    code = "too_large"


class UnsupportedMedia(InboxApiError):
    status_code = 415
    code = "unsupported_media_type"


class InvalidInput(InboxApiError):
    status_code = 422
    code = "invalid_input"


class TooManyRequests(InboxApiError):
    status_code = 429
    code = "too_many_requests"


class UpstreamRefused(InboxApiError):
    status_code = 502
    code = "upstream_refused"


class Unavailable(InboxApiError):
    status_code = 503
    code = "unavailable"


def error_response(exc: InboxApiError) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
    if exc.status_code == 429 and "retry_after_seconds" in exc.extra:
        headers = {"Retry-After": str(exc.extra["retry_after_seconds"])}
    return JSONResponse(exc.body(), status_code=exc.status_code, headers=headers)


async def _on_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, InboxApiError)
    if exc.status_code >= 500:
        log.warning("request failed", extra={"error": exc.code, "detail": exc.detail})
    return error_response(exc)


async def _on_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    first = errors[0] if errors else {"loc": (), "msg": "invalid request", "type": ""}
    if first.get("type") == "json_invalid":
        return error_response(BadRequest("The request body is not valid JSON.",
                                         code="malformed_json"))
    loc = [str(p) for p in first.get("loc", ())]
    # "body" / "query" / "header" / "path" says where; the rest names the field.
    field = ".".join(loc[1:]) if len(loc) > 1 else (loc[0] if loc else "")
    message = str(first.get("msg", "invalid value"))
    return error_response(InvalidInput(f"{field or 'request'}: {message}",
                                       code="validation_failed", field=field or None))


async def _on_http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    codes = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized"}
    code = codes.get(exc.status_code, "http_error")
    detail = exc.detail if isinstance(exc.detail, str) else "request failed"
    if exc.status_code == 404:
        detail = "No such resource."
    return JSONResponse({"error": code, "detail": detail}, status_code=exc.status_code,
                        headers=getattr(exc, "headers", None))


async def _on_crash(request: Request, exc: Exception) -> JSONResponse:
    log.error("unexpected error", exc_info=exc)
    return JSONResponse({"error": "internal_error", "detail": "Something went wrong on our side."},
                        status_code=500)


def too_large_body(exc: BodyTooLarge) -> dict[str, Any]:
    """A body over its route's limit (shared/body_limit.py), in the one error shape."""
    return TooLarge(str(exc), code="payload_too_large", limit_bytes=exc.limit).body()


async def _on_body_too_large(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, BodyTooLarge)
    return JSONResponse(too_large_body(exc), status_code=413, headers={"Connection": "close"})


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(InboxApiError, _on_error)
    app.add_exception_handler(BodyTooLarge, _on_body_too_large)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(Exception, _on_crash)


_STATUS_TEXT = {400: "Malformed request", 401: "No or bad credential",
                403: "Your role may not do this (admin_only)",
                404: "Not found (or another tenant's)",
                409: "Refused: the window policy, a setting, or a merged conversation",
                413: "Over WhatsApp's size limit", 415: "A type WhatsApp does not take",
                422: "Validation failed", 429: "Asked again too soon (Retry-After)",
                502: "The Cloud API refused the call", 503: "A dependency is down; retry"}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for the given error statuses, all in the one error shape."""
    return {status: {"model": ErrorOut, "description": _STATUS_TEXT.get(status, "Error")}
            for status in statuses}
