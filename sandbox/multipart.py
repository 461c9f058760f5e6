"""``multipart/form-data`` request bodies, read with the standard library's MIME parser. Pure.

Meta's media upload is a multipart form. FastAPI's own form parsing needs python-multipart, a
dependency for one endpoint of a test fake; the stdlib's ``email`` parser reads the same format
byte for byte (a form part is a MIME part with a ``Content-Disposition: form-data`` header).
"""

from __future__ import annotations

from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import HTTP


class NotMultipart(ValueError):
    """The body is not a ``multipart/form-data`` form."""


@dataclass(frozen=True, slots=True)
class FormPart:
    """One field of a form: its bytes, and for a file its name and declared type."""

    name: str
    data: bytes
    filename: str | None = None
    content_type: str | None = None  # declared for file parts only

    def text(self) -> str:
        return self.data.decode("utf-8", errors="replace")


def parse_form(content_type: str, body: bytes) -> dict[str, FormPart]:
    """The form's fields by name (the first of repeated names wins)."""
    if not content_type.lower().startswith("multipart/form-data"):
        raise NotMultipart("the body must be multipart/form-data")
    header = b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n"
    message = BytesParser(policy=HTTP).parsebytes(header + body)
    if not message.is_multipart():
        raise NotMultipart("the multipart body has no parts")
    fields: dict[str, FormPart] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str) or name in fields:
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        filename = part.get_filename()
        declared = part.get("content-type") is not None
        fields[name] = FormPart(name, data, filename,
                                part.get_content_type() if filename or declared else None)
    return fields
