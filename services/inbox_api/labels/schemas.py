"""The labels' JSON shapes (docs/inbox-api.md, "Labels")."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, Field

from services.inbox_api.labels.rules import colour, label_name
from services.inbox_api.schemas import ApiModel

Name = Annotated[str, Field(max_length=200), AfterValidator(label_name)]
Colour = Annotated[str, Field(max_length=20, examples=["#1f883d"]), AfterValidator(colour)]
LabelId = Annotated[str, Field(min_length=1, max_length=64)]


class LabelIn(ApiModel):
    name: Name
    colour: Colour = "#6e7781"


class LabelPatch(ApiModel):
    name: Name | None = None
    colour: Colour | None = None


class LabelOut(ApiModel):
    id: str
    name: str
    colour: str
    created_at: AwareDatetime | None = None


class LabelList(ApiModel):
    items: list[LabelOut]


class ConversationLabelsIn(ApiModel):
    """The whole set of a conversation's labels (``PUT``)."""

    label_ids: list[LabelId] = Field(max_length=50)


class ConversationLabels(ApiModel):
    """A conversation's labels after the change."""

    conversation_id: str
    labels: list[LabelOut]
    # When they last changed (null: never); the list's copy carries the same time.
    labels_at: AwareDatetime | None = None
