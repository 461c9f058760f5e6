"""The template API's JSON shapes (docs/templates.md): drafts in, templates and previews out."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

Examples = dict[Annotated[str, Field(min_length=1, max_length=80)],
                Annotated[str, Field(max_length=2000)]]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TextHeaderIn(_In):
    format: Literal["TEXT"]
    text: str = Field(max_length=2000)
    examples: Examples = Field(default_factory=dict)


class MediaHeaderIn(_In):
    format: Literal["IMAGE", "VIDEO", "DOCUMENT"]
    example: str | None = Field(default=None, max_length=2000)


HeaderIn = Annotated[TextHeaderIn | MediaHeaderIn, Field(discriminator="format")]


class BodyIn(_In):
    text: str = Field(max_length=10_000)
    examples: Examples = Field(default_factory=dict)


class FooterIn(_In):
    text: str = Field(max_length=2000)


class QuickReplyIn(_In):
    type: Literal["QUICK_REPLY"]
    text: str = Field(max_length=200)


class UrlButtonIn(_In):
    type: Literal["URL"]
    text: str = Field(max_length=200)
    url: str = Field(max_length=4000)
    example: str | None = Field(default=None, max_length=2000)


class PhoneButtonIn(_In):
    type: Literal["PHONE_NUMBER"]
    text: str = Field(max_length=200)
    phone_number: str = Field(max_length=200)


ButtonIn = Annotated[QuickReplyIn | UrlButtonIn | PhoneButtonIn, Field(discriminator="type")]


class ContentIn(_In):
    """The parts of a template an edit replaces (all of them: Meta's rule)."""

    category: str | None = Field(default=None, max_length=40)
    header: HeaderIn | None = None
    body: BodyIn
    footer: FooterIn | None = None
    buttons: list[ButtonIn] = Field(default_factory=list, max_length=50)


class TemplateCreateIn(ContentIn):
    waba_id: str | None = Field(default=None, max_length=64)
    name: str = Field(max_length=1000)
    language: str = Field(max_length=40)
    category: str | None = Field(default=None, max_length=40)


class PreviewDraftIn(ContentIn):
    """A draft to preview: anything of the create body, plus the values to show."""

    waba_id: str | None = Field(default=None, max_length=64)
    name: str | None = Field(default=None, max_length=1000)
    language: str | None = Field(default=None, max_length=40)
    values: Examples | None = None


class PreviewValuesIn(_In):
    values: Examples | None = None


# --- answers -------------------------------------------------------------------------------


class ParameterOut(BaseModel):
    key: str
    component: Literal["header", "body", "button"]
    example: str | None
    max_length: int


class StatusDetails(BaseModel):
    """What Meta said with the current status (a rejection's or a pause's details), verbatim."""

    event: str  # Meta's event that brought them (REJECTED, PAUSED, DISABLED, ...)
    reason: str | None = None  # rejection_info.reason (or the event's reason)
    recommendation: str | None = None  # rejection_info.recommendation
    title: str | None = None  # other_info.title (FIRST_PAUSE, SECOND_PAUSE, ...)
    description: str | None = None  # other_info.description
    disable_date: str | None = None  # disable_info.disable_date
    other: dict[str, Any] = {}  # any other field Meta sent with it


class TemplateDetail(BaseModel):
    id: str
    waba_id: str
    template_id: str | None
    name: str
    language: str
    category: str | None
    status: str
    reason: str | None
    quality: str | None
    status_at: AwareDatetime | None
    parameter_format: Literal["positional", "named"]
    body_text: str
    parameters: list[ParameterOut]
    components: list[dict[str, Any]]
    editable: bool
    # Meta's details of the current status (REJECTED, PAUSED, ...), when it sent any.
    status_details: StatusDetails | None = None
    # The content is known (synced from Meta's listing, created here, or Meta's components
    # webhook); a template known only from a status webhook is not offered for sending.
    synced: bool = True


class TemplateDetailList(BaseModel):
    items: list[TemplateDetail]


class Span(BaseModel):
    text: str
    bold: bool = False
    italic: bool = False
    strike: bool = False
    mono: bool = False


class TextPart(BaseModel):
    text: str
    spans: list[Span]


class HeaderPreview(BaseModel):
    format: str
    text: str | None = None
    spans: list[Span] | None = None
    media: str | None = None


class FooterPreview(BaseModel):
    text: str


class ButtonPreview(BaseModel):
    type: str
    text: str
    url: str | None = None
    phone_number: str | None = None


class Preview(BaseModel):
    header: HeaderPreview | None
    body: TextPart
    footer: FooterPreview | None
    buttons: list[ButtonPreview]
    missing: list[str]


class AccountSync(BaseModel):
    waba_id: str
    templates: int
    error: str | None


class SyncResult(BaseModel):
    synced: int
    accounts: list[AccountSync]
