"""WhatsApp's media rules for an attachment (conversations/attachments.py), table by table."""

from __future__ import annotations

import io

import pytest

from services.inbox_api.conversations.attachments import (
    KB,
    MB,
    Attachment,
    AttachmentRejected,
    check_attachment,
    format_size,
    safe_filename,
)

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 20
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 24
STATIC_WEBP = b"RIFF\x00\x00\x00\x00WEBPVP8 " + b"\x00" * 16
ANIMATED_WEBP = b"RIFF\x00\x00\x00\x00WEBPVP8X\x0a\x00\x00\x00\x12" + b"\x00" * 11
PDF = b"%PDF-1.7\n" + b"\x00" * 23


def attachment(filename: str, declared: str | None, size: int = 1000, head: bytes = b"",
               caption: str | None = None) -> Attachment:
    return Attachment(filename=filename, declared_type=declared, size=size, head=head,
                      content=io.BytesIO(head), caption=caption)


def rejected(att: Attachment) -> AttachmentRejected:
    with pytest.raises(AttachmentRejected) as caught:
        check_attachment(att)
    return caught.value


class TestTypes:
    @pytest.mark.parametrize(("filename", "declared", "head", "media_type", "mime_type"), [
        ("a.jpg", "image/jpeg", JPEG, "image", "image/jpeg"),
        ("a.png", "image/png", PNG, "image", "image/png"),
        ("a.mp4", "video/mp4", b"", "video", "video/mp4"),
        ("a.3gp", "video/3gpp", b"", "video", "video/3gpp"),
        ("a.3gp", "video/3gp", b"", "video", "video/3gpp"),
        ("a.aac", "audio/aac", b"", "audio", "audio/aac"),
        ("a.amr", "audio/amr", b"", "audio", "audio/amr"),
        ("a.mp3", "audio/mpeg", b"", "audio", "audio/mpeg"),
        ("a.m4a", "audio/x-m4a", b"", "audio", "audio/mp4"),
        ("a.ogg", "audio/ogg; codecs=opus", b"", "audio", "audio/ogg"),
        ("a.pdf", "application/pdf", PDF, "document", "application/pdf"),
        ("a.txt", "text/plain", b"hello", "document", "text/plain"),
        ("a.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
         b"PK", "document",
         "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        ("a.xls", "application/vnd.ms-excel", b"", "document", "application/vnd.ms-excel"),
        ("a.webp", "image/webp", STATIC_WEBP, "sticker", "image/webp"),
    ])
    def test_metas_supported_types(self, filename: str, declared: str, head: bytes,
                                   media_type: str, mime_type: str) -> None:
        spec = check_attachment(attachment(filename, declared, head=head))
        assert (spec.media_type, spec.mime_type) == (media_type, mime_type)

    @pytest.mark.parametrize(("filename", "declared", "mime_type"), [
        ("voice.amr", None, "audio/amr"),
        ("voice.amr", "application/octet-stream", "audio/amr"),
        ("Report.PDF", "", "application/pdf"),
    ])
    def test_an_untyped_file_is_typed_by_its_extension(self, filename: str,
                                                       declared: str | None,
                                                       mime_type: str) -> None:
        assert check_attachment(attachment(filename, declared, head=PDF)).mime_type == mime_type

    @pytest.mark.parametrize(("filename", "declared"), [
        ("a.gif", "image/gif"), ("a.mov", "video/quicktime"), ("a.zip", "application/zip"),
        ("noextension", None), ("a.wav", "audio/wav"),
    ])
    def test_other_types_are_unsupported_naming_the_type(self, filename: str,
                                                         declared: str | None) -> None:
        error = rejected(attachment(filename, declared))
        assert (error.problem, error.code) == ("unsupported", "unsupported_media_type")
        assert filename in str(error)
        assert "JPEG or PNG images" in str(error)

    def test_a_jpeg_named_png_is_sent_as_the_jpeg_it_is(self) -> None:
        spec = check_attachment(attachment("photo.png", "image/png", head=JPEG))
        assert spec.mime_type == "image/jpeg"

    @pytest.mark.parametrize(("declared", "head"), [
        ("image/png", PDF), ("image/jpeg", b""), ("image/png", STATIC_WEBP),
        ("image/webp", PNG),
    ])
    def test_an_image_whose_bytes_are_no_such_image_is_refused(self, declared: str,
                                                              head: bytes) -> None:
        error = rejected(attachment("x", declared, head=head))
        assert (error.problem, error.code) == ("unsupported", "media_type_mismatch")


class TestSizes:
    @pytest.mark.parametrize(("filename", "declared", "head", "limit"), [
        ("a.jpg", "image/jpeg", JPEG, 5 * MB),
        ("a.mp4", "video/mp4", b"", 16 * MB),
        ("a.ogg", "audio/ogg", b"", 16 * MB),
        ("a.pdf", "application/pdf", PDF, 100 * MB),
        ("a.webp", "image/webp", STATIC_WEBP, 100 * KB),
        ("a.webp", "image/webp", ANIMATED_WEBP, 500 * KB),
    ])
    def test_up_to_the_limit_passes_and_one_byte_more_is_too_large(
            self, filename: str, declared: str, head: bytes, limit: int) -> None:
        check_attachment(attachment(filename, declared, size=limit, head=head))
        error = rejected(attachment(filename, declared, size=limit + 1, head=head))
        assert (error.problem, error.code) == ("too_large", "media_too_large")
        assert format_size(limit) in str(error)

    def test_the_message_names_the_file_its_size_and_the_limit(self) -> None:
        error = rejected(attachment("big.png", "image/png", size=6 * MB + MB // 5, head=PNG))
        assert str(error) == "big.png is 6.2 MB; WhatsApp takes images up to 5 MB."

    def test_a_static_sticker_says_static(self) -> None:
        error = rejected(attachment("s.webp", "image/webp", size=200 * KB, head=STATIC_WEBP))
        assert "static stickers up to 100 KB" in str(error)

    def test_an_empty_file_is_invalid(self) -> None:
        error = rejected(attachment("a.pdf", "application/pdf", size=0))
        assert (error.problem, error.field) == ("invalid", "file")


class TestCaptionAndName:
    @pytest.mark.parametrize(("filename", "declared", "head"), [
        ("a.jpg", "image/jpeg", JPEG), ("a.mp4", "video/mp4", b""),
        ("a.pdf", "application/pdf", PDF)])
    def test_images_videos_and_documents_carry_a_caption(self, filename: str, declared: str,
                                                         head: bytes) -> None:
        spec = check_attachment(attachment(filename, declared, head=head,
                                           caption="  the invoice  "))
        assert spec.caption == "the invoice"

    @pytest.mark.parametrize(("filename", "declared", "head"), [
        ("a.ogg", "audio/ogg", b""), ("a.webp", "image/webp", STATIC_WEBP)])
    def test_audio_and_stickers_refuse_a_caption(self, filename: str, declared: str,
                                                 head: bytes) -> None:
        error = rejected(attachment(filename, declared, head=head, caption="hi"))
        assert (error.problem, error.field) == ("invalid", "caption")

    def test_a_blank_caption_is_none(self) -> None:
        spec = check_attachment(attachment("a.ogg", "audio/ogg", caption="   "))
        assert spec.caption is None

    def test_a_caption_over_1024_characters_is_invalid(self) -> None:
        check_attachment(attachment("a.jpg", "image/jpeg", head=JPEG, caption="x" * 1024))
        error = rejected(attachment("a.jpg", "image/jpeg", head=JPEG, caption="x" * 1025))
        assert error.field == "caption"

    @pytest.mark.parametrize(("raw", "safe"), [
        ("invoice.pdf", "invoice.pdf"), ("C:\\Users\\ana\\invoice.pdf", "invoice.pdf"),
        ("../../etc/passwd.txt", "passwd.txt"), ("a\x00b\n.pdf", "ab.pdf"), ("", "file"),
        ("x" * 300 + ".pdf", "x" * 236 + ".pdf"),
    ])
    def test_the_file_name_is_a_bounded_base_name(self, raw: str, safe: str) -> None:
        assert safe_filename(raw) == safe
