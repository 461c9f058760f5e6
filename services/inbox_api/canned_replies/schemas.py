"""The canned replies' JSON shapes (docs/inbox-api.md, "Canned replies")."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, Field

from services.inbox_api.canned_replies.rendering import VARIABLES, unknown_variables
from services.inbox_api.canned_replies.rules import shortcut
from services.inbox_api.schemas import ApiModel


def _known_variables(text: str) -> str:
    unknown = unknown_variables(text)
    if unknown:
        raise ValueError(f"unknown variable {{{{{unknown[0]}}}}}; use "
                         + ", ".join(f"{{{{{v}}}}}" for v in VARIABLES))
    if not text.strip():
        raise ValueError("a canned reply needs text")
    return text


Shortcut = Annotated[str, Field(max_length=64, examples=["hello"]), AfterValidator(shortcut)]
Title = Annotated[str, Field(min_length=1, max_length=100)]
Text = Annotated[str, Field(max_length=4096), AfterValidator(_known_variables)]


class CannedReplyIn(ApiModel):
    shortcut: Shortcut
    title: Title
    text: Text


class CannedReplyPatch(ApiModel):
    shortcut: Shortcut | None = None
    title: Title | None = None
    text: Text | None = None


class CannedReplyOut(ApiModel):
    id: str
    shortcut: str
    title: str
    text: str
    updated_at: AwareDatetime | None = None


class CannedReplyList(ApiModel):
    items: list[CannedReplyOut]


class RenderedReply(ApiModel):
    """The text to put in the composer (editable, not sent); ``missing`` names the variables
    the contact had no value for (left empty)."""

    id: str
    text: str
    missing: list[str]
