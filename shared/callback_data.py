"""``biz_opaque_callback_data``: the command id and the sender's reference in one string. Pure.

Meta echoes the field on every status webhook of a message, so a status can name the command
that sent it even when the sender never learnt the message's wamid (a send in doubt).
outbound_sender encodes, webhook_ingest decodes, and so may anyone reading the sandbox's or
Meta's records.

Format: ``wai1:{len(command_id)}:{command_id}`` then, when there is a reference,
``:{reference}``. The length prefix makes the split exact whatever characters either part holds.
At most 5 + 3 + 1 + 200 + 1 + 256 = 466 characters (command ids are at most 200, references at
most 256: :data:`REFERENCE_LIMIT`), under Meta's 512 (:data:`LIMIT`). A value not in this format
(another system sharing the account) decodes as a bare reference.
"""

from __future__ import annotations

from dataclasses import dataclass

PREFIX = "wai1:"
LIMIT = 512  # Meta's limit on biz_opaque_callback_data, in characters
COMMAND_ID_LIMIT = 200  # shared/events/commands.py Command.command_id
# What LIMIT leaves for the reference beside the longest command id (docs/outbound_sender.md).
REFERENCE_LIMIT = 256


@dataclass(frozen=True, slots=True)
class CallbackData:
    """What a ``biz_opaque_callback_data`` value says: the command and the sender's reference."""

    command_id: str | None
    reference: str | None


def encode(command_id: str, reference: str | None) -> str:
    """The value to send. Raises ValueError for parts over their limits (the contracts forbid
    them), rather than ever cutting the command id."""
    if not command_id or len(command_id) > COMMAND_ID_LIMIT:
        raise ValueError(f"a command id must have 1 to {COMMAND_ID_LIMIT} characters")
    if reference is not None and len(reference) > REFERENCE_LIMIT:
        raise ValueError(f"a reference must have at most {REFERENCE_LIMIT} characters")
    value = f"{PREFIX}{len(command_id)}:{command_id}"
    return value if reference is None else f"{value}:{reference}"


def decode(value: str | None) -> CallbackData:
    """The parts of a value; a value :func:`encode` did not make is all reference."""
    if value is None:
        return CallbackData(command_id=None, reference=None)
    foreign = CallbackData(command_id=None, reference=value)
    if not value.startswith(PREFIX):
        return foreign
    length, colon, rest = value[len(PREFIX):].partition(":")
    if not colon or not length.isascii() or not length.isdigit() or length != str(int(length)):
        return foreign
    size = int(length)
    if not 0 < size <= min(COMMAND_ID_LIMIT, len(rest)):
        return foreign
    command_id, tail = rest[:size], rest[size:]
    if not tail:
        return CallbackData(command_id=command_id, reference=None)
    if tail[0] != ":":
        return foreign
    return CallbackData(command_id=command_id, reference=tail[1:])
