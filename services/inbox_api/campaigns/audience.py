"""A campaign's audience, validated row by row. Pure.

Each row becomes a recipient (canonical number or BSUID, variables filled into Meta's
components) or errors naming the row and the column. An upload with invalid rows is refused as
a whole (422, :func:`invalid_rows`) unless its caller asked to skip them; then the valid rows
still go and the invalid ones are listed. A customer seen
before (in this upload or an earlier one) is a duplicate: the first one wins. Which rows are one
customer is decided by their conversation (the contact directory knows a number and a BSUID of
one person): :func:`dedupe_by_conversation` after the rows were resolved.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from services.inbox_api.templates.variables import (
    TemplateVariablesError,
    fill,
    parameter_keys,
)
from shared.contacts import is_bsuid
from shared.phone import InvalidPhoneNumber, canonical_wa_id

# The customer column: a phone number or a BSUID (a customer who hides their number) per row.
PHONE_COLUMNS = ("phone", "phone_number", "number", "wa_id", "mobile", "customer", "user_id",
                 "bsuid")
_LOOKS_LIKE_BSUID = re.compile(r"^[A-Za-z]{2}\.")
MAX_ROWS = 200_000
# Errors listed in an upload's answer, and kept on the campaign over all its uploads (the
# campaign document stays small: ~150 kB at most; `errors_total` still counts every one).
MAX_ERRORS = 1_000
# Meta's limit for one body parameter, and its refusal of newlines, tabs and 4+ spaces.
MAX_PARAMETER_LENGTH = 1024
_BAD_SPACING = re.compile(r"[\n\t]| {5,}")
_BRACES = re.compile(r"^\{\{\s*([A-Za-z0-9_]+)\s*\}\}$")


class AudienceFileError(ValueError):
    """The upload as a whole cannot be read (not CSV, no phone column, too many rows)."""


@dataclass(frozen=True, slots=True)
class RowError:
    row: int
    column: str | None
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class Recipient:
    """One customer: ``wa_id`` (canonical number) or ``user_id`` (BSUID), exactly one set."""

    row: int
    wa_id: str | None
    variables: dict[str, str]
    components: list[dict[str, Any]]
    rendered_text: str | None
    user_id: str | None = None

    @property
    def customer(self) -> str:
        """The identifier as the row gave it (the number, else the BSUID)."""
        return self.wa_id or self.user_id or ""


@dataclass(slots=True)
class Audience:
    """What one upload gave: recipients to store, and what was wrong."""

    recipients: list[Recipient] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    rejected: int = 0
    duplicates: int = 0
    ignored_columns: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Row:
    """One input row: its number as written and its variables by template key."""

    row: int
    phone: str | None
    variables: dict[str, str]


def validate(rows: Iterable[Row], body_text: str, known_wa_ids: Iterable[str] = ()) -> Audience:
    """Validate every row against the template's body; ``known_wa_ids`` are already stored."""
    seen = set(known_wa_ids)
    out = Audience()
    for row in rows:
        errors = _row_errors(row, body_text)
        wa_id, user_id, error = customer_of(row)
        if error is not None:
            errors.insert(0, error)
        if errors:
            out.rejected += 1
            out.errors.extend(errors)
            continue
        key = wa_id or user_id
        assert key is not None
        if key in seen:
            out.duplicates += 1
            out.errors.append(duplicate_error(row.row, key))
            continue
        seen.add(key)
        filled = fill(body_text, row.variables)
        out.recipients.append(Recipient(
            row.row, wa_id, dict(row.variables),
            [c.model_dump(mode="json", exclude_none=True) for c in filled.components],
            filled.rendered_text, user_id))
    return out


def invalid_rows(audience: Audience) -> list[RowError]:
    """The errors that make an upload refused unless the caller asked to skip invalid rows: every
    row error but a duplicate (a duplicate is a customer already there, not a wrong row)."""
    return [e for e in audience.errors if e.code != DUPLICATE]


def customer_of(row: Row) -> tuple[str | None, str | None, RowError | None]:
    """The row's customer: (canonical number, None), (None, BSUID), or an error naming the row
    and the ``phone`` field. A value shaped ``CC.`` (two letters and a dot) is read as a BSUID
    (``US.13491208655302741918``), anything else as a number."""
    value = (row.phone or "").strip()
    if not value:
        return None, None, RowError(row.row, "phone", "invalid_phone",
                                    "The phone (or WhatsApp user id) is empty.")
    if _LOOKS_LIKE_BSUID.match(value):
        if is_bsuid(value):
            return None, value, None
        return None, None, RowError(row.row, "phone", "invalid_user_id",
                                    f"{value!r} is not a WhatsApp business-scoped user id (a "
                                    "two-letter country code, a dot and up to 128 letters or "
                                    "digits, e.g. US.13491208655302741918).")
    try:
        return canonical_wa_id(value), None, None
    except InvalidPhoneNumber:
        return None, None, RowError(row.row, "phone", "invalid_phone",
                                    f"{value!r} is not a phone number with its country code "
                                    "(8 to 15 digits) nor a WhatsApp user id.")


DUPLICATE = "duplicate"


def duplicate_error(row: int, wa_id: str) -> RowError:
    return RowError(row, "phone", DUPLICATE, f"{wa_id} is already in this campaign; row skipped.")


def dedupe_by_conversation(audience: Audience, conversations: Sequence[str]) -> list[str]:
    """Keep the first recipient per conversation (``conversations[i]`` is recipient i's, from
    the contact directory): a row by number and one by BSUID of one known customer are one
    recipient. Returns the kept recipients' conversations, in order."""
    seen: set[str] = set()
    kept: list[Recipient] = []
    out: list[str] = []
    dropped: list[RowError] = []
    for recipient, conversation in zip(audience.recipients, conversations, strict=True):
        if conversation in seen:
            dropped.append(duplicate_error(recipient.row, recipient.customer))
            continue
        seen.add(conversation)
        kept.append(recipient)
        out.append(conversation)
    if dropped:
        audience.recipients = kept
        audience.duplicates += len(dropped)
        audience.errors = sorted(audience.errors + dropped, key=lambda e: e.row)
    return out


def drop_duplicates(audience: Audience, taken: Iterable[str],
                    keys: Sequence[str] | None = None) -> None:
    """Move the recipients the campaign already has (``taken``: their keys, ``keys[i]`` being
    recipient i's, by default its number or BSUID) to duplicate errors, in row order among the
    others."""
    taken = set(taken)
    if not taken:
        return
    keys = list(keys) if keys is not None else [r.customer for r in audience.recipients]
    dropped = [r for r, k in zip(audience.recipients, keys, strict=True) if k in taken]
    audience.recipients = [r for r, k in zip(audience.recipients, keys, strict=True)
                           if k not in taken]
    audience.duplicates += len(dropped)
    # A stable sort: each row's own errors keep their order.
    audience.errors = sorted(audience.errors + [duplicate_error(r.row, r.customer)
                                                for r in dropped], key=lambda e: e.row)


def errors_to_keep(errors: Sequence[RowError], kept: int, upload: int) -> list[dict[str, Any]]:
    """The errors of one upload a campaign stores, given the ``kept`` ones it has: the first
    ones until the campaign holds :data:`MAX_ERRORS`, each with its upload's number (row
    numbers count within an upload)."""
    room = max(0, MAX_ERRORS - kept)
    return [{"upload": upload, "row": e.row, "column": e.column, "code": e.code,
             "message": e.message} for e in errors[:room]]


def _row_errors(row: Row, body_text: str) -> list[RowError]:
    errors: list[RowError] = []
    for key, value in row.variables.items():
        if len(value) > MAX_PARAMETER_LENGTH:
            errors.append(RowError(row.row, key, "variable_too_long",
                                   f"{{{{{key}}}}} is {len(value)} characters; Meta allows "
                                   f"{MAX_PARAMETER_LENGTH}."))
        elif _BAD_SPACING.search(value):
            errors.append(RowError(row.row, key, "variable_invalid",
                                   f"{{{{{key}}}}} contains a newline, a tab or more than four "
                                   "spaces in a row, which Meta refuses."))
    if errors:
        return errors
    try:
        fill(body_text, row.variables)
    except TemplateVariablesError as exc:
        code = "missing_variable" if exc.variable in parameter_keys(body_text) else \
            "unknown_variable"
        errors.append(RowError(row.row, exc.variable, code, str(exc)))
    return errors


def rows_from_json(items: Sequence[Mapping[str, Any]]) -> list[Row]:
    """API recipients ``{"phone", "variables"}`` (``phone``: a number or a BSUID; ``user_id``
    is accepted in its place), numbered from 1."""
    rows = []
    for number, item in enumerate(items, start=1):
        variables = item.get("variables") or {}
        rows.append(Row(number, item.get("phone") or item.get("user_id"),
                        {str(k): str(v).strip() for k, v in variables.items()
                         if v is not None and str(v).strip()}))
    return rows


def rows_from_csv(text: str, body_text: str) -> tuple[list[Row], list[str]]:
    """The data rows (numbered as a spreadsheet shows them: the header is row 1) and the
    columns the template does not use."""
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise AudienceFileError("The file is empty.")
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(
            text.split("\n", 1)[0], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    header = [h.strip() for h in next(reader)]
    lowered = [h.lower() for h in header]
    phone_at = next((lowered.index(c) for c in PHONE_COLUMNS if c in lowered), None)
    if phone_at is None:
        raise AudienceFileError(f"No phone column: name one of {', '.join(PHONE_COLUMNS)}.")
    keys = parameter_keys(body_text)
    columns = _variable_columns(header, phone_at, keys)
    ignored = [h for i, h in enumerate(header) if i != phone_at and i not in columns]
    rows: list[Row] = []
    for number, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        if len(rows) >= MAX_ROWS:
            raise AudienceFileError(f"More than {MAX_ROWS} rows; split the file.")
        phone = cells[phone_at] if phone_at < len(cells) else None
        variables = {key: cells[i].strip() for i, key in columns.items()
                     if i < len(cells) and cells[i].strip()}
        rows.append(Row(number, phone, variables))
    return rows, ignored


def _variable_columns(header: Sequence[str], phone_at: int, keys: Sequence[str]
                      ) -> dict[int, str]:
    """Column index -> template variable: by name (``first_name``, ``1``, ``{{1}}``), else, for
    a positional template whose header names none, by position after the phone column."""
    by_name: dict[int, str] = {}
    for i, name in enumerate(header):
        if i == phone_at:
            continue
        match = _BRACES.match(name)
        key = match.group(1) if match else name
        if key in keys:
            by_name[i] = key
    if by_name or not keys or not all(k.isdigit() for k in keys):
        return by_name
    others = [i for i in range(len(header)) if i != phone_at]
    return {i: key for i, key in zip(others, keys, strict=False)}
